#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into tests/data/fuzz/<target>/seed-*:
small valid inputs of each format, so that fuzzing starts past the magic numbers.
Deterministic; run again after a format change. Inputs that once crashed a
reader sit next to them as crash-* files and are kept."""
import gzip
import io
import os
import struct
import sys
import tarfile
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "fuzz")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def idx_seeds():
    images = struct.pack(">IIII", 0x803, 2, 28, 28) + bytes((i * 7) % 256 for i in range(2 * 28 * 28))
    labels = struct.pack(">II", 0x801, 3) + bytes([1, 9, 0])
    write("idx", "images.idx", images)
    write("idx", "images.idx.gz", gz(images))
    write("idx", "labels.idx", labels)
    write("idx", "labels.idx.gz", gz(labels))


def cifar_record(label, seed):
    return bytes([label]) + bytes((seed + i * 13) % 256 for i in range(3072))


def cifar_seeds():
    write("cifar", "one", cifar_record(3, 1))
    write("cifar", "two", cifar_record(0, 2) + cifar_record(9, 3))


def tar(members, prefix=""):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def tar_seeds():
    batches = tar([("readme.html", b"<p>hi</p>"), ("data_batch_1.bin", cifar_record(1, 4)),
                   ("test_batch.bin", cifar_record(2, 5))], "cifar-10-batches-bin/")
    write("tar_gz", "batches.tar.gz", gz(batches))
    # zlib reads an uncompressed file as it is: the fuzzer mutates tar headers directly.
    write("tar_gz", "batches.tar", batches)
    write("tar_gz", "one.tar.gz", gz(tar([("test_batch.bin", b"x" * 600)])))


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def checkpoint(version):
    header = struct.pack("<7i", 1, 32, 32, 1, 1, 1, 5) + b"fashion-mnist".ljust(32, b"\0")
    header += struct.pack("<iffiQiqiqiiffff", 8, 1e-3, 0.0, 2, 1, 1, 7, 0, 56, 1, 0, 0.9, 0.999, 1e-8, 0.0)
    if version >= 2:
        header += struct.pack("<iiQ", 64, 64, 0x0123456789ABCDEF)
    if version >= 3:
        header += struct.pack("<iifi", 1, 3, 0.25, 1)  # pad: edge; n_classes 3, class_weight 0.25; tf32
    entries = [(b"l0.a", 0, (1, 1, 1, 2), 1), (b"l0.b", 2, (1, 1, 1, 3), 0)]
    total = 5
    body = b"GLOWCKPT" + struct.pack("<II", version, len(header)) + header + struct.pack("<IQ", len(entries), total)
    for name, off, shape, trainable in entries:
        body += name.ljust(64, b"\0") + struct.pack("<Q4ii", off, *shape, trainable)
    for arena in range(3):
        body += struct.pack("<5f", *[(arena + 1) * 0.25 * (i - 2) for i in range(total)])
    return body + struct.pack("<Q", fnv1a64(body))


def checkpoint_seeds():
    write("checkpoint", "v3.glow", checkpoint(3))
    write("checkpoint", "v2.glow", checkpoint(2))
    write("checkpoint", "v1.glow", checkpoint(1))


def png(width, height, depth, color, rows, extra=b""):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw, 9)) +
            chunk(b"IEND", b""))


def png_seeds():
    write("png", "gray8.png", png(5, 3, 8, 0, [bytes((x * 40 + y) % 256 for x in range(5)) for y in range(3)]))
    write("png", "rgb8.png", png(3, 2, 8, 2, [bytes(range(y, y + 9)) for y in range(2)]))
    write("png", "rgba16.png", png(2, 2, 16, 6, [bytes(range(y, y + 16)) for y in range(2)]))
    write("png", "gray1.png", png(9, 2, 1, 0, [b"\xa5\x80", b"\x5a\x00"]))
    plte = struct.pack(">I", 6) + b"PLTE" + b"\xff\0\0\0\xff\0"
    plte += struct.pack(">I", zlib.crc32(b"PLTE\xff\0\0\0\xff\0"))
    trns = struct.pack(">I", 1) + b"tRNS\x80" + struct.pack(">I", zlib.crc32(b"tRNS\x80"))
    write("png", "palette.png", png(4, 2, 8, 3, [b"\0\1\0\1", b"\1\0\1\0"], plte + trns))


if __name__ == "__main__":
    idx_seeds()
    cifar_seeds()
    tar_seeds()
    checkpoint_seeds()
    png_seeds()
    sys.exit(0)
