#!/usr/bin/env python3
"""Sets every element of one parameter tensor of a glow-vk checkpoint to a value and re-seals
the file (FNV-1a 64 over everything before the last 8 bytes), for tests that need a run to
meet a non-finite loss on purpose. Usage: checkpoint_set_param.py FILE NAME VALUE
Layout (src/checkpoint/checkpoint_format.c): "GLOWCKPT", u32 version, u32 header bytes, header,
u32 entries, u64 floats per arena, entries of 92 bytes (name[64], u64 offset, i32 n h w c,
i32 trainable), the arenas (parameters first), u64 checksum."""
import struct, sys
path, name, value = sys.argv[1], sys.argv[2].encode(), float(sys.argv[3])
b = bytearray(open(path, "rb").read())
version, hlen = struct.unpack_from("<II", b, 8)
at = 16 + hlen
count, total = struct.unpack_from("<IQ", b, at)
at += 12
arenas = at + 92 * count
hits = 0
for i in range(count):
    e = at + 92 * i
    ename = bytes(b[e:e + 64]).rstrip(b"\0")
    off, n, h, w, c, _ = struct.unpack_from("<Q4ii", b, e + 64)
    if ename == name:
        for j in range(n * h * w * c):
            struct.pack_into("<f", b, arenas + 4 * (off + j), value)
        hits += 1
if hits != 1:
    sys.exit("%s: no parameter %s" % (path, name.decode()))
h = 0xcbf29ce484222325
for x in b[:-8]:
    h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
struct.pack_into("<Q", b, len(b) - 8, h)
open(path, "wb").write(bytes(b))
