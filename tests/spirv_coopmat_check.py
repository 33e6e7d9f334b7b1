#!/usr/bin/env python3
"""The SPV_KHR_cooperative_matrix modules of the build (tools/spirv_coopmat_khr.py), checked
without a validator that knows the extension (bookworm's spirv-tools 2023.1 does not):

- every <kernel>_coopmat.spv passes the tool's structural check (capability, extension, no NV
  instruction left, operand counts, Use/Layout constants, MulAdd operand uses and shapes);
- converting <kernel>_coopmat_nv.spv again gives the same words (the build is reproducible),
  and the conversion maps every NV matrix instruction to one KHR instruction with the
  operands reordered as the two specifications say (checked instruction by instruction);
- the NV modules pass spirv-val (Vulkan 1.2) where it is installed;
- the check rejects broken modules: a MulAdd with an operand dropped, a Use constant out of
  range, an NV instruction left, a matrix type used as both A and B.

usage: spirv_coopmat_check.py TOOLS_DIR SHADER_BUILD_DIR
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, sys.argv[1])
import spirv_coopmat_khr as t  # noqa: E402

KERNELS = ["conv2d_forward", "conv2d_backward_data", "conv2d_backward_weight"]
failures = []


def expect_fail(name, words):
    try:
        t.check_khr(words)
    except t.ConvertError:
        return
    failures.append(f"check_khr accepted a broken module ({name})")


def main():
    build = sys.argv[2]
    spirv_val = shutil.which("spirv-val")
    for k in KERNELS:
        nv_path = os.path.join(build, k + "_coopmat_nv.spv")
        khr_path = os.path.join(build, k + "_coopmat.spv")
        nv, khr = t.read_words(nv_path), t.read_words(khr_path)
        t.check_khr(khr)
        if t.convert(nv) != khr:
            failures.append(f"{k}: converting the NV module again gives other words")
        if spirv_val:
            r = subprocess.run([spirv_val, "--target-env", "vulkan1.2", nv_path], capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(f"{k}: spirv-val rejects the NV module: {r.stderr.strip()}")
        # Instruction by instruction: same count, NV ops mapped with their operands reordered.
        _, ni = t.split(nv)
        _, ki = t.split(khr)
        consts = {i[2]: i[3] for i in ki if i[0] == t.OP_CONSTANT and len(i) == 4}
        bools = {i[2]: i[0] == t.OP_CONSTANT_TRUE for i in ni if i[0] in (t.OP_CONSTANT_TRUE, t.OP_CONSTANT_FALSE)}
        ki_body = [i for i in ki if not (i[0] == t.OP_CONSTANT and i[2] >= t.split(nv)[0][3])]
        if len(ki_body) != len(ni):
            failures.append(f"{k}: {len(ni)} instructions became {len(ki_body)} (besides new constants)")
            continue
        seen = set()
        for a, b in zip(ni, ki_body):
            if a[0] == t.OP_LOAD_NV:
                seen.add("load")
                ok = (b[0] == t.OP_LOAD_KHR and b[1:4] == a[1:4] and b[5] == a[4] and b[6:] == a[6:]
                      and consts[b[4]] == (1 if bools[a[5]] else 0))
            elif a[0] == t.OP_STORE_NV:
                seen.add("store")
                ok = (b[0] == t.OP_STORE_KHR and b[1:3] == a[1:3] and b[4] == a[3] and b[5:] == a[5:]
                      and consts[b[3]] == (1 if bools[a[4]] else 0))
            elif a[0] == t.OP_MULADD_NV:
                seen.add("muladd")
                ok = b[0] == t.OP_MULADD_KHR and b[1:] == a[1:]
            elif a[0] == t.OP_TYPE_COOPMAT_NV:
                seen.add("type")
                ok = b[0] == t.OP_TYPE_COOPMAT_KHR and b[1:6] == a[1:6] and len(b) == 7
            elif a[0] == t.OP_CAPABILITY and a[1] == t.CAP_COOPMAT_NV:
                ok = b == [t.OP_CAPABILITY, t.CAP_COOPMAT_KHR]
            elif a[0] == t.OP_EXTENSION and t.decode_string(a[1:]) == t.EXT_NV:
                ok = b[0] == t.OP_EXTENSION and t.decode_string(b[1:]) == t.EXT_KHR
            else:
                ok = a == b
            if not ok:
                failures.append(f"{k}: {a[:8]} became {b[:8]}")
                break
        if seen != {"load", "store", "muladd", "type"}:
            failures.append(f"{k}: the NV module lacks some matrix instruction: {sorted(seen)}")

    # Broken modules.
    header, insts = t.split(t.read_words(os.path.join(build, KERNELS[0] + "_coopmat.spv")))
    def broken(edit):
        ins = [list(i) for i in insts]
        edit(ins)
        return t.join(header, ins)
    def drop_muladd_operand(ins):
        i = next(i for i in ins if i[0] == t.OP_MULADD_KHR)
        i.pop()
    def bad_use(ins):
        i = next(i for i in ins if i[0] == t.OP_TYPE_COOPMAT_KHR)
        i[6] = next(c[2] for c in ins if c[0] == t.OP_CONSTANT and len(c) == 4 and c[3] > 2)
    def nv_left(ins):
        i = next(i for i in ins if i[0] == t.OP_MULADD_KHR)
        i[0] = t.OP_MULADD_NV
    def swap_ab(ins):
        i = next(i for i in ins if i[0] == t.OP_MULADD_KHR)
        i[3], i[4] = i[4], i[3]
    for name, edit in [("MulAdd operand dropped", drop_muladd_operand), ("Use out of range", bad_use),
                       ("NV opcode left", nv_left), ("A and B swapped", swap_ab)]:
        expect_fail(name, broken(edit))
    # A matrix type used as A and as B stops the conversion.
    nv_header, nv_insts = t.split(t.read_words(os.path.join(build, KERNELS[0] + "_coopmat_nv.spv")))
    ins = [list(i) for i in nv_insts]
    m = next(i for i in ins if i[0] == t.OP_MULADD_NV)
    m[3], m[4] = m[4], m[3]
    try:
        t.convert(t.join(nv_header, ins))
        failures.append("convert accepted a matrix type used in two roles")
    except t.ConvertError:
        pass

    for f in failures:
        print("FAIL:", f)
    print(f"checked {len(KERNELS)} KHR modules" + ("" if spirv_val else " (no spirv-val: NV modules not validated)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
