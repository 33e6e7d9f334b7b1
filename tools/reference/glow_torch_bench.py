#!/usr/bin/python3
"""Float32 training-step benchmark of the PyTorch reference model (glow_reference.py), the
PyTorch side of tools/bench-vs-pytorch. One process benchmarks one configuration and prints one
JSON object on its last line of stdout; its peak RSS is measured by the parent.

The model is glow_reference.forward itself (same architecture, layout and formulas as the golden
fixture's), run in float32 with the engine's training settings:
  - initial parameters as src/model/model_layout.c: actnorm from the first batch (data-dependent
    init in the first step), invertible 1x1 convs from the LU of a random orthogonal matrix,
    coupling conv1/conv2 weights normal(0, 0.05) and zero biases, every zero-initialised conv
    (coupling output, split and top priors) zero;
  - input: the pixels of `glow-vk bench` (pixel[i] = (i * 2654435761 mod 2^32) >> 24, NHWC),
    dequantised with fresh uniform noise every step: x = floor(p / 2^(8-n_bits)) / 2^n_bits - 0.5
    + u / 2^n_bits;
  - loss: batch-mean bits/dim; Adam (lr 1e-4, betas (0.9, 0.999), eps 1e-8) over the trainable
    entries, no gradient clipping (the bench's settings).
A timed step is: noise + dequantise, zero_grad, forward, loss, backward, Adam step; the result is
the median of --steps timed steps after --warmup untimed ones (the first, actnorm-initialising
step is always untimed when warmup >= 1, as in glow-vk bench).

FLOPs (--count-flops): one more step under a TorchDispatchMode that sees every aten op that
actually runs, forward and backward (autograd included):
  aten.convolution               2 * N*Ho*Wo * Co * kh*kw * Ci
  aten.convolution_backward      the same once per gradient computed (output_mask: input, weight)
  aten.mm / bmm / addmm          2 * m * k * n
Matrix products of C x C matrices (m = k = n: the LU weight W = P L U, its gradients) are reported
apart as "weights", since glow-vk's FLOP model (glow/model_flops.h) leaves them out; the rest are
the activation convolutions and 1x1 convs that it counts. A configuration where a level's N*H*W
equals its channel count C would make that split ambiguous and is refused.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import glow_reference as ref  # noqa: E402  (the model: forward, bpd_of, make_params, levels_shapes)

LR = 1e-4
CONV_INIT_STD = 0.05


def rss_mib():
    """Peak RSS of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def initial_params(cfg, gen):
    """The engine's initialisation (see the module docstring) for every entry of the parameter
    table, in float32; returns {name: tensor} and the list of trainable tensors."""
    entries = ref.make_params(cfg, gen)  # names, shapes, trainable flags in the engine's order
    params, trainable = {}, []
    for name, t, tr in entries:
        params[name] = torch.zeros(t.shape, dtype=torch.float32)
    for l, (_, _, c) in enumerate(ref.levels_shapes(cfg)):
        for k in range(cfg["steps"]):
            pre = "l%d.s%d" % (l, k)
            q, _ = torch.linalg.qr(torch.randn(c, c, generator=gen, dtype=torch.float64))
            perm, lo, up = torch.linalg.lu(q)
            diag = torch.diagonal(up)
            inv = pre + ".invconv"
            params[inv + ".lower"] = torch.tril(lo, -1).float()
            params[inv + ".upper"] = torch.triu(up, 1).float()
            params[inv + ".log_s"] = torch.log(diag.abs()).float()
            params[inv + ".sign"] = torch.sign(diag).float()
            params[inv + ".perm"] = perm.float()
            for conv in (".coupling.conv1.w", ".coupling.conv2.w"):
                shape = params[pre + conv].shape
                params[pre + conv] = torch.randn(shape, generator=gen, dtype=torch.float32) * CONV_INIT_STD
    for name, _, tr in entries:
        params[name] = params[name].contiguous().requires_grad_(tr)
        if tr:
            trainable.append(params[name])
    return params, trainable


def bench_pixels(cfg, batch):
    """glow-vk bench's pixels (src/app/bench_model.c random_pixels), batch x H x W x C."""
    count = batch * cfg["in_h"] * cfg["in_w"] * cfg["in_c"]
    i = torch.arange(count, dtype=torch.int64)
    p = ((i * 2654435761) % (1 << 32)) >> 24
    return p.reshape(batch, cfg["in_h"], cfg["in_w"], cfg["in_c"])


class FlopCounter(TorchDispatchMode):
    """Sums the FLOPs of the GEMM-shaped aten ops that run, by phase and by kind."""

    def __init__(self, ambiguous_rows):
        super().__init__()
        self.phase = "forward"
        self.flops = {}
        self.ambiguous_rows = ambiguous_rows  # N*H*W values equal to a channel count

    def add(self, kind, value):
        key = (self.phase, kind)
        self.flops[key] = self.flops.get(key, 0) + value

    def mm(self, m, k, n):
        if m == k == n:
            if m in self.ambiguous_rows:
                raise SystemExit("glow_torch_bench: N*H*W = C = %d at some level: cannot tell a 1x1 conv "
                                 "from an LU weight product; use another batch" % m)
            self.add("weights", 2 * m * k * n)
        else:
            self.add("activations", 2 * m * k * n)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.__name__  # e.g. "convolution.default"
        if name.startswith("convolution_backward."):
            grad_out, weight, mask = args[0], args[2], args[10]
            n, co, ho, wo = grad_out.shape
            _, ci, kh, kw = weight.shape
            self.add("activations", 2 * n * ho * wo * co * ci * kh * kw * (int(mask[0]) + int(mask[1])))
        elif name.startswith("convolution."):
            x, weight, groups = args[0], args[1], args[8]
            out_ch, ci, kh, kw = weight.shape
            assert groups == 1 and not args[6], "grouped or transposed convolution"
            n, _, h, w = x.shape
            stride, padding, dilation = args[3], args[4], args[5]
            ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
            wo = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
            self.add("activations", 2 * n * ho * wo * out_ch * ci * kh * kw)
        elif name.startswith("mm."):
            self.mm(args[0].shape[0], args[0].shape[1], args[1].shape[1])
        elif name.startswith("addmm."):
            self.mm(args[1].shape[0], args[1].shape[1], args[2].shape[1])
        elif name.startswith("bmm."):
            for _ in range(args[0].shape[0]):
                self.mm(args[0].shape[1], args[0].shape[2], args[1].shape[2])
        return func(*args, **kwargs)


class Trainer:
    def __init__(self, cfg, batch, seed):
        self.cfg, self.batch = cfg, batch
        gen = torch.Generator().manual_seed(seed)
        self.noise_gen = torch.Generator().manual_seed(seed + 1)
        self.params, trainable = initial_params(cfg, gen)
        self.opt = torch.optim.Adam(trainable, lr=LR, betas=(0.9, 0.999), eps=1e-8)
        bins = float(1 << cfg["n_bits"])
        self.bins = bins
        self.levels = (bench_pixels(cfg, batch) >> (8 - cfg["n_bits"])).float() / bins - 0.5
        self.steps_done = 0

    def step(self, counter=None):
        x = self.levels + torch.rand(self.levels.shape, generator=self.noise_gen) / self.bins
        self.opt.zero_grad(set_to_none=True)
        if counter:
            counter.phase = "forward"
        logpx, _ = ref.forward(self.cfg, self.params, x, init_actnorm=self.steps_done == 0)
        loss = ref.bpd_of(self.cfg, logpx).mean()
        if counter:
            counter.phase = "backward"
        loss.backward()
        if counter:
            counter.phase = "optimizer"
        self.opt.step()
        self.steps_done += 1
        return loss.item()


def parse_config(text):
    """L,K,F,C,H,W (the order of glow-vk bench --config) -> the reference's configuration dict."""
    l, k, f, c, h, w = (int(v) for v in text.split(","))
    return dict(in_c=c, in_h=h, in_w=w, levels=l, steps=k, hidden=f, n_bits=5)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="L,K,F,C,H,W as glow-vk bench --config")
    ap.add_argument("--n-bits", type=int, default=5)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--threads", type=int, required=True, help="torch.set_num_threads")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5, help="timed steps (the median is reported)")
    ap.add_argument("--count-flops", action="store_true", help="one more step counting its FLOPs")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    cfg = parse_config(args.config)
    cfg["n_bits"] = args.n_bits
    rss_import = rss_mib()
    trainer = Trainer(cfg, args.batch, args.seed)
    times, bpd = [], float("nan")
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        bpd = trainer.step()
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    if not math.isfinite(bpd):
        raise SystemExit("glow_torch_bench: the loss is not finite (%g)" % bpd)
    rss_train = rss_mib()
    step_s = statistics.median(times)
    out = dict(torch_version=torch.__version__, threads=torch.get_num_threads(), config=cfg, batch=args.batch,
               warmup=args.warmup, steps=args.steps, step_s=step_s, step_times_s=times,
               images_per_s=args.batch / step_s, bpd=bpd, rss_after_import_mib=rss_import,
               peak_rss_mib=rss_train,
               mkldnn=torch.backends.mkldnn.is_available())
    if args.count_flops:
        rows = {args.batch * h * w for h, w, c in ref.levels_shapes(cfg) if args.batch * h * w == c}
        counter = FlopCounter(rows)
        with counter:
            trainer.step(counter)
        get = counter.flops.get
        out["flops"] = dict(forward=get(("forward", "activations"), 0), backward=get(("backward", "activations"), 0),
                            weights=sum(v for (phase, kind), v in counter.flops.items() if kind == "weights"),
                            optimizer=get(("optimizer", "activations"), 0))
        out["flops"]["step"] = out["flops"]["forward"] + out["flops"]["backward"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
