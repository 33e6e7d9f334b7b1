#!/usr/bin/env python3
"""Image folders at sizes other than 32 through the whole program (issue 15, point 4).

A tiny generated folder (3 classes of 8 RGB PNGs, 40x36 so that the loader
crops and resizes; a test folder of 2 of those classes x 2 images: fewer
than 10 classes, and no class 0) is trained on for 2 steps at each size below on the cpu backend,
then:
  - sample and interpolate write grids of the trained size and channels
    (PNG width, height and colour type checked; interpolate finds its pairs
    among the 2 test classes, and a third pair, which would need 4 images of a
    class, is an error saying so);
  - eval needs no size flag and reproduces train's final test bpd;
  - the largest L the size allows trains (every level halves: 16x16 at L=4 has
    a 1x1 top level), and L + 1 is a usage error naming the largest valid L;
  - --resume takes the size from the checkpoint (a contradicting --size is a
    usage error);
  - the training log reports the data wait as a share of the step time.
Sizes: 16 (gray, L=4, store memory) and 64 (RGB, L=3, reversible) in full;
8 and 128 train, sample and evaluate once each.
usage: folder_sizes.py PATH/TO/glow-vk
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

failures = []


def check(ok, what):
    print(("ok   - " if ok else "FAIL - ") + what)
    if not ok:
        failures.append(what)


def png_rgb(pixels, w, h):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    raw = b"".join(b"\x00" + pixels[y * w * 3:(y + 1) * w * 3] for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def png_shape(path):
    """(width, height, colour type) from a PNG's IHDR."""
    with open(path, "rb") as f:
        head = f.read(26)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", path
    w, h, _, colour = struct.unpack(">IIBB", head[16:26])
    return w, h, colour


def write_folder(root, classes, per_class, seed):
    """A disc of a class colour on a gradient, 40x36 (not square: the loader crops)."""
    w, h = 40, 36
    for k, name in enumerate(classes):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(per_class):
            cx, cy, r = 12 + (i * 7 + seed) % 16, 10 + (i * 5 + seed) % 14, 6 + i % 5
            px = bytearray(w * h * 3)
            for y in range(h):
                for x in range(w):
                    inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r
                    o = (y * w + x) * 3
                    px[o:o + 3] = bytes((200 - 60 * k if inside else 30 + 40 * k, x * 6, y * 7))
            with open(os.path.join(root, name, "%02d.png" % i), "wb") as f:
                f.write(png_rgb(bytes(px), w, h))


def grid_shape(images, cols, size):
    """glow_png_write_grid: cols x rows tiles of size x size with a 2-pixel border around and between them."""
    rows = (images + cols - 1) // cols
    return cols * size + (cols + 1) * 2, rows * size + (rows + 1) * 2


def run(glow, args, env):
    p = subprocess.run([glow] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    return p.returncode, p.stdout


def final_test_bpd(out_dir):
    with open(os.path.join(out_dir, "metrics.csv")) as f:
        rows = [line.strip().split(",") for line in f][1:]
    return float(rows[-1][4])


def one_size(glow, tmp, env, size, channels, levels, memory, full):
    tag = "%dx%dx%d L=%d %s" % (size, size, channels, levels, memory)
    out = os.path.join(tmp, "run%d" % size)
    data = ["--data-dir", os.path.join(tmp, "train"), "--test-dir", os.path.join(tmp, "test")]
    rc, log = run(glow, ["train", "--dataset", "folder"] + data +
                  ["--size", str(size), "--channels", str(channels), "--L", str(levels), "--K", "1", "--hidden", "4",
                   "--batch", "4", "--steps", "2", "--epochs", "1", "--samples", "5", "--memory", memory,
                   "--backend", "cpu", "--out", out], env)
    check(rc == 0, "%s: train (exit %d)" % (tag, rc))
    if rc != 0:
        print(log)
        return
    check("training images (%dx%dx%d)" % (size, size, channels) in log, "%s: the model trains on %dx%d images"
          % (tag, size, size))
    m = re.search(r"data: the steps waited ([0-9.]+) s .*, ([0-9.]+)% of the step time", log)
    check(m is not None, "%s: the log reports the data wait as a share of the step time" % tag)
    colour = 2 if channels == 3 else 0
    check(png_shape(os.path.join(out, "samples_final.png")) == grid_shape(5, 3, size) + (colour,),
          "%s: train's sample grid has %dx%d tiles" % (tag, size, size))
    ckpt = os.path.join(out, "checkpoint.glow")

    rc, log = run(glow, ["sample", "--checkpoint", ckpt, "-n", "7", "--backend", "cpu", "-o",
                         os.path.join(tmp, "s%d.png" % size)], env)
    check(rc == 0 and png_shape(os.path.join(tmp, "s%d.png" % size)) == grid_shape(7, 3, size) + (colour,),
          "%s: sample writes 7 tiles of %dx%d (exit %d)" % (tag, size, size, rc))

    rc, log = run(glow, ["eval", "--checkpoint", ckpt, "--backend", "cpu"] + data[:2] + data[2:], env)
    m = re.search(r"^test bpd: ([0-9.eE+-]+)$", log, re.M)
    want = final_test_bpd(out)
    check(rc == 0 and m is not None and abs(float(m.group(1)) - want) <= 1e-4 * want,
          "%s: eval without a size flag gives train's final test bpd %.6f (got %s, exit %d)"
          % (tag, want, m.group(1) if m else None, rc))
    if not full:
        return

    interp = os.path.join(tmp, "i%d.png" % size)
    rc, log = run(glow, ["interpolate", "--checkpoint", ckpt, "--backend", "cpu", "--pairs", "2", "--steps", "3",
                         "-o", interp] + data, env)
    check(rc == 0 and png_shape(interp) == grid_shape(10, 5, size) + (colour,),
          "%s: interpolate on a test folder of 2 classes writes 2 rows of 5 tiles of %dx%d (exit %d)"
          % (tag, size, size, rc))
    if rc != 0:
        print(log)
    rc, log = run(glow, ["interpolate", "--checkpoint", ckpt, "--backend", "cpu", "--pairs", "3", "--steps", "3",
                         "-o", os.path.join(tmp, "bad.png")] + data, env)
    check(rc == 1 and "fewer than 4 images of class 1" in log and "cycle over the 2 classes" in log,
          "%s: a third pair needs 4 test images of class 1, and the error says so (exit %d)" % (tag, rc))

    rc, log = run(glow, ["train", "--resume", "--out", out, "--steps", "3", "--backend", "cpu"] + data, env)
    check(rc == 0 and "training images (%dx%dx%d)" % (size, size, channels) in log,
          "%s: --resume takes the size from the checkpoint (exit %d)" % (tag, rc))
    other = 32 if size != 32 else 64
    rc, log = run(glow, ["train", "--resume", "--out", out, "--steps", "4", "--size", str(other)] + data, env)
    check(rc == 2 and "--size %d contradicts" % other in log,
          "%s: --resume with --size %d is a usage error (exit %d)" % (tag, other, rc))

    largest = size.bit_length() - 1
    rc, log = run(glow, ["train", "--dataset", "folder"] + data + ["--size", str(size), "--L", str(largest + 1),
                                                                   "--out", os.path.join(tmp, "never")], env)
    check(rc == 2 and "largest valid L is %d" % largest in log and not os.path.exists(os.path.join(tmp, "never")),
          "%s: --L %d is a usage error naming the largest valid L %d (exit %d)" % (tag, largest + 1, largest, rc))


def main():
    glow = os.path.realpath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="glow-folder-sizes.")
    try:
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"), GLOW_THREADS="2")
        write_folder(os.path.join(tmp, "train"), ["a", "b", "c"], 8, 0)
        write_folder(os.path.join(tmp, "test"), ["b", "c"], 2, 3)  # labels 1 and 2: no class 0
        one_size(glow, tmp, env, 16, 1, 4, "store", True)       # L=4: the largest for 16x16 (1x1 top)
        one_size(glow, tmp, env, 64, 3, 3, "reversible", True)
        one_size(glow, tmp, env, 8, 1, 3, "reversible", False)  # L=3: the largest for 8x8
        one_size(glow, tmp, env, 128, 3, 2, "store", False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
