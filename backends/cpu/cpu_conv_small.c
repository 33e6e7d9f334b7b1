/* Fast CPU backend: a direct 3x3 convolution for few output channels.
 *
 *   y[p][o] (= or +=) act(bias[o] + sum_{ky,kx,ci} w[o][ky][kx][ci] x[p + (ky-1, kx-1)][ci])
 * for the pixels p in [r0, r1), x (N,H,W,Ci), w (Co,3,3,Ci), y (N,H,W,Co).
 *
 * Where it is used: Co <= CPU_FEW_OUTPUTS_MAX, Ci >= 16 and Ci * Co < 768 -- the
 * zero-initialised conv F -> C and, through the flipped-weight form of
 * backward_data, conv1's input gradient F -> C/2, of the narrow models (128 -> 4,
 * 128 -> 2); wider ones take the stacked-tap GEMM of cpu_conv_taps.c, which
 * measured faster there (cpu_conv.c, use_taps). As an im2col GEMM these have
 * N = Co of 2 to 16 against K = 9F, where oneDNN's sgemm reaches only 3 to 13
 * GFLOP/s per core (tools/bench_cpu_gemm); this kernel keeps the 9 x Ci
 * weights of 4 outputs in L1 and streams each input pixel's channels once per
 * tap; two neighbouring pixels share the weight loads (8 FMAs per 6 loads).
 * On an AVX-512 CPU a 16-lane version runs (chosen at run time), else 8 lanes
 * (an AVX2+FMA clone where the CPU has it).
 *
 * Single-thread CPU time on this machine's real shapes (AVX-512; /tmp bench of
 * the note, oneDNN 2.6 convolution primitives for comparison):
 *                                 old 8-lane, 1 pixel   this kernel   oneDNN 2.6 primitive
 *   report l0 zeroconv 512->4            49.3               80.1           47.4
 *   report l1 zeroconv 512->8            61.2               99.4          106.0
 *   report l0 conv1 dx 512->2            25.4               47.0           18.2 (as backward_data)
 *   rgb l0 zeroconv 128->12              55.4               90.4          133.7
 *   rgb l0 conv1 dx 128->6               43.9               77.9           64.1 (as backward_data)
 * oneDNN is faster at 128->12 and 512->8, but running its primitives per part
 * on the pool is not done yet.
 * (GFLOP/s)
 *
 * Each output is summed in a fixed order (lanes over ci, taps in order, then
 * the lanes in a fixed tree, then the scalar tail), whatever the part boundaries
 * and whether its pixel ran paired; the 8- and 16-lane versions differ from each
 * other (one machine always runs the same one). */
#include "cpu_internal.h"

#include <string.h>

typedef float v8sf __attribute__((vector_size(32)));
typedef float v16sf __attribute__((vector_size(64)));

#if (defined(__x86_64__) || defined(__i386__)) && defined(__has_attribute)
#if __has_attribute(target_clones)
/* An AVX2+FMA clone chosen at load time where the CPU has it (glibc ifunc). */
#define CPU_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define CPU_AVX512 __attribute__((target("arch=x86-64-v4")))
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
#define LOAD16(dst, p) memcpy(&(dst), (p), sizeof(v16sf))
/* the 8-lane tree over the pairwise sums (l_k + l_{k+8}) */
#define HSUM16(v)                                                                                                     \
    (((((v)[0] + (v)[8]) + ((v)[4] + (v)[12])) + (((v)[1] + (v)[9]) + ((v)[5] + (v)[13]))) +                         \
     ((((v)[2] + (v)[10]) + ((v)[6] + (v)[14])) + (((v)[3] + (v)[11]) + ((v)[7] + (v)[15]))))

#define KERNEL_NAME few_outputs_8
#define KERNEL_ATTR CPU_SIMD_CLONES
#define VW 8
#define VF v8sf
#define VLOAD LOAD8
#define VHSUM HSUM8
#include "cpu_conv_small_body.h"
#undef KERNEL_NAME
#undef KERNEL_ATTR
#undef VW
#undef VF
#undef VLOAD
#undef VHSUM

#ifdef CPU_AVX512
#define KERNEL_NAME few_outputs_16
#define KERNEL_ATTR CPU_AVX512
#define VW 16
#define VF v16sf
#define VLOAD LOAD16
#define VHSUM HSUM16
#include "cpu_conv_small_body.h"
#endif

void cpu_conv3x3_few_outputs(const float *x, int H, int W, int Ci, const float *w, int Co, const float *bias, int relu,
                             int accumulate, float *y, size_t r0, size_t r1)
{
#ifdef CPU_AVX512
    static int avx512 = -1; /* a benign race: every thread computes the same value */
    if (avx512 < 0)
        avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    if (avx512) {
        few_outputs_16(x, H, W, Ci, w, Co, bias, relu, accumulate, y, r0, r1);
        return;
    }
#endif
    few_outputs_8(x, H, W, Ci, w, Co, bias, relu, accumulate, y, r0, r1);
}

/* ---- weight gradient of the few-output 3x3 convs -------------------------------------
 *   dw[o][t][ci] += sum_{n,i,j} dy[n][i][j][o] x[n][i+ky-1][j+kx-1][ci]   (t = 3ky + kx, zero padding)
 * for the taps t and channels [c0, c0 + CPU_BW_FEW_CI) of one part, every output o: 4 outputs
 * times 32 channels in 8 accumulators of 16 lanes, one pass over the pixels per 4 outputs.
 * Each sum runs in float over the pixels of one image (in pixel order), then in double
 * over the images (in order); no partial sums cross parts, so nothing depends on the
 * thread count. As an im2col GEMM this is M = Co (4..48) against N = 9 Ci, which
 * oneDNN's sgemm runs at 50-100 GFLOP/s per core (16-row im2col blocks: worse). */
typedef float bw16 __attribute__((vector_size(64)));

CPU_ISA_CLONES
void cpu_conv3x3_few_outputs_dw(const float *x, int N, int H, int W, int Ci, const float *dy, int Co, float *dw,
                                int tap, int c0)
{
    const int ky = tap / 3, kx = tap % 3;
    const int j0 = kx == 0 ? 1 : 0, j1 = kx == 2 ? W - 1 : W; /* pixels whose tap column is inside */
    for (int o0 = 0; o0 < Co; o0 += 4) {
        const int nb = Co - o0 < 4 ? Co - o0 : 4;
        double total[4][CPU_BW_FEW_CI] = {{0}};
        for (int n = 0; n < N; n++) {
            bw16 a[4][2] = {{{0}}};
            for (int i = 0; i < H; i++) {
                int si = i + ky - 1;
                if (si < 0 || si >= H)
                    continue;
                for (int j = j0; j < j1; j++) {
                    const size_t p = ((size_t)n * H + (size_t)i) * W + (size_t)j;
                    const float *xp = x + (((size_t)n * H + (size_t)si) * W + (size_t)(j + kx - 1)) * Ci + c0;
                    const float *g = dy + p * (size_t)Co + o0;
                    bw16 x0, x1;
                    memcpy(&x0, xp, sizeof x0);
                    memcpy(&x1, xp + 16, sizeof x1);
                    for (int b = 0; b < 4; b++) {
                        float gb = b < nb ? g[b] : 0.0f;
                        a[b][0] += gb * x0;
                        a[b][1] += gb * x1;
                    }
                }
            }
            for (int b = 0; b < nb; b++)
                for (int l = 0; l < 16; l++) {
                    total[b][l] += a[b][0][l];
                    total[b][16 + l] += a[b][1][l];
                }
        }
        for (int b = 0; b < nb; b++) {
            float *d = dw + ((size_t)(o0 + b) * 9 + (size_t)tap) * Ci + c0;
            for (int l = 0; l < CPU_BW_FEW_CI; l++)
                d[l] += (float)total[b][l];
        }
    }
}
