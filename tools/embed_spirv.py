#!/usr/bin/env python3
"""Embed compiled SPIR-V modules into C as symbols, with their reflected interface.

usage: embed_spirv.py OUT.c OUT.h FILE.spv [FILE.spv ...]

The name of each module is its file name without the directory and ".spv"
(backends/vulkan/shaders/<family>/<name>.comp). OUT.h declares

    typedef enum { VK_SHADER_<NAME>, ..., VK_SHADER_COUNT } vk_shader_id;
    extern const vk_shader_module vk_shader_modules[VK_SHADER_COUNT];

so that the host names a shader by a constant the compiler checks (a misspelt
or missing shader fails the build); OUT.c holds the words (host byte order) and
the table. Each entry also carries what the module itself declares, read here
from its SPIR-V:
  - its descriptor bindings: set 0, bindings 0..n-1 without gaps, each a
    storage buffer, a uniform texel buffer (samplerBuffer) or a storage texel
    buffer (imageBuffer), and whether it is read-only
    (NonWritable on the variable or on every member of its block);
  - the byte size of its push-constant block (0 without one);
  - the specialization constant ids it declares (a bit mask).
A module that declares anything else (another set, a gap in the bindings, an
unsupported descriptor type) fails the build with its name.
"""
import os
import re
import struct
import sys

SPIRV_MAGIC = 0x07230203

# Opcodes, decorations and storage classes used below (SPIR-V 1.5 specification).
OP_TYPE_INT, OP_TYPE_FLOAT, OP_TYPE_VECTOR, OP_TYPE_MATRIX = 21, 22, 23, 24
OP_TYPE_IMAGE, OP_TYPE_SAMPLED_IMAGE, OP_TYPE_ARRAY, OP_TYPE_RUNTIME_ARRAY = 25, 27, 28, 29
OP_TYPE_STRUCT, OP_TYPE_POINTER, OP_CONSTANT, OP_VARIABLE = 30, 32, 43, 59
OP_DECORATE, OP_MEMBER_DECORATE = 71, 72
DEC_SPEC_ID, DEC_BLOCK, DEC_BUFFER_BLOCK, DEC_ARRAY_STRIDE = 1, 2, 3, 6
DEC_NON_WRITABLE, DEC_BINDING, DEC_DESCRIPTOR_SET, DEC_OFFSET = 24, 33, 34, 35
SC_UNIFORM_CONSTANT, SC_UNIFORM, SC_PUSH_CONSTANT, SC_STORAGE_BUFFER = 0, 2, 9, 12
DIM_BUFFER = 5
MAX_BINDINGS = 12  # VK_MAX_BINDINGS in backends/vulkan/vk_internal.h


def fail(name, msg):
    sys.exit(f"embed_spirv: shader '{name}': {msg}")


def read_words(path):
    data = open(path, "rb").read()
    if len(data) % 4 != 0 or len(data) < 20:
        sys.exit(f"embed_spirv: {path}: {len(data)} bytes is not a SPIR-V module")
    words = struct.unpack(f"<{len(data) // 4}I", data)
    if words[0] != SPIRV_MAGIC:  # written on a big-endian host
        words = struct.unpack(f">{len(data) // 4}I", data)
    if words[0] != SPIRV_MAGIC:
        sys.exit(f"embed_spirv: {path}: bad SPIR-V magic 0x{words[0]:08x}")
    return words


def instructions(words):
    i = 5  # after the header
    while i < len(words):
        count, op = words[i] >> 16, words[i] & 0xFFFF
        if count == 0:
            sys.exit("embed_spirv: malformed SPIR-V (zero-length instruction)")
        yield op, words[i + 1:i + count]
        i += count


def reflect(name, words):
    types, decor, member_decor, consts, variables = {}, {}, {}, {}, []
    for op, a in instructions(words):
        if op in (OP_TYPE_INT, OP_TYPE_FLOAT, OP_TYPE_VECTOR, OP_TYPE_MATRIX, OP_TYPE_IMAGE,
                  OP_TYPE_SAMPLED_IMAGE, OP_TYPE_ARRAY, OP_TYPE_RUNTIME_ARRAY, OP_TYPE_STRUCT):
            types[a[0]] = (op, a[1:])
        elif op == OP_TYPE_POINTER:
            types[a[0]] = (op, a[1:])  # (storage class, pointee)
        elif op == OP_CONSTANT:
            consts[a[1]] = a[2]
        elif op == OP_VARIABLE:
            variables.append((a[1], a[0], a[2]))  # (id, pointer type, storage class)
        elif op == OP_DECORATE:
            decor.setdefault(a[0], []).append((a[1], a[2:]))
        elif op == OP_MEMBER_DECORATE:
            member_decor.setdefault((a[0], a[1]), []).append((a[2], a[3:]))

    def has(decs, d):
        return any(k == d for k, _ in decs)

    def value(decs, d):
        for k, v in decs:
            if k == d:
                return v[0]
        return None

    def size_of(t):
        op, a = types[t]
        if op in (OP_TYPE_INT, OP_TYPE_FLOAT):
            return a[0] // 8
        if op in (OP_TYPE_VECTOR, OP_TYPE_MATRIX):
            return a[1] * size_of(a[0])
        if op == OP_TYPE_ARRAY:
            stride = value(decor.get(t, []), DEC_ARRAY_STRIDE)
            return consts[a[1]] * (stride if stride else size_of(a[0]))
        if op == OP_TYPE_STRUCT:
            end = 0
            for m, mt in enumerate(a):
                off = value(member_decor.get((t, m), []), DEC_OFFSET)
                if off is None:
                    fail(name, f"member {m} of a push-constant struct has no Offset")
                end = max(end, off + size_of(mt))
            return end
        fail(name, f"cannot size a type of opcode {op} in the push-constant block")

    bindings, push_bytes = {}, 0
    for var, ptr, sc in variables:
        pointee = types[ptr][1][1]
        decs = decor.get(var, [])
        if sc == SC_PUSH_CONSTANT:
            push_bytes = size_of(pointee)
            continue
        if sc not in (SC_UNIFORM_CONSTANT, SC_UNIFORM, SC_STORAGE_BUFFER):
            continue
        binding, dset = value(decs, DEC_BINDING), value(decs, DEC_DESCRIPTOR_SET)
        if binding is None:
            continue
        if dset != 0:
            fail(name, f"binding {binding} is in descriptor set {dset}; the backend uses set 0 only")
        op, a = types[pointee]
        if sc == SC_STORAGE_BUFFER or (sc == SC_UNIFORM and has(decor.get(pointee, []), DEC_BUFFER_BLOCK)):
            members = len(a) if op == OP_TYPE_STRUCT else 0
            readonly = has(decs, DEC_NON_WRITABLE) or (
                members > 0 and all(has(member_decor.get((pointee, m), []), DEC_NON_WRITABLE)
                                    for m in range(members)))
            kind = "VK_SHADER_BIND_STORAGE"
        else:
            image = a[0] if op == OP_TYPE_SAMPLED_IMAGE else pointee
            iop, ia = types[image]
            if iop != OP_TYPE_IMAGE or ia[1] != DIM_BUFFER or ia[5] not in (1, 2):
                fail(name, f"binding {binding} is neither a storage buffer nor a uniform or storage texel buffer")
            if ia[5] == 1:
                kind, readonly = "VK_SHADER_BIND_TEXEL", True
            else:  # Sampled = 2: a storage texel buffer (imageBuffer), read-only when NonWritable
                kind, readonly = "VK_SHADER_BIND_STORAGE_TEXEL", has(decs, DEC_NON_WRITABLE)
        if binding in bindings:  # aliases (e.g. float[] and vec4[] views of one buffer)
            if bindings[binding][0] != kind:
                fail(name, f"binding {binding} is declared twice with different descriptor types")
            readonly = readonly and bindings[binding][1]
        bindings[binding] = (kind, readonly)
    n = len(bindings)
    if sorted(bindings) != list(range(n)):
        fail(name, f"bindings {sorted(bindings)} are not 0..{n - 1} without gaps")
    if n > MAX_BINDINGS:
        fail(name, f"{n} bindings exceed VK_MAX_BINDINGS ({MAX_BINDINGS})")
    spec_mask = 0
    for decs in decor.values():
        sid = value(decs, DEC_SPEC_ID)
        if sid is not None:
            spec_mask |= 1 << sid
    return [bindings[i] for i in range(n)], push_bytes, spec_mask


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    out_c, out_h = argv[1], argv[2]
    modules = []
    for path in argv[3:]:
        name = os.path.basename(path)
        if name.endswith(".spv"):
            name = name[:-4]
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            sys.exit(f"embed_spirv: '{path}': the shader name must be a lower-case C identifier")
        words = read_words(path)
        modules.append((name, words) + tuple(reflect(name, words)))
    modules.sort()
    names = [m[0] for m in modules]
    if len(set(names)) != len(names):
        sys.exit("embed_spirv: two shaders share a name")

    h = [
        "/* Generated by tools/embed_spirv.py from backends/vulkan/shaders: do not edit. */",
        "#ifndef GLOW_VK_SHADERS_H",
        "#define GLOW_VK_SHADERS_H",
        "",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        "/* One constant per shader: backends/vulkan/shaders/<family>/<name>.comp -> VK_SHADER_<NAME>. */",
        "typedef enum {",
    ]
    h += [f"    VK_SHADER_{n.upper()}," for n in names]
    h += [
        "    VK_SHADER_COUNT",
        "} vk_shader_id;",
        "",
        "/* Descriptor type of a binding as the module declares it. */",
        "typedef enum { VK_SHADER_BIND_STORAGE = 0, VK_SHADER_BIND_TEXEL = 1, VK_SHADER_BIND_STORAGE_TEXEL = 2 } vk_shader_bind_type;",
        "",
        "/* A module and its interface, reflected from its SPIR-V at build time. */",
        "typedef struct {",
        "    const char *name;           /* file name without \".comp\" */",
        "    const uint32_t *code;",
        "    size_t bytes;",
        "    uint32_t n_bindings;        /* set 0, bindings 0 .. n_bindings-1 */",
        f"    uint8_t binding_type[{MAX_BINDINGS}];   /* vk_shader_bind_type of each binding */",
        "    uint32_t readonly_mask;     /* bit i: binding i is NonWritable */",
        "    uint32_t push_bytes;        /* size of the push-constant block, 0 without one */",
        "    uint32_t spec_mask;         /* bit i: the module declares constant_id i */",
        "} vk_shader_module;",
        "",
        "extern const vk_shader_module vk_shader_modules[VK_SHADER_COUNT];",
        "",
        "#endif",
    ]
    c = [
        "/* Generated by tools/embed_spirv.py from backends/vulkan/shaders: do not edit. */",
        f'#include "{os.path.basename(out_h)}"',
        "",
    ]
    for name, words, _, _, _ in modules:
        c.append(f"static const uint32_t spirv_{name}[{len(words)}] = {{")
        for i in range(0, len(words), 8):
            c.append("    " + ", ".join(f"0x{w:08x}u" for w in words[i:i + 8]) + ",")
        c.append("};")
        c.append("")
    c.append("const vk_shader_module vk_shader_modules[VK_SHADER_COUNT] = {")
    for name, _, binds, push, spec in modules:
        types = ", ".join(k for k, _ in binds) or "0"
        ro = sum(1 << i for i, (_, r) in enumerate(binds) if r)
        c.append(f'    [VK_SHADER_{name.upper()}] = {{"{name}", spirv_{name}, sizeof spirv_{name}, {len(binds)}, '
                 f"{{{types}}}, 0x{ro:x}u, {push}u, 0x{spec:x}u}},")
    c.append("};")
    with open(out_h, "w") as f:
        f.write("\n".join(h) + "\n")
    with open(out_c, "w") as f:
        f.write("\n".join(c) + "\n")


if __name__ == "__main__":
    main(sys.argv)
