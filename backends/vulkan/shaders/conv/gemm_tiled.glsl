// Shared-memory tiled SGEMM core for the GEMM-shaped kernels on GPUs (VK_GEMM_TILED):
//   C[m][n] = sum_{k_begin <= k < k_end} A[m][k] * B[k][n]
// for the BM x BN block of C at (m0, n0). A workgroup of (BM/4)*(BN/4) invocations
// stages BK-deep slices of A and B in shared memory (tile_a[kk][mm], tile_b[kk][nn])
// and each invocation accumulates a 4x4 register block: rows m0 + tm + i*(BM/4),
// columns n0 + tn + j*(BN/4) (strided so that neighbouring invocations read
// neighbouring shared-memory words).
//
// The includer defines, before including this file:
//   float gemm_load_a(uint m, uint k);  // A[m][k], 0 when m is outside
//   float gemm_load_b(uint k, uint n);  // B[k][n], 0 when n is outside
//   GEMM_A_K_FAST / GEMM_B_K_FAST: 1 when consecutive k are adjacent in memory
//   (consecutive invocations then load along k), 0 when m / n are.
// Tile sizes are specialization constants 3..5; local_size_x (id 0) must be
// (BM/4)*(BN/4), which the host guarantees.
//
// Built with -DGLOW_GEMM_COOPMAT=1 (the *_coopmat kernels), the same functions come from
// gemm_coopmat.glsl: fp16 cooperative matrices with fp32 accumulation.

#ifndef GLOW_GEMM_TILED_GLSL
#define GLOW_GEMM_TILED_GLSL
#if GLOW_GEMM_COOPMAT
#include "gemm_coopmat.glsl"
#else

layout(constant_id = 3) const uint BM = 64;
layout(constant_id = 4) const uint BN = 64;
layout(constant_id = 5) const uint BK = 16;

shared float tile_a[BK * BM];
shared float tile_b[BK * BN];

// acc[i * 4 + j] = C block element (row i, column j) of this invocation.
void gemm_tiled_block(uint m0, uint n0, uint k_begin, uint k_end, out float acc[16])
{
    uint threads = (BM / 4u) * (BN / 4u);
    uint tid = gl_LocalInvocationIndex;
    uint tm = tid % (BM / 4u);
    uint tn = tid / (BM / 4u);
    for (uint e = 0u; e < 16u; e++)
        acc[e] = 0.0;

    for (uint k0 = k_begin; k0 < k_end; k0 += BK) {
        for (uint e = tid; e < BK * BM; e += threads) {
#if GEMM_A_K_FAST
            uint kk = e % BK, mm = e / BK;
#else
            uint mm = e % BM, kk = e / BM;
#endif
            uint k = k0 + kk;
            tile_a[kk * BM + mm] = k < k_end ? gemm_load_a(m0 + mm, k) : 0.0;
        }
        for (uint e = tid; e < BK * BN; e += threads) {
#if GEMM_B_K_FAST
            uint kk = e % BK, nn = e / BK;
#else
            uint nn = e % BN, kk = e / BN;
#endif
            uint k = k0 + kk;
            tile_b[kk * BN + nn] = k < k_end ? gemm_load_b(k, n0 + nn) : 0.0;
        }
        barrier();
        for (uint kk = 0u; kk < BK; kk++) {
            float a[4], b[4];
            for (uint i = 0u; i < 4u; i++)
                a[i] = tile_a[kk * BM + tm + i * (BM / 4u)];
            for (uint j = 0u; j < 4u; j++)
                b[j] = tile_b[kk * BN + tn + j * (BN / 4u)];
            for (uint i = 0u; i < 4u; i++)
                for (uint j = 0u; j < 4u; j++)
                    acc[i * 4u + j] = fma(a[i], b[j], acc[i * 4u + j]);
        }
        barrier();
    }
}

// Row / column of C held in acc[i * 4 + j].
uint gemm_tiled_row(uint m0, uint i)
{
    return m0 + gl_LocalInvocationIndex % (BM / 4u) + i * (BM / 4u);
}
uint gemm_tiled_col(uint n0, uint j)
{
    return n0 + gl_LocalInvocationIndex / (BM / 4u) + j * (BN / 4u);
}

#endif // GLOW_GEMM_COOPMAT
#endif
