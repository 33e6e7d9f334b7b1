// Cooperative-matrix GEMM core (VK_GEMM_COOPMAT, opt-in with precision tf32): the same
// interface as gemm_tiled.glsl, which includes this file instead of its own body when
// the build compiles a kernel with -DGLOW_GEMM_COOPMAT=1:
//   C[m][n] = sum_{k_begin <= k < k_end} A[m][k] * B[k][n]
// for the BM x BN block of C at (m0, n0), returned as the same 4x4 register block per
// invocation (rows m0 + tm + i*(BM/4), columns n0 + tn + j*(BN/4)), so that a kernel's
// epilogue (bias, ReLU, +=, split-K partials) is shared by both variants.
//
// Precision: A and B are rounded to fp16 (11-bit significand, as TF32; range 2^-24 ..
// 65504) when staged, products are summed in fp32 by the matrix units. Per element,
// |C - C_fp32| <= sum_k (|dA||B| + |A||dB| + |dA||dB|) + fp32 accumulation error, with
// |dA| <= max(2^-11 |A|, 2^-25) (round to nearest; the 2^-25 is fp16's subnormal step/2).
//
// Layout: a workgroup of (BM/4)*(BN/4) invocations (a multiple of any subgroup size
// up to 64) stages BK-deep slices of A (sh_a[mm][kk], fp16) and B (sh_b[kk][nn], fp16)
// in shared memory; the BM x BN block is cut into (BM/TM) x (BN/TN) cooperative tiles of
// TM x TN (the device's M x N; K steps of TK), which the subgroups share round-robin:
// tile t = pass*S*COOP_TILES + j*S + subgroup (S subgroups, j < COOP_TILES accumulators
// per subgroup; more passes over K when the tiles outnumber S*COOP_TILES). Each
// accumulator is stored to sh_c (fp32, row-major BM x BN), which the invocations then
// read back as their register block.
//
// Written against GL_NV_cooperative_matrix (what Debian bookworm's glslang knows); the
// build converts the module to SPV_KHR_cooperative_matrix (tools/spirv_coopmat_khr.py)
// and keeps the NV module for drivers that expose only VK_NV_cooperative_matrix.

#ifndef GLOW_GEMM_COOPMAT_GLSL
#define GLOW_GEMM_COOPMAT_GLSL

#if GLOW_GEMM_COOPMAT_EMULATE
// Test build (*_coopmat_emu, $GLOW_VK_COOPMAT_EMULATE): every cooperative operation is done
// by the subgroup's lanes in plain code (lane l owns the tile elements l, l + S, ...), the
// accumulators live in sh_c. It runs this file's staging, tiling and indexing on drivers
// without matrix units (lavapipe) against the reference; it is no product path.
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#else
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#endif

layout(constant_id = 3) const uint BM = 64;
layout(constant_id = 4) const uint BN = 64;
layout(constant_id = 5) const uint BK = 16;
layout(constant_id = 6) const uint TM = 16; // cooperative matrix shape (device's M x N x K)
layout(constant_id = 7) const uint TN = 16;
layout(constant_id = 8) const uint TK = 16;

#define COOP_TILES 4u // accumulators per subgroup and pass
// Shared rows padded by 8 halves: 16-byte aligned rows and offsets for the loads.
const uint SA = BK + 8u; // halves per row of sh_a
const uint SB = BN + 8u; // halves per row of sh_b

shared float16_t sh_a[BM * SA];
shared float16_t sh_b[BK * SB];
shared float sh_c[BM * BN];

#if GLOW_GEMM_COOPMAT_EMULATE
// The emulated operations on the TM x TN tile at sh_c[c_off] (row-major, stride BN).
void emu_zero(uint c_off)
{
    for (uint e = gl_SubgroupInvocationID; e < TM * TN; e += gl_SubgroupSize)
        sh_c[c_off + (e / TN) * BN + e % TN] = 0.0;
}
// C += A (TM x TK at sh_a[a_off], row stride SA) * B (TK x TN at sh_b[b_off], row stride SB).
void emu_mul_add(uint a_off, uint b_off, uint c_off)
{
    for (uint e = gl_SubgroupInvocationID; e < TM * TN; e += gl_SubgroupSize) {
        uint r = e / TN, col = e % TN;
        float sum = 0.0;
        for (uint q = 0u; q < TK; q++)
            sum += float(sh_a[a_off + r * SA + q]) * float(sh_b[b_off + q * SB + col]);
        sh_c[c_off + r * BN + col] += sum;
    }
}
#endif

void gemm_tiled_block(uint m0, uint n0, uint k_begin, uint k_end, out float acc[16])
{
    uint threads = (BM / 4u) * (BN / 4u);
    uint tid = gl_LocalInvocationIndex;
    uint tiles_m = BM / TM;
    uint tiles = tiles_m * (BN / TN);
    uint per_pass = gl_NumSubgroups * COOP_TILES;

    for (uint first = 0u; first < tiles; first += per_pass) {
#if GLOW_GEMM_COOPMAT_EMULATE
        for (uint j = 0u; j < COOP_TILES; j++) {
            uint t = first + j * gl_NumSubgroups + gl_SubgroupID;
            if (t < tiles)
                emu_zero((t % tiles_m) * TM * BN + (t / tiles_m) * TN);
        }
#else
        fcoopmatNV<32, gl_ScopeSubgroup, TM, TN> c[COOP_TILES];
        for (uint j = 0u; j < COOP_TILES; j++)
            c[j] = fcoopmatNV<32, gl_ScopeSubgroup, TM, TN>(0.0);
#endif

        for (uint k0 = k_begin; k0 < k_end; k0 += BK) {
            for (uint e = tid; e < BK * BM; e += threads) {
#if GEMM_A_K_FAST
                uint kk = e % BK, mm = e / BK;
#else
                uint mm = e % BM, kk = e / BM;
#endif
                uint k = k0 + kk;
                sh_a[mm * SA + kk] = float16_t(k < k_end ? gemm_load_a(m0 + mm, k) : 0.0);
            }
            for (uint e = tid; e < BK * BN; e += threads) {
#if GEMM_B_K_FAST
                uint kk = e % BK, nn = e / BK;
#else
                uint nn = e % BN, kk = e / BN;
#endif
                uint k = k0 + kk;
                sh_b[kk * SB + nn] = float16_t(k < k_end ? gemm_load_b(k, n0 + nn) : 0.0);
            }
            barrier();
            for (uint j = 0u; j < COOP_TILES; j++) {
                uint t = first + j * gl_NumSubgroups + gl_SubgroupID; // uniform in the subgroup
                if (t < tiles) {
                    uint tr = t % tiles_m, tc = t / tiles_m;
                    for (uint kk = 0u; kk < BK; kk += TK) {
#if GLOW_GEMM_COOPMAT_EMULATE
                        emu_mul_add(tr * TM * SA + kk, kk * SB + tc * TN, tr * TM * BN + tc * TN);
#else
                        fcoopmatNV<16, gl_ScopeSubgroup, TM, TK> a;
                        fcoopmatNV<16, gl_ScopeSubgroup, TK, TN> b;
                        coopMatLoadNV(a, sh_a, tr * TM * SA + kk, SA, false);
                        coopMatLoadNV(b, sh_b, kk * SB + tc * TN, SB, false);
                        c[j] = coopMatMulAddNV(a, b, c[j]);
#endif
                    }
                }
            }
            barrier();
        }
#if !GLOW_GEMM_COOPMAT_EMULATE
        for (uint j = 0u; j < COOP_TILES; j++) {
            uint t = first + j * gl_NumSubgroups + gl_SubgroupID;
            if (t < tiles) {
                uint tr = t % tiles_m, tc = t / tiles_m;
                coopMatStoreNV(c[j], sh_c, tr * TM * BN + tc * TN, BN, false);
            }
        }
#endif
    }
    barrier();
    uint tm = tid % (BM / 4u), tn = tid / (BM / 4u);
    for (uint i = 0u; i < 4u; i++)
        for (uint j = 0u; j < 4u; j++)
            acc[i * 4u + j] = sh_c[(tm + i * (BM / 4u)) * BN + tn + j * (BN / 4u)];
}

// Row / column of C held in acc[i * 4 + j] (as in gemm_tiled.glsl).
uint gemm_tiled_row(uint m0, uint i)
{
    return m0 + gl_LocalInvocationIndex % (BM / 4u) + i * (BM / 4u);
}
uint gemm_tiled_col(uint n0, uint j)
{
    return n0 + gl_LocalInvocationIndex / (BM / 4u) + j * (BN / 4u);
}

#endif
