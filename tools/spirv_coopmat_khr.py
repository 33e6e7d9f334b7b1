#!/usr/bin/env python3
"""Convert a SPIR-V module from SPV_NV_cooperative_matrix to SPV_KHR_cooperative_matrix.

usage: spirv_coopmat_khr.py IN_NV.spv OUT_KHR.spv     convert (and check the result)
       spirv_coopmat_khr.py --check FILE.spv ...      structural check of KHR modules

Why: Debian bookworm's glslang (12.0) compiles GL_NV_cooperative_matrix but not
GL_KHR_cooperative_matrix, and its spirv-tools (2023.1) know no KHR opcode. The
cooperative-matrix GEMM kernels (backends/vulkan/shaders/conv/gemm_coopmat.glsl) are
therefore compiled against the NV extension (and that module is checked by spirv-val
where the build has it), then rewritten here. The two extensions share the types'
semantics; what differs (SPV_KHR_cooperative_matrix and SPV_NV_cooperative_matrix,
SPIR-V registry):

  NV                                            KHR
  Capability CooperativeMatrixNV     5357       CooperativeMatrixKHR          6022
  OpExtension "SPV_NV_cooperative_matrix"       "SPV_KHR_cooperative_matrix"
  OpTypeCooperativeMatrixNV  5358               OpTypeCooperativeMatrixKHR    4456
    Result CompType Scope Rows Cols               Result CompType Scope Rows Cols Use
                                                  (Use: <id> of a 32-bit int constant,
                                                   MatrixA 0, MatrixB 1, Accumulator 2)
  OpCooperativeMatrixLoadNV  5359               OpCooperativeMatrixLoadKHR    4457
    RType Result Ptr Stride ColMajor [Mem]        RType Result Ptr Layout [Stride] [Mem]
  OpCooperativeMatrixStoreNV 5360               OpCooperativeMatrixStoreKHR   4458
    Ptr Object Stride ColMajor [Mem]              Ptr Object Layout [Stride] [Mem]
                                                  (Layout: <id> of a 32-bit int constant,
                                                   RowMajor 0, ColumnMajor 1; NV's
                                                   ColMajor is a bool constant)
  OpCooperativeMatrixMulAddNV 5361              OpCooperativeMatrixMulAddKHR  4459
    RType Result A B C                            RType Result A B C [Operands]
  OpCooperativeMatrixLengthNV 5362              OpCooperativeMatrixLengthKHR  4460
    RType Result Type                             RType Result Type

An NV matrix type has no Use: a KHR type needs one, taken from where the type appears
in OpCooperativeMatrixMulAddNV (A, B, or C/result). A type used in two roles, or in
none, stops the conversion (the shader then needs distinct GLSL types per role).
Both extensions require the Vulkan memory model, which the NV module already declares.
"""
import struct
import sys

MAGIC = 0x07230203

OP_EXTENSION, OP_CAPABILITY = 10, 17
OP_TYPE_INT = 21
OP_CONSTANT_TRUE, OP_CONSTANT_FALSE, OP_CONSTANT = 41, 42, 43
OP_SPEC_CONSTANT_TRUE, OP_SPEC_CONSTANT_FALSE, OP_SPEC_CONSTANT = 48, 49, 50

CAP_COOPMAT_NV, CAP_COOPMAT_KHR = 5357, 6022
OP_TYPE_COOPMAT_NV, OP_LOAD_NV, OP_STORE_NV, OP_MULADD_NV, OP_LENGTH_NV = 5358, 5359, 5360, 5361, 5362
OP_TYPE_COOPMAT_KHR, OP_LOAD_KHR, OP_STORE_KHR, OP_MULADD_KHR, OP_LENGTH_KHR = 4456, 4457, 4458, 4459, 4460
NV_OPS = (OP_TYPE_COOPMAT_NV, OP_LOAD_NV, OP_STORE_NV, OP_MULADD_NV, OP_LENGTH_NV)
EXT_NV, EXT_KHR = "SPV_NV_cooperative_matrix", "SPV_KHR_cooperative_matrix"
USE_A, USE_B, USE_ACC = 0, 1, 2
LAYOUT_ROW, LAYOUT_COL = 0, 1
SCOPE_SUBGROUP = 3

# Opcodes whose first two operands are not (Result Type, Result): debug, annotation,
# mode-setting and type declarations (a type's first operand is its own Result).
NO_RESULT_TYPE = set(range(1, 20)) | set(range(19, 40)) | set(range(71, 78)) | {
    OP_TYPE_COOPMAT_NV, OP_TYPE_COOPMAT_KHR, 5, 6, 7, 8, 322, 323, 331, 332}


class ConvertError(Exception):
    pass


def read_words(path):
    data = open(path, "rb").read()
    if len(data) % 4 or len(data) < 20:
        raise ConvertError(f"{path}: {len(data)} bytes is not a SPIR-V module")
    words = list(struct.unpack(f"<{len(data) // 4}I", data))
    if words[0] != MAGIC:
        words = list(struct.unpack(f">{len(data) // 4}I", data))
    if words[0] != MAGIC:
        raise ConvertError(f"{path}: bad SPIR-V magic 0x{words[0]:08x}")
    return words


def write_words(path, words):
    with open(path, "wb") as f:
        f.write(struct.pack(f"<{len(words)}I", *words))


def split(words):
    """The header (5 words) and the instructions as [opcode, operand words...] lists."""
    insts, i = [], 5
    while i < len(words):
        count, op = words[i] >> 16, words[i] & 0xFFFF
        if count == 0 or i + count > len(words):
            raise ConvertError(f"malformed instruction at word {i}")
        insts.append([op] + list(words[i + 1:i + count]))
        i += count
    return list(words[:5]), insts


def join(header, insts):
    out = list(header)
    for inst in insts:
        out.append(((len(inst)) << 16) | inst[0])
        out.extend(inst[1:])
    return out


def string_words(s):
    b = s.encode() + b"\0"
    b += b"\0" * (-len(b) % 4)
    return list(struct.unpack(f"<{len(b) // 4}I", b))


def decode_string(ws):
    b = struct.pack(f"<{len(ws)}I", *ws)
    return b[:b.index(b"\0")].decode()


def result_types(insts, types):
    """id -> type id, for every instruction with (Result Type, Result)."""
    out = {}
    for inst in insts:
        if inst[0] not in NO_RESULT_TYPE and len(inst) >= 3 and inst[1] in types:
            out[inst[2]] = inst[1]
    return out


def convert(words):
    header, insts = split(words)
    bound = header[3]
    types = {inst[1] for inst in insts if 19 <= inst[0] <= 39 or inst[0] == OP_TYPE_COOPMAT_NV}
    nv_types = {inst[1]: inst for inst in insts if inst[0] == OP_TYPE_COOPMAT_NV}
    if not nv_types:
        raise ConvertError("no OpTypeCooperativeMatrixNV in the module")
    typeof = result_types(insts, types)

    # The use of each NV type, from the MulAdds.
    use = {}

    def claim(t, u, what):
        if t not in nv_types:
            raise ConvertError(f"MulAdd operand {what} is not of a cooperative matrix type")
        if use.setdefault(t, u) != u:
            raise ConvertError(f"cooperative matrix type %{t} is used as both {use[t]} and {u} "
                               "(give each role its own GLSL type)")

    for inst in insts:
        if inst[0] == OP_MULADD_NV:
            rtype, _, a, b, c = inst[1:6]
            claim(typeof.get(a), USE_A, "A")
            claim(typeof.get(b), USE_B, "B")
            claim(typeof.get(c), USE_ACC, "C")
            claim(rtype, USE_ACC, "Result")
    for t in nv_types:
        if t not in use:
            raise ConvertError(f"cooperative matrix type %{t} is not an operand of any MulAdd: its Use is unknown")

    # 32-bit integer constants for Use and Layout, of the scope constant's type, placed
    # before the first matrix type (existing ones reused when defined before it).
    first_type = min(i for i, inst in enumerate(insts) if inst[0] == OP_TYPE_COOPMAT_NV)
    consts = {inst[2]: inst for inst in insts if inst[0] == OP_CONSTANT}
    int_types = {inst[1]: inst for inst in insts if inst[0] == OP_TYPE_INT}
    scope_const = consts.get(nv_types[next(iter(nv_types))][3])
    if scope_const is None or scope_const[1] not in int_types or int_types[scope_const[1]][2] != 32:
        raise ConvertError("matrix scope is not a 32-bit integer OpConstant")
    int_type = scope_const[1]
    available = {}
    for inst in insts[:first_type]:
        if inst[0] == OP_CONSTANT and inst[1] == int_type and len(inst) == 4:
            available.setdefault(inst[3], inst[2])
    new_consts = []

    def int_const(value):
        nonlocal bound
        if value not in available:
            available[value] = bound
            new_consts.append([OP_CONSTANT, int_type, bound, value])
            bound += 1
        return available[value]

    bools = {inst[2]: inst[0] for inst in insts if inst[0] in (OP_CONSTANT_TRUE, OP_CONSTANT_FALSE)}

    def layout_of(col_major_id):
        if col_major_id not in bools:
            raise ConvertError(f"ColumnMajor operand %{col_major_id} is not OpConstantTrue/OpConstantFalse")
        return int_const(LAYOUT_COL if bools[col_major_id] == OP_CONSTANT_TRUE else LAYOUT_ROW)

    out = []
    for inst in insts:
        op = inst[0]
        if op == OP_CAPABILITY and inst[1] == CAP_COOPMAT_NV:
            out.append([OP_CAPABILITY, CAP_COOPMAT_KHR])
        elif op == OP_EXTENSION and decode_string(inst[1:]) == EXT_NV:
            out.append([OP_EXTENSION] + string_words(EXT_KHR))
        elif op == OP_TYPE_COOPMAT_NV:
            res, comp, scope, rows, cols = inst[1:6]
            out.append([OP_TYPE_COOPMAT_KHR, res, comp, scope, rows, cols, int_const(use[res])])
        elif op == OP_LOAD_NV:
            rtype, res, ptr, stride, col_major = inst[1:6]
            out.append([OP_LOAD_KHR, rtype, res, ptr, layout_of(col_major), stride] + inst[6:])
        elif op == OP_STORE_NV:
            ptr, obj, stride, col_major = inst[1:5]
            out.append([OP_STORE_KHR, ptr, obj, layout_of(col_major), stride] + inst[5:])
        elif op == OP_MULADD_NV:
            out.append([OP_MULADD_KHR] + inst[1:6])
        elif op == OP_LENGTH_NV:
            out.append([OP_LENGTH_KHR] + inst[1:4])
        else:
            out.append(list(inst))
    # The new constants go just before the first matrix type (same index in `out`).
    out[first_type:first_type] = new_consts
    header[3] = bound
    result = join(header, out)
    check_khr(result)
    return result


def check_khr(words):
    """Structural check of a KHR cooperative-matrix module (no validator here knows the
    extension): capability and extension declared, no NV instruction left, every KHR
    instruction with its operand count, Use/Layout operands 32-bit integer constants with
    legal values defined before use, MulAdd operands of the matching Use and shapes
    (A MxK, B KxN, C and Result MxN), scope Subgroup, ids below the bound."""
    header, insts = split(words)
    bound = header[3]
    if header[1] < 0x00010300:
        raise ConvertError("SPV_KHR_cooperative_matrix requires SPIR-V 1.3 or later")
    caps = [inst[1] for inst in insts if inst[0] == OP_CAPABILITY]
    exts = [decode_string(inst[1:]) for inst in insts if inst[0] == OP_EXTENSION]
    if CAP_COOPMAT_KHR not in caps:
        raise ConvertError("no CooperativeMatrixKHR capability")
    if CAP_COOPMAT_NV in caps or EXT_NV in exts:
        raise ConvertError("NV capability or extension left")
    if EXT_KHR not in exts:
        raise ConvertError(f'no OpExtension "{EXT_KHR}"')
    if 5345 not in caps:  # VulkanMemoryModel
        raise ConvertError("no VulkanMemoryModel capability (required with the Shader capability)")
    defined, consts, types, int32 = set(), {}, {}, set()
    for inst in insts:
        op = inst[0]
        if op in NV_OPS:
            raise ConvertError(f"NV opcode {op} left")
        if op == OP_TYPE_INT and inst[2] == 32:
            int32.add(inst[1])
        if op == OP_CONSTANT and inst[1] in int32 and len(inst) == 4:
            consts[inst[2]] = inst[3]
        if op == OP_TYPE_COOPMAT_KHR:
            if len(inst) != 7:
                raise ConvertError(f"OpTypeCooperativeMatrixKHR with {len(inst) - 1} operands, not 6")
            res, comp, scope, rows, cols, use = inst[1:]
            for ident in (comp, scope, rows, cols, use):
                if ident not in defined:
                    raise ConvertError(f"OpTypeCooperativeMatrixKHR %{res} uses %{ident} before its definition")
            if consts.get(use) not in (USE_A, USE_B, USE_ACC):
                raise ConvertError(f"matrix type %{res}: Use %{use} is not a 32-bit constant 0, 1 or 2")
            if consts.get(scope) != SCOPE_SUBGROUP:
                raise ConvertError(f"matrix type %{res}: scope is not Subgroup")
            types[res] = (comp, rows, cols, consts[use])
        if op == OP_LOAD_KHR and not 5 <= len(inst) - 1 <= 8:
            raise ConvertError(f"OpCooperativeMatrixLoadKHR with {len(inst) - 1} operands")
        if op == OP_STORE_KHR and not 3 <= len(inst) - 1 <= 6:
            raise ConvertError(f"OpCooperativeMatrixStoreKHR with {len(inst) - 1} operands")
        if op == OP_LOAD_KHR and consts.get(inst[4]) not in (LAYOUT_ROW, LAYOUT_COL):
            raise ConvertError(f"load %{inst[2]}: MemoryLayout %{inst[4]} is not a 32-bit constant 0 or 1")
        if op == OP_LOAD_KHR and inst[1] not in types:
            raise ConvertError(f"load %{inst[2]}: result type is not a cooperative matrix type")
        if op == OP_STORE_KHR and consts.get(inst[3]) not in (LAYOUT_ROW, LAYOUT_COL):
            raise ConvertError(f"store: MemoryLayout %{inst[3]} is not a 32-bit constant 0 or 1")
        if op == OP_MULADD_KHR and len(inst) - 1 not in (5, 6):
            raise ConvertError(f"OpCooperativeMatrixMulAddKHR with {len(inst) - 1} operands")
        if op == OP_LENGTH_KHR and len(inst) - 1 != 3:
            raise ConvertError(f"OpCooperativeMatrixLengthKHR with {len(inst) - 1} operands")
        if op not in NO_RESULT_TYPE and len(inst) >= 3:
            defined.add(inst[2])
        elif 19 <= op <= 39 or op == OP_TYPE_COOPMAT_KHR or op == 11:  # OpExtInstImport
            defined.add(inst[1])
    typeof = result_types(insts, set(types) | {i[1] for i in insts if 19 <= i[0] <= 39})
    n_muladd = 0
    for inst in insts:
        if inst[0] == OP_MULADD_KHR:
            n_muladd += 1
            rtype, _, a, b, c = inst[1:6]
            ta, tb, tc = (types.get(typeof.get(v)) for v in (a, b, c))
            tr = types.get(rtype)
            if None in (ta, tb, tc, tr):
                raise ConvertError("MulAdd operand not of a cooperative matrix type")
            if (ta[3], tb[3], tc[3], tr[3]) != (USE_A, USE_B, USE_ACC, USE_ACC):
                raise ConvertError("MulAdd operands' Use is not (MatrixA, MatrixB, Accumulator)")
            # Shapes: A rows x K, B K x cols, C and Result rows x cols (same <id>s).
            if not (ta[1] == tc[1] == tr[1] and tb[2] == tc[2] == tr[2] and ta[2] == tb[1]):
                raise ConvertError("MulAdd operand shapes do not chain (A MxK, B KxN, C MxN)")
    if n_muladd == 0:
        raise ConvertError("no OpCooperativeMatrixMulAddKHR")
    if any(inst[2] >= bound for inst in insts if inst[0] not in NO_RESULT_TYPE and len(inst) >= 3):
        raise ConvertError("an id at or above the module's bound")
    return True


def main(argv):
    try:
        if len(argv) >= 3 and argv[1] == "--check":
            for path in argv[2:]:
                check_khr(read_words(path))
            return 0
        if len(argv) != 3:
            sys.stderr.write(__doc__)
            return 2
        write_words(argv[2], convert(read_words(argv[1])))
        return 0
    except ConvertError as e:
        sys.stderr.write(f"spirv_coopmat_khr: {argv[-1] if len(argv) > 1 else ''}: {e}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
