/* A tiled shared-memory GEMM with implicit operands (CUDA side of
 * backends/vulkan/shaders/conv/gemm_tiled.glsl): out[m][n] = sum_{k in split} A(m, k) B(k, n).
 *
 * A block computes a GEMM_BM x GEMM_BN tile of out with 256 threads. Per step
 * of GEMM_BK along k, the block stages A's 64 x 16 and B's 16 x 64 slices in
 * shared memory (4 loads per thread each, zero outside the matrix), then:
 *   fp32 (cu_gemm_tiled_kernel): each thread owns a 4 x 4 sub-tile (rows
 *     4*(t/16).., columns 4*(t%16)..) in float registers and does 16 rank-1
 *     updates of it;
 *   tf32 (cu_gemm_tf32_kernel, compute capability >= 8.0, --precision tf32):
 *     each of the 8 warps owns a 32 x 16 sub-tile (warp w: rows 32*(w/4)..,
 *     columns 16*(w%4)..) as 2 x 2 tensor-core tiles of 16 x 8, and does
 *     mma.sync.m16n8k8 (operands rounded to tf32, accumulate in fp32) twice per
 *     GEMM_BK. Same staging, same grid, same Store: only the inner product differs.
 *
 * Shared-memory layout (both kernels; cuda_gemm_layout.h, whose bank behaviour
 * tests/test_cuda_host.c checks): As[kq][col], col = mm ^ swz(kq) with
 * swz(kq) = 4 * (kq % 8) (Bs likewise with nn). The XOR keeps every aligned
 * group of 4 columns together (so a thread's 4 values are one 16-byte load)
 * and spreads the staging stores over all 32 banks:
 *   k fastest (consecutive k adjacent in memory): element e of a thread's
 *     loads is kq = (e % 8) + 8 * (e / 512), mm = (e / 8) % 64, so a warp
 *     stores 4 consecutive mm x 8 consecutive kq; bank = (mm ^ 4 kq) % 32 =
 *     4 ((mm/4 ^ kq) % 8) + mm % 4: 32 different banks. (Unswizzled, with the
 *     former mapping of 2 mm x 16 kq, the 64-word row stride put all 16 kq of
 *     an mm in one bank: a 16-way conflict on every staging store.) Each mm
 *     row still reads 8 consecutive floats, one 32-byte sector;
 *   otherwise: mm = e % 64, kq = e / 64: a warp stores 32 consecutive mm of
 *     one kq, which the XOR permutes inside their aligned 32: conflict-free.
 * The fp32 inner loop reads As[kq][tm..tm+3] (2 distinct addresses a warp,
 * broadcast) and Bs[kq][tn..tn+3] (16 distinct 16-byte groups): conflict-free.
 * The tf32 fragment loads read 8 rows x 4 k a warp: 2-way conflicts (the layout
 * is chosen for the fp32 default).
 *
 * The operands are functors, so a convolution's im2col matrix is never built:
 *   A: __device__ float operator()(int m, int k) const, B: (int k, int n);
 *   static constexpr bool k_fastest: whether consecutive k are adjacent in
 *     memory (then the staging loop walks k fastest, else m or n), so that the
 *     loads of a warp coalesce;
 *   Store: __device__ void operator()(int m, int n, float acc, int split) const.
 * Grid: x = ceil(M / 64) row tiles, y = ceil(N / 64) column tiles, z = splits
 * of the k range (split z covers [z * k_per_split, min(K, (z+1) * k_per_split))),
 * each written separately by Store: no atomics, a deterministic result. */
#ifndef GLOW_CUDA_GEMM_H
#define GLOW_CUDA_GEMM_H

#include "cuda_gemm_layout.h"
#include "cuda_precision.h"

/* GEMM_MIN_BLOCKS: 3 resident blocks an SM (24 warps) caps ptxas at 80 registers a
 * thread, without spills (nvcc 13, sm_80/sm_90); uncapped, the unrolled swizzled
 * staging takes up to 105 (2 blocks an SM), and a cap of 4 blocks (64) spills. */
enum { GEMM_MIN_BLOCKS = 3 };

/* Loads one 16 x 64 slice of an operand into tile[kq][swizzled col]: element
 * (kq, c) = load(k0 + kq, base + c), 0 outside [0, limit) x [k0, k_end). */
template <bool KFastest, class Load>
static __device__ __forceinline__ void gemm_stage(float (*tile)[GEMM_BM], Load load, int base, int limit, int k0,
                                                  int k_end)
{
    static_assert(GEMM_BM == GEMM_BN && GEMM_BK == 16 && GEMM_THREADS == 256, "the mappings below assume these");
#pragma unroll
    for (int r = 0; r < (GEMM_BM * GEMM_BK) / GEMM_THREADS; r++) {
        int c, kq;
        gemm_stage_index(KFastest, threadIdx.x + r * GEMM_THREADS, &c, &kq);
        int i = base + c, k = k0 + kq;
        tile[kq][gemm_swizzle(kq, c)] = (i < limit && k < k_end) ? load(i, k) : 0.0f;
    }
}

/* (m, k) / (k, n) adaptors so that gemm_stage sees (row-or-column index, k). */
template <class ALoad> struct gemm_a_rows {
    ALoad a;
    __device__ float operator()(int m, int k) const { return a(m, k); }
};
template <class BLoad> struct gemm_b_cols {
    BLoad b;
    __device__ float operator()(int n, int k) const { return b(k, n); }
};

template <class ALoad, class BLoad, class Store>
__global__ void __launch_bounds__(GEMM_THREADS, GEMM_MIN_BLOCKS)
    cu_gemm_tiled_kernel(ALoad a, BLoad b, Store store, int M, int N, int K, int k_per_split)
{
    __shared__ __align__(16) float As[GEMM_BK][GEMM_BM];
    __shared__ __align__(16) float Bs[GEMM_BK][GEMM_BN];
    const int tid = threadIdx.x;
    const int m0 = blockIdx.x * GEMM_BM, n0 = blockIdx.y * GEMM_BN;
    const int k_begin = blockIdx.z * k_per_split;
    const int k_end = k_begin + k_per_split < K ? k_begin + k_per_split : K;
    const int tm = (tid / 16) * 4, tn = (tid % 16) * 4;
    const gemm_a_rows<ALoad> al = {a};
    const gemm_b_cols<BLoad> bl = {b};
    float acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            acc[i][j] = 0.0f;

    for (int k0 = k_begin; k0 < k_end; k0 += GEMM_BK) {
        gemm_stage<ALoad::k_fastest>(As, al, m0, M, k0, k_end);
        gemm_stage<BLoad::k_fastest>(Bs, bl, n0, N, k0, k_end);
        __syncthreads();
#pragma unroll
        for (int kq = 0; kq < GEMM_BK; kq++) {
            const float4 av = *reinterpret_cast<const float4 *>(&As[kq][gemm_swizzle(kq, tm)]);
            const float4 bv4 = *reinterpret_cast<const float4 *>(&Bs[kq][gemm_swizzle(kq, tn)]);
            const float ar[4] = {av.x, av.y, av.z, av.w}, bv[4] = {bv4.x, bv4.y, bv4.z, bv4.w};
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    acc[i][j] += ar[i] * bv[j];
        }
        __syncthreads();
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            int m = m0 + tm + i, n = n0 + tn + j;
            if (m < M && n < N)
                store(m, n, acc[i][j], (int)blockIdx.z);
        }
}

/* fp32 -> tf32 bits, rounded to nearest (ties away from zero), as cuBLAS and
 * PyTorch's TF32 mode round. */
static __device__ __forceinline__ uint32_t gemm_to_tf32(float x)
{
    uint32_t r;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
#else
    r = __float_as_uint(x); /* not reached: the tf32 kernel is chosen on compute capability >= 8.0 only */
#endif
    return r;
}

/* d += a (16 x 8, row) * b (8 x 8, col), fp32 accumulate. Fragment of lane l,
 * g = l / 4, t = l % 4 (PTX ISA, mma.m16n8k8 .tf32):
 *   a0 (g, t)  a1 (g+8, t)  a2 (g, t+4)  a3 (g+8, t+4)     (row m, column k)
 *   b0 (t, g)  b1 (t+4, g)                                  (row k, column n)
 *   d0 (g, 2t) d1 (g, 2t+1) d2 (g+8, 2t) d3 (g+8, 2t+1)     (row m, column n) */
static __device__ __forceinline__ void gemm_mma_tf32(float d[4], const uint32_t a[4], const uint32_t b[2])
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                 "{%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    /* Not reached: cu_gemm_launch picks this kernel only on compute capability >= 8.0
     * (cu_use_tf32); the compute_75 PTX of the module still has to compile. */
    (void)d;
    (void)a;
    (void)b;
    __trap();
#endif
}

template <class ALoad, class BLoad, class Store>
__global__ void __launch_bounds__(GEMM_THREADS, GEMM_MIN_BLOCKS)
    cu_gemm_tf32_kernel(ALoad a, BLoad b, Store store, int M, int N, int K, int k_per_split)
{
    __shared__ __align__(16) float As[GEMM_BK][GEMM_BM];
    __shared__ __align__(16) float Bs[GEMM_BK][GEMM_BN];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int m0 = blockIdx.x * GEMM_BM, n0 = blockIdx.y * GEMM_BN;
    const int wm = (warp >> 2) * 32, wn = (warp & 3) * 16; /* the warp's 32 x 16 */
    const int k_begin = blockIdx.z * k_per_split;
    const int k_end = k_begin + k_per_split < K ? k_begin + k_per_split : K;
    const gemm_a_rows<ALoad> al = {a};
    const gemm_b_cols<BLoad> bl = {b};
    float acc[2][2][4]; /* [16-row tile][8-column tile][fragment] */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            for (int r = 0; r < 4; r++)
                acc[i][j][r] = 0.0f;

    for (int k0 = k_begin; k0 < k_end; k0 += GEMM_BK) {
        gemm_stage<ALoad::k_fastest>(As, al, m0, M, k0, k_end);
        gemm_stage<BLoad::k_fastest>(Bs, bl, n0, N, k0, k_end);
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < GEMM_BK; kk += 8) {
            uint32_t af[2][4], bf[2][2];
            for (int i = 0; i < 2; i++) {
                const int m = wm + 16 * i + g;
                af[i][0] = gemm_to_tf32(As[kk + t][gemm_swizzle(kk + t, m)]);
                af[i][1] = gemm_to_tf32(As[kk + t][gemm_swizzle(kk + t, m + 8)]);
                af[i][2] = gemm_to_tf32(As[kk + t + 4][gemm_swizzle(kk + t + 4, m)]);
                af[i][3] = gemm_to_tf32(As[kk + t + 4][gemm_swizzle(kk + t + 4, m + 8)]);
            }
            for (int j = 0; j < 2; j++) {
                const int n = wn + 8 * j + g;
                bf[j][0] = gemm_to_tf32(Bs[kk + t][gemm_swizzle(kk + t, n)]);
                bf[j][1] = gemm_to_tf32(Bs[kk + t + 4][gemm_swizzle(kk + t + 4, n)]);
            }
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    gemm_mma_tf32(acc[i][j], af[i], bf[j]);
        }
        __syncthreads();
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            for (int r = 0; r < 4; r++) {
                int m = m0 + wm + 16 * i + g + (r >= 2 ? 8 : 0), n = n0 + wn + 8 * j + 2 * t + (r & 1);
                if (m < M && n < N)
                    store(m, n, acc[i][j][r], (int)blockIdx.z);
            }
}

/* Launches the fp32 or (when the backend was opened with tf32 on a device that
 * has TF32 tensor cores, cuda_state.tf32) the tf32 kernel over an M x N output
 * with `splits` k ranges of k_per_split (a multiple of GEMM_BK). */
template <class ALoad, class BLoad, class Store>
glow_status cu_gemm_tiled(glow_backend *be, const char *op, ALoad a, BLoad b, Store store, int M, int N, int K,
                          int splits, int k_per_split)
{
    if (M <= 0 || N <= 0)
        return GLOW_OK; /* an empty output: nothing to compute */
    dim3 grid((unsigned)((M + GEMM_BM - 1) / GEMM_BM), (unsigned)((N + GEMM_BN - 1) / GEMM_BN), (unsigned)splits);
    if (cu_state(be)->tf32) {
        cu_gemm_tf32_kernel<ALoad, BLoad, Store><<<grid, GEMM_THREADS, 0, cu_stream(be)>>>(a, b, store, M, N, K,
                                                                                           k_per_split);
        return cu_launched(op);
    }
    cu_gemm_tiled_kernel<ALoad, BLoad, Store><<<grid, GEMM_THREADS, 0, cu_stream(be)>>>(a, b, store, M, N, K,
                                                                                        k_per_split);
    return cu_launched(op);
}

#endif
