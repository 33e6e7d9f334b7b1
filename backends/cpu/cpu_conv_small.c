/* Fast CPU backend: a direct 3x3 convolution for few output channels.
 *
 *   y[p][o] (= or +=) act(bias[o] + sum_{ky,kx,ci} w[o][ky][kx][ci] x[p + (ky-1, kx-1)][ci])
 * for the pixels p in [r0, r1), x (N,H,W,Ci), w (Co,3,3,Ci), y (N,H,W,Co).
 *
 * Where it is used: Co <= CPU_FEW_OUTPUTS_MAX and Ci >= 16 -- the zero-initialised
 * conv F -> C (Co = 2..48, Ci = F) and, through the flipped-weight form of
 * backward_data, conv1's input gradient F -> C/2. As an im2col GEMM these have
 * N = Co of 2 to 16 against K = 9F, where oneDNN's sgemm reaches only 3 to 13
 * GFLOP/s per core (tools/bench_cpu_gemm); this kernel keeps the 9 x Ci
 * weights of 4 outputs in L1 and streams each input pixel's channels once per
 * tap, 4 FMAs per input vector load.
 *
 * Each output is summed in a fixed order (8 lanes over ci, taps in order, then
 * the lanes pairwise, then the scalar tail), whatever the part boundaries. */
#include "cpu_internal.h"

#include <string.h>

typedef float v8sf __attribute__((vector_size(32)));

#if (defined(__x86_64__) || defined(__i386__)) && defined(__has_attribute)
#if __has_attribute(target_clones)
/* An AVX2+FMA clone chosen at load time where the CPU has it (glibc ifunc). */
#define CPU_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef CPU_SIMD_CLONES
#define CPU_SIMD_CLONES
#endif

/* Macros, not functions: a 32-byte vector passed to or returned from a function
 * inside the "default" clone is a psabi error on clang (a warning on GCC). */
#define LOAD8(dst, p) memcpy(&(dst), (p), sizeof(v8sf))
/* ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)) */
#define HSUM8(v) ((((v)[0] + (v)[4]) + ((v)[1] + (v)[5])) + (((v)[2] + (v)[6]) + ((v)[3] + (v)[7])))

CPU_SIMD_CLONES
void cpu_conv3x3_few_outputs(const float *x, int H, int W, int Ci, const float *w, int Co, const float *bias, int relu,
                             int accumulate, float *y, size_t r0, size_t r1)
{
    const size_t hw = (size_t)H * W, wrow = 9 * (size_t)Ci;
    const int vec_end = Ci / 8 * 8;
    for (size_t r = r0; r < r1; r++) {
        size_t n = r / hw, rem = r % hw;
        int i = (int)(rem / (size_t)W), j = (int)(rem % (size_t)W);
        float *yp = y + r * (size_t)Co;
        for (int o0 = 0; o0 < Co; o0 += 4) {
            const int nb = Co - o0 < 4 ? Co - o0 : 4;
            /* missing outputs of the last block repeat its first row; their sums are dropped */
            const float *w0 = w + (size_t)o0 * wrow;
            const float *w1 = nb > 1 ? w0 + wrow : w0, *w2 = nb > 2 ? w0 + 2 * wrow : w0,
                        *w3 = nb > 3 ? w0 + 3 * wrow : w0;
            v8sf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
            float t0 = 0.0f, t1 = 0.0f, t2 = 0.0f, t3 = 0.0f;
            for (int ky = 0; ky < 3; ky++) {
                int si = i + ky - 1;
                if (si < 0 || si >= H)
                    continue;
                for (int kx = 0; kx < 3; kx++) {
                    int sj = j + kx - 1;
                    if (sj < 0 || sj >= W)
                        continue;
                    const float *xp = x + ((n * H + (size_t)si) * W + (size_t)sj) * Ci;
                    const size_t wo = (size_t)(ky * 3 + kx) * Ci;
                    int ci = 0;
                    for (; ci < vec_end; ci += 8) {
                        v8sf xv, wv0, wv1, wv2, wv3;
                        LOAD8(xv, xp + ci);
                        LOAD8(wv0, w0 + wo + ci);
                        LOAD8(wv1, w1 + wo + ci);
                        LOAD8(wv2, w2 + wo + ci);
                        LOAD8(wv3, w3 + wo + ci);
                        a0 += xv * wv0;
                        a1 += xv * wv1;
                        a2 += xv * wv2;
                        a3 += xv * wv3;
                    }
                    for (; ci < Ci; ci++) {
                        float xv = xp[ci];
                        t0 += xv * w0[wo + ci];
                        t1 += xv * w1[wo + ci];
                        t2 += xv * w2[wo + ci];
                        t3 += xv * w3[wo + ci];
                    }
                }
            }
            float s[4] = {HSUM8(a0) + t0, HSUM8(a1) + t1, HSUM8(a2) + t2, HSUM8(a3) + t3};
            for (int b = 0; b < nb; b++) {
                float v = s[b] + (bias ? bias[o0 + b] : 0.0f);
                if (accumulate)
                    v += yp[o0 + b];
                yp[o0 + b] = relu && !(v > 0.0f) ? 0.0f : v;
            }
        }
    }
}
