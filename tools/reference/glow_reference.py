#!/usr/bin/python3
"""Independent PyTorch (autograd, float64) implementation of the glow-vk model,
used to write the golden fixtures tests/data/glow_golden.bin (zero padding) and
tests/data/glow_golden_edge.bin (--pad edge).

It does not import or call any of the project's C code: the model is written
here from its description (include/glow/model.h, include/glow/backend.h):

  x (N,H,W,C) in [-0.5, 0.5] -> squeeze; for level l in 0..L-1:
    K x [ actnorm  y = (x + bias) * exp(logs),               ld += H*W*sum(logs)
          1x1 conv y_p = W x_p, W = P (tril(lower,-1) + I) (triu(upper,1) + diag(sign*exp(log_s))),
                                                             ld += H*W*sum(log_s)
          coupling h = zc(relu(conv1x1(relu(conv3x3(x_a)))), shift = h[:Cb], s = sigmoid(h[Cb:] + 2),
                   y = (x_a, (x_b + shift) * s),             ld += sum(log s) ]
    l < L-1: kept, z = halves of the channels; (mean, logsd) = zc(kept); logp += log N(z);
             x = squeeze(kept)
  top: (mean, logsd) = zc(zeros); logp += log N(x)
  zc(v) = (conv3x3(v) + b) * exp(3 * logs);  bpd = (-(logp + ld) + D n_bits ln 2) / (D ln 2).
Tensors are NHWC; conv weights are stored (Co, kh, kw, Ci) as in the engine.

Padding of the 3x3 convs (cfg["pad"]): "zero", or "edge" as openai/glow's conv2d with
edge_bias=True: the input is padded by one pixel with zeros and given one more channel
that is 1 in the padded border and 0 inside, then convolved VALID with the weights
(w, <conv>.edge) concatenated along the input channels (<conv>.edge: (Co, 3, 3, 1)).

Class-conditional model (--conditional; openai/glow's ycond, written here as openai's
model.py does it): with y_onehot (N, K) the labels,
  top: h = zc(zeros) + reshape(linear_zeros(y_onehot), (N, 1, 1, 2C))
  classifier: logits = linear_zeros(mean over H, W of the top latent);
              bits_y = cross_entropy(logits, y) / ln 2;  loss = mean(bpd + class_weight * bits_y)
  linear_zeros(v) = (v W^T + b) * exp(3 * logs), W stored (Co, 1, 1, Ci) as a 1x1 conv
  (params top_prior.class.{w,b,logs} and classifier.{w,b,logs}, after every other entry).

Regenerate the fixture (needs Debian's torch, i.e. /usr/bin/python3, not the
pyenv python3 first on PATH), from the repository root:

    /usr/bin/python3 tools/reference/glow_reference.py tests/data/glow_golden.bin
    /usr/bin/python3 tools/reference/glow_reference.py --pad edge tests/data/glow_golden_edge.bin
    /usr/bin/python3 tools/reference/glow_reference.py --conditional tests/data/glow_golden_cond.bin

File format (little-endian), described in tests/data/README.md:
    char magic[8] = "GLOWGOLD"; u32 version = 1 (2: conditional);
    u32 in_c, in_h, in_w, levels, steps, hidden, n_bits, batch, adam_steps;
    f32 lr; (version 2: u32 n_classes; f32 class_weight;) u32 tensor_count;
    tensor_count x { u32 name_len; char name[name_len]; u64 count; f32 data[count]; }
The padding is not in the header: an edge fixture holds the param/<conv>.edge entries.
Tensor names: "x" (batch*D input), "param/<name>" for every table entry,
"z/<l>" (batch x level-l latent, NHWC), "logp" (batch: log p(x)), "bpd" (batch),
"mean_bpd" (1), "grad/<name>" for every trainable entry, "adam_bpd"
(adam_steps: batch-mean bpd after each Adam step, lr, betas (0.9, 0.999), eps 1e-8, same input).
Version 2 adds "labels" (batch, as floats), "bits_y" (batch) and "mean_bits_y" (1); "mean_bpd" stays
the mean bpd (bits_x), "grad/<name>" and the Adam steps are of the whole loss, "adam_bpd" the mean bpd.
"""
import math
import struct
import sys

import torch
import torch.nn.functional as F

CFG = dict(in_c=3, in_h=8, in_w=8, levels=2, steps=2, hidden=8, n_bits=5, batch=2, adam_steps=5, pad="zero")
# the conditional fixture: 4 classes, a classifier weighted 0.5 (openai's default is 0.01; a larger weight
# makes the classifier's share of the gradients large enough to be checked), 3 samples, two of class 1
COND_CFG = dict(CFG, batch=3, n_classes=4, class_weight=0.5)
COND_LABELS = [1, 3, 1]
LR = 1e-3
SEED = 1234
EDGE_SEED = 4321  # the edge weights' own stream: every other value equals the zero-padding fixture's


def squeeze(x):
    """(N,H,W,C) -> (N,H/2,W/2,4C), out[n][i][j][c*4 + dy*2 + dx] = x[n][2i+dy][2j+dx][c]."""
    n, h, w, c = x.shape
    x = x.reshape(n, h // 2, 2, w // 2, 2, c)          # n, i, dy, j, dx, c
    return x.permute(0, 1, 3, 5, 2, 4).reshape(n, h // 2, w // 2, 4 * c)


def conv(x, w, b, pad):
    """NHWC conv, weight (Co,kh,kw,Ci), stride 1, zero padding."""
    y = F.conv2d(x.permute(0, 3, 1, 2), w.permute(0, 3, 1, 2), b, padding=pad)
    return y.permute(0, 2, 3, 1)


def conv3x3(cfg, x, p, name):
    """The model's padded 3x3 conv <name>.w, <name>.b with cfg["pad"] padding.
    edge (openai/glow's edge_bias): zero-pad x (N,H,W,C) to (N,H+2,W+2,C), append the
    indicator channel (1 in the padded border, 0 inside), VALID conv with (w, w_edge)."""
    if cfg.get("pad", "zero") == "zero":
        return conv(x, p[name + ".w"], p[name + ".b"], 1)
    n, h, w, _ = x.shape
    xp = F.pad(x, (0, 0, 1, 1, 1, 1))  # NHWC: C untouched, W and H padded by one with zeros
    inside = F.pad(torch.zeros(n, h, w, 1, dtype=x.dtype), (0, 0, 1, 1, 1, 1), value=1.0)
    co = p[name + ".w"].shape[0]
    weight = torch.cat([p[name + ".w"], p[name + ".edge"].reshape(co, 3, 3, 1)], dim=3)  # (Co, 3, 3, C + 1)
    return conv(torch.cat([xp, inside], dim=3), weight, p[name + ".b"], 0)


def zeroconv(cfg, x, p, name):
    y = conv3x3(cfg, x, p, name)
    return y * torch.exp(3.0 * p[name + ".logs"])


def gaussian_logp(z, h):
    c = z.shape[-1]
    mean, logsd = h[..., :c], h[..., c:]
    v = -0.5 * math.log(2 * math.pi) - logsd - 0.5 * (z - mean) ** 2 * torch.exp(-2.0 * logsd)
    return v.flatten(1).sum(1)


def lu_weight(p, pre):
    lower, upper = p[pre + ".lower"], p[pre + ".upper"]
    c = lower.shape[0]
    eye = torch.eye(c, dtype=lower.dtype)
    lo = torch.tril(lower, -1) + eye
    up = torch.triu(upper, 1) + torch.diag(p[pre + ".sign"] * torch.exp(p[pre + ".log_s"]))
    return p[pre + ".perm"] @ lo @ up


def levels_shapes(cfg):
    h, w, c = cfg["in_h"] // 2, cfg["in_w"] // 2, 4 * cfg["in_c"]
    out = []
    for _ in range(cfg["levels"]):
        out.append((h, w, c))
        h, w, c = h // 2, w // 2, 2 * c
    return out


def actnorm_init(h, bias, logs):
    """Data-dependent actnorm init (the engine's actnorm_init): per channel of h (N,H,W,C),
    bias = -mean, logs = -log(std + 1e-6), std the population standard deviation."""
    with torch.no_grad():
        mean = h.mean(dim=(0, 1, 2))
        std = ((h - mean) ** 2).mean(dim=(0, 1, 2)).sqrt()
        bias.copy_(-mean)
        logs.copy_(-torch.log(std + 1e-6))


def linear_zeros(v, p, name):
    """openai's linear_zeros: (v W^T + b) * exp(3 logs), W stored (Co, 1, 1, Ci)."""
    w = p[name + ".w"]
    return (v @ w.reshape(w.shape[0], -1).t() + p[name + ".b"]) * torch.exp(3.0 * p[name + ".logs"])


def class_bits(cfg, p, z_top, y):
    """Per-sample bits_y of the classifier on the top latent (N,H,W,C), labels y (N,)."""
    logits = linear_zeros(z_top.mean(dim=(1, 2)), p, "classifier")
    return F.cross_entropy(logits, y, reduction="none") / math.log(2.0)


def forward(cfg, p, x, init_actnorm=False, y=None):
    """Returns per-sample logp (log p(z) + log-det), and the list of per-level latents.
    init_actnorm: first set every actnorm's parameters from its input (a model's first step).
    y: labels (N,) of a conditional model (cfg["n_classes"] > 0)."""
    n = x.shape[0]
    levels = levels_shapes(cfg)
    logp = torch.zeros(n, dtype=x.dtype)
    ld = torch.zeros(n, dtype=x.dtype)
    zs = []
    h = squeeze(x)
    for l, (hh, ww, c) in enumerate(levels):
        for k in range(cfg["steps"]):
            pre = "l%d.s%d" % (l, k)
            if init_actnorm:
                actnorm_init(h, p[pre + ".actnorm.bias"], p[pre + ".actnorm.logs"])
            h = (h + p[pre + ".actnorm.bias"]) * torch.exp(p[pre + ".actnorm.logs"])
            ld = ld + hh * ww * p[pre + ".actnorm.logs"].sum()
            wmat = lu_weight(p, pre + ".invconv")
            h = h @ wmat.t()
            ld = ld + hh * ww * p[pre + ".invconv.log_s"].sum()
            ca = c // 2
            xa, xb = h[..., :ca], h[..., ca:]
            cp = pre + ".coupling"
            t = F.relu(conv3x3(cfg, xa, p, cp + ".conv1"))
            t = F.relu(conv(t, p[cp + ".conv2.w"], p[cp + ".conv2.b"], 0))
            t = zeroconv(cfg, t, p, cp + ".zeroconv")
            cb = c - ca
            shift, s = t[..., :cb], torch.sigmoid(t[..., cb:] + 2.0)
            h = torch.cat([xa, (xb + shift) * s], dim=-1)
            ld = ld + torch.log(s).flatten(1).sum(1)
        if l < len(levels) - 1:
            kept, z = h[..., : c // 2], h[..., c // 2:]
            logp = logp + gaussian_logp(z, zeroconv(cfg, kept, p, "l%d.prior" % l))
            zs.append(z)
            h = squeeze(kept)
        else:
            zeros = torch.zeros_like(h)
            htop = zeroconv(cfg, zeros, p, "top_prior")
            if cfg.get("n_classes", 0) > 0:
                onehot = F.one_hot(y, cfg["n_classes"]).to(x.dtype)
                htop = htop + linear_zeros(onehot, p, "top_prior.class").reshape(n, 1, 1, 2 * c)
            logp = logp + gaussian_logp(h, htop)
            zs.append(h)
    return logp + ld, zs


def bpd_of(cfg, logpx):
    d = cfg["in_c"] * cfg["in_h"] * cfg["in_w"]
    return (-logpx + d * cfg["n_bits"] * math.log(2.0)) / (d * math.log(2.0))


def make_params(cfg, gen):
    """Every table entry, in the engine's order, with fixed non-trivial values.
    With pad "edge" each padded 3x3 conv's <conv>.edge (Co,3,3,1) follows its other
    entries, drawn from their own generator (gen's draws are those of zero padding)."""
    f = cfg["hidden"]
    entries = []  # (name, tensor in engine layout, trainable)
    edge = cfg.get("pad", "zero") == "edge"
    gen_edge = torch.Generator().manual_seed(EDGE_SEED)

    def add_edge(name, co, amp):
        if edge:
            entries.append((name + ".edge", (torch.rand(co, 3, 3, 1, generator=gen_edge) * 2.0 - 1.0) * amp, True))

    def randn(*shape, std=1.0):
        return torch.randn(*shape, generator=gen) * std

    def uniform(*shape, amp):
        return (torch.rand(*shape, generator=gen) * 2.0 - 1.0) * amp

    levels = levels_shapes(cfg)
    for l, (_, _, c) in enumerate(levels):
        ca, cb = c // 2, c - c // 2
        for k in range(cfg["steps"]):
            pre = "l%d.s%d" % (l, k)
            entries.append((pre + ".actnorm.bias", uniform(c, amp=0.3), True))
            entries.append((pre + ".actnorm.logs", uniform(c, amp=0.3), True))
            q, _ = torch.linalg.qr(randn(c, c))
            perm, lo, up = torch.linalg.lu(q)
            diag = torch.diagonal(up)
            lower = torch.tril(lo, -1) + torch.tril(uniform(c, c, amp=0.1), -1)
            upper = torch.triu(up, 1) + torch.triu(uniform(c, c, amp=0.1), 1)
            entries.append((pre + ".invconv.lower", lower, True))
            entries.append((pre + ".invconv.upper", upper, True))
            entries.append((pre + ".invconv.log_s", torch.log(diag.abs()) + uniform(c, amp=0.1), True))
            entries.append((pre + ".invconv.sign", torch.sign(diag), False))
            entries.append((pre + ".invconv.perm", perm, False))
            cp = pre + ".coupling"
            entries.append((cp + ".conv1.w", randn(f, 3, 3, ca, std=0.05), True))
            entries.append((cp + ".conv1.b", uniform(f, amp=0.05), True))
            add_edge(cp + ".conv1", f, 0.05)
            entries.append((cp + ".conv2.w", randn(f, 1, 1, f, std=0.05), True))
            entries.append((cp + ".conv2.b", uniform(f, amp=0.05), True))
            entries.append((cp + ".zeroconv.w", uniform(2 * cb, 3, 3, f, amp=0.05), True))
            entries.append((cp + ".zeroconv.b", uniform(2 * cb, amp=0.05), True))
            entries.append((cp + ".zeroconv.logs", uniform(2 * cb, amp=0.05), True))
            add_edge(cp + ".zeroconv", 2 * cb, 0.05)
        if l < len(levels) - 1:
            entries.append(("l%d.prior.w" % l, uniform(c, 3, 3, c // 2, amp=0.05), True))
            entries.append(("l%d.prior.b" % l, uniform(c, amp=0.1), True))
            entries.append(("l%d.prior.logs" % l, uniform(c, amp=0.1), True))
            add_edge("l%d.prior" % l, c, 0.1)
        else:
            entries.append(("top_prior.w", uniform(2 * c, 3, 3, c, amp=0.05), True))
            entries.append(("top_prior.b", uniform(2 * c, amp=0.1), True))
            entries.append(("top_prior.logs", uniform(2 * c, amp=0.1), True))
            add_edge("top_prior", 2 * c, 0.1)
    k = cfg.get("n_classes", 0)
    if k > 0:
        c = levels[-1][2]
        entries.append(("top_prior.class.w", uniform(2 * c, 1, 1, k, amp=0.3), True))
        entries.append(("top_prior.class.b", uniform(2 * c, amp=0.1), True))
        entries.append(("top_prior.class.logs", uniform(2 * c, amp=0.1), True))
        if cfg["class_weight"] > 0:
            entries.append(("classifier.w", uniform(k, 1, 1, c, amp=0.5), True))
            entries.append(("classifier.b", uniform(k, amp=0.2), True))
            entries.append(("classifier.logs", uniform(k, amp=0.1), True))
    return entries


def write_fixture(path, cfg, tensors):
    with open(path, "wb") as f:
        conditional = cfg.get("n_classes", 0) > 0
        f.write(b"GLOWGOLD")
        f.write(struct.pack("<I", 2 if conditional else 1))
        f.write(struct.pack("<9I", *[cfg[k] for k in
                                      ("in_c", "in_h", "in_w", "levels", "steps", "hidden", "n_bits", "batch",
                                       "adam_steps")]))
        f.write(struct.pack("<f", LR))
        if conditional:
            f.write(struct.pack("<If", cfg["n_classes"], cfg["class_weight"]))
        f.write(struct.pack("<I", len(tensors)))
        for name, t in tensors:
            data = t.detach().to(torch.float32).contiguous().flatten()
            raw = name.encode()
            f.write(struct.pack("<I", len(raw)))
            f.write(raw)
            f.write(struct.pack("<Q", data.numel()))
            f.write(struct.pack("<%df" % data.numel(), *data.tolist()))


def losses(cfg, p, x, y):
    """Per-sample log p(x), latents, bpd, bits_y (None when there is no classifier) and the loss."""
    logpx, zs = forward(cfg, p, x, y=y)
    bpd = bpd_of(cfg, logpx)
    bits_y = None
    loss = bpd.mean()
    if cfg.get("n_classes", 0) > 0 and cfg["class_weight"] > 0:
        bits_y = class_bits(cfg, p, zs[-1], y)
        loss = (bpd + cfg["class_weight"] * bits_y).mean()
    return logpx, zs, bpd, bits_y, loss


def main():
    torch.set_default_dtype(torch.float64)
    args = sys.argv[1:]
    conditional = "--conditional" in args
    args = [a for a in args if a != "--conditional"]
    cfg = dict(COND_CFG if conditional else CFG)
    if len(args) >= 2 and args[0] == "--pad" and args[1] in ("zero", "edge"):
        cfg["pad"] = args[1]
        args = args[2:]
    if args and args[0].startswith("--") or (conditional and cfg["pad"] == "edge"):
        sys.exit("usage: glow_reference.py [--pad zero|edge | --conditional] [OUT.bin]")
    suffix = "_cond" if conditional else "_edge" if cfg["pad"] == "edge" else ""
    path = args[0] if args else "tests/data/glow_golden%s.bin" % suffix
    gen = torch.Generator().manual_seed(SEED)
    entries = make_params(cfg, gen)
    x = torch.rand(cfg["batch"], cfg["in_h"], cfg["in_w"], cfg["in_c"], generator=gen) - 0.5
    # the fixture stores float32 values: run the reference on exactly those values
    x = x.to(torch.float32).to(torch.float64)
    y = torch.tensor(COND_LABELS, dtype=torch.long) if conditional else None
    params = {name: t.to(torch.float32).to(torch.float64).clone().requires_grad_(tr) for name, t, tr in entries}

    logpx, zs, bpd, bits_y, loss = losses(cfg, params, x, y)
    loss.backward()

    tensors = [("x", x)]
    if conditional:
        tensors.append(("labels", y.to(torch.float64)))
    tensors += [("param/" + name, params[name]) for name, _, _ in entries]
    tensors += [("z/%d" % l, z) for l, z in enumerate(zs)]
    tensors += [("logp", logpx), ("bpd", bpd), ("mean_bpd", bpd.mean().reshape(1))]
    if bits_y is not None:
        tensors += [("bits_y", bits_y), ("mean_bits_y", bits_y.mean().reshape(1))]
    tensors += [("grad/" + name, params[name].grad) for name, _, tr in entries if tr]
    tensors = [(n, t.detach().clone()) for n, t in tensors]

    trainable = [params[name] for name, _, tr in entries if tr]
    opt = torch.optim.Adam(trainable, lr=LR, betas=(0.9, 0.999), eps=1e-8)
    after = []
    for _ in range(cfg["adam_steps"]):
        opt.zero_grad()
        losses(cfg, params, x, y)[4].backward()
        opt.step()
        with torch.no_grad():
            after.append(losses(cfg, params, x, y)[2].mean().item())
    tensors.append(("adam_bpd", torch.tensor(after)))
    write_fixture(path, cfg, tensors)
    print("wrote %s: %d tensors, mean bpd %.6f%s, after Adam %s" % (
        path, len(tensors), bpd.mean().item(),
        ", mean bits_y %.6f" % bits_y.mean().item() if bits_y is not None else "",
        ", ".join("%.6f" % b for b in after)))


if __name__ == "__main__":
    main()
