#!/usr/bin/env python3
"""Real data through the image-folder path (issue 15, point 7).

Exports the first 200 Fashion-MNIST training images and the first 100 test
images (from /usr/share/datasets/fashion-mnist, IDX) as PNGs, one subfolder
per class (<root>/<label>/<position>.png), and checks:
  1. every image glow-vk decodes equals its IDX twin byte for byte, with the
     right label. The comparison is at the size the IDX path trains at: the
     exported PNG is the 28x28 image with the same 2-pixel zero border the IDX
     loader adds (32x32), so `--size 32` is an exact copy. The decoded images
     are read from the loader's cache file (the array training reads).
  2. a short training run on the folder and one on IDX files holding the same
     images in the same order (the subset re-written sorted by label, the
     order of the folder listing) give the same losses, bit for bit
     (metrics.csv rows equal), on the ref backend.
  3. `eval` of the folder run's checkpoint on the folder gives its final test
     bpd; the second run on the folder reuses the cache; a corrupt PNG is skipped
     and named, --strict-data turns it into an error naming it; a folder
     without images and a --size that is not a power of two are refused
     (other sizes end to end: tests/folder_sizes.py).
usage: folder_fashion.py PATH/TO/glow-vk
"""
import gzip
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

DATA = "/usr/share/datasets/fashion-mnist"
N_TRAIN, N_TEST = 200, 100
PAD = 2
failures = []


def check(ok, what):
    print(("ok   - " if ok else "FAIL - ") + what)
    if not ok:
        failures.append(what)


def read_idx(name):
    with gzip.open(os.path.join(DATA, name + ".gz"), "rb") as f:
        return f.read()


def subset(kind, n):
    images = read_idx(kind + "-images-idx3-ubyte")
    labels = read_idx(kind + "-labels-idx1-ubyte")
    magic, count, rows, cols = struct.unpack(">IIII", images[:16])
    assert magic == 0x803 and rows == 28 and cols == 28 and count >= n
    imgs = [images[16 + i * 784:16 + (i + 1) * 784] for i in range(n)]
    labs = list(labels[8:8 + n])
    # the folder lists <label>/<position>.png sorted: by label, then position
    order = sorted(range(n), key=lambda i: (labs[i], i))
    return [imgs[i] for i in order], [labs[i] for i in order]


def padded(img):
    out = bytearray(32 * 32)
    for y in range(28):
        out[(y + PAD) * 32 + PAD:(y + PAD) * 32 + PAD + 28] = img[y * 28:(y + 1) * 28]
    return bytes(out)


def png_gray(pixels, w, h):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    raw = b"".join(b"\x00" + pixels[y * w:(y + 1) * w] for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def export_folder(root, imgs, labs):
    for pos, (img, lab) in enumerate(zip(imgs, labs)):
        d = os.path.join(root, str(lab))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "%05d.png" % pos), "wb") as f:
            f.write(png_gray(padded(img), 32, 32))


def write_idx(d, kind, imgs, labs):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, kind + "-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, len(imgs), 28, 28) + b"".join(imgs))
    with open(os.path.join(d, kind + "-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, len(labs)) + bytes(labs))


def read_cache(path):
    """The loader's cache file (layout in include/glow/folder.h)."""
    data = open(path, "rb").read()
    assert data[:8] == b"GLOWIMC1", path
    count, n_train, size, channels, n_classes, skipped = struct.unpack("<6I", data[8:32])
    labels_off = 4096 + 16384
    pix_off = (labels_off + count + 4095) // 4096 * 4096
    image = size * size * channels
    labels = data[labels_off:labels_off + count]
    pixels = [data[pix_off + i * image:pix_off + (i + 1) * image] for i in range(count)]
    names = [data[4096 + 64 * k:4096 + 64 * (k + 1)].split(b"\0")[0].decode() for k in range(n_classes)]
    return pixels, labels, names


def run(glow, args, env):
    p = subprocess.run([glow] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    return p.returncode, p.stdout


def metrics(out_dir):
    with open(os.path.join(out_dir, "metrics.csv")) as f:
        rows = [line.strip().split(",") for line in f][1:]
    # step, epoch, lr, train_bpd, test_bpd (images_per_s and seconds are timings)
    return [r[:5] for r in rows]


def main():
    glow = os.path.realpath(sys.argv[1])
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        print("folder_fashion.py: %s not installed (apt-get install dataset-fashion-mnist)" % DATA)
        sys.exit(1 if os.environ.get("GLOW_TEST_STRICT") == "1" else 77)
    tmp = tempfile.mkdtemp(prefix="glow-folder-fashion.")
    try:
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"))
        train_imgs, train_labs = subset("train", N_TRAIN)
        test_imgs, test_labs = subset("t10k", N_TEST)
        export_folder(os.path.join(tmp, "train"), train_imgs, train_labs)
        export_folder(os.path.join(tmp, "test"), test_imgs, test_labs)
        idx_dir = os.path.join(tmp, "idx")
        write_idx(idx_dir, "train", train_imgs, train_labs)
        write_idx(idx_dir, "t10k", test_imgs, test_labs)

        common = ["--backend", "ref", "--preset", "small", "--batch", "16", "--steps", "24", "--test-limit", "0",
                  "--samples", "4", "--log-every", "4"]
        folder_args = ["--dataset", "folder", "--data-dir", os.path.join(tmp, "train"), "--test-dir",
                       os.path.join(tmp, "test"), "--channels", "1", "--size", "32"]
        rc, log = run(glow, ["train"] + folder_args + common + ["--out", os.path.join(tmp, "A")], env)
        check(rc == 0, "train on the folder (exit %d)" % rc)
        if rc != 0:
            print(log)
        check("wrote cache" in log and "%d training and %d test images of 32x32x1" % (N_TRAIN, N_TEST) in log,
              "the folder run decodes %d + %d images and writes the cache" % (N_TRAIN, N_TEST))
        for line in log.splitlines():
            if line.startswith("data:") or line.startswith("folder "):
                print("    " + line)

        caches = sorted(os.listdir(os.path.join(tmp, "cache", "glow-vk")))
        check(len(caches) == 2, "one cache file per folder (%s)" % caches)
        decoded = {}
        for name in caches:
            pixels, labels, names = read_cache(os.path.join(tmp, "cache", "glow-vk", name))
            decoded[len(pixels)] = (pixels, labels, names)
        for kind, imgs, labs in (("train", train_imgs, train_labs), ("test", test_imgs, test_labs)):
            pixels, labels, names = decoded.get(len(imgs), ([], b"", []))
            same = len(pixels) == len(imgs) and all(pixels[i] == padded(imgs[i]) for i in range(len(imgs)))
            check(same, "%s: every decoded image equals its IDX twin (zero-padded to 32x32) byte for byte" % kind)
            right = len(labels) == len(labs) and all(names[labels[i]] == str(labs[i]) for i in range(len(labs)))
            check(right, "%s: every decoded image has its IDX label" % kind)

        rc, log_e = run(glow, ["eval", "--checkpoint", os.path.join(tmp, "A", "checkpoint.glow"), "--backend", "ref",
                               "--data-dir", os.path.join(tmp, "train"), "--test-dir", os.path.join(tmp, "test")], env)
        got = [l.split(": ")[1] for l in log_e.splitlines() if l.startswith("test bpd: ")]
        last = metrics(os.path.join(tmp, "A"))[-1][4] if rc == 0 else None
        check(rc == 0 and got == [last], "eval on the folder checkpoint gives train's final test bpd (%s, %s)" %
              (got, last))

        rc, log_idx = run(glow, ["train", "--dataset", "fashion-mnist", "--data-dir", idx_dir] + common +
                          ["--out", os.path.join(tmp, "B")], env)
        check(rc == 0, "train on the same images as IDX files (exit %d)" % rc)
        a, b = metrics(os.path.join(tmp, "A")), metrics(os.path.join(tmp, "B"))
        check(len(a) > 0 and a == b, "folder and IDX runs log the same losses bit for bit (%d rows)" % len(a))
        if a != b:
            print("    folder:", a[-2:], "\n    idx:   ", b[-2:])

        rc, log2 = run(glow, ["train"] + folder_args + common + ["--out", os.path.join(tmp, "C")], env)
        check(rc == 0 and "reused cache" in log2, "a second run reuses the cache")
        check(metrics(os.path.join(tmp, "C")) == a, "and logs the same losses")

        bad = os.path.join(tmp, "train", "3", "zz_corrupt.png")
        with open(bad, "wb") as f:
            f.write(png_gray(padded(train_imgs[0]), 32, 32)[:70])
        rc, log3 = run(glow, ["train"] + folder_args + common + ["--steps", "2", "--out", os.path.join(tmp, "D")],
                       env)
        check(rc == 0 and "1 skipped" in log3 and "skipped: " in log3 and "zz_corrupt.png" in log3,
              "a truncated PNG is skipped, counted and named")
        rc, log4 = run(glow, ["train"] + folder_args + common + ["--strict-data", "--out", os.path.join(tmp, "E")],
                       env)
        check(rc == 1 and "zz_corrupt.png" in log4, "--strict-data makes it an error naming the file (exit %d)" % rc)

        os.makedirs(os.path.join(tmp, "noimages", "a"))
        rc, log5 = run(glow, ["train", "--dataset", "folder", "--data-dir", os.path.join(tmp, "noimages")] + common +
                       ["--out", os.path.join(tmp, "F")], env)
        check(rc == 1 and "no image files" in log5, "a folder without images is an error (exit %d)" % rc)
        rc, log6 = run(glow, ["train"] + folder_args[:-2] + ["--size", "48"] + common +
                       ["--out", os.path.join(tmp, "G")], env)
        check(rc == 2 and "--size 48 is not a power of two" in log6, "--size 48 is refused (exit %d)" % rc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
