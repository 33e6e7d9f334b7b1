/* A tiled shared-memory GEMM with implicit operands (CUDA side of
 * backends/vulkan/shaders/conv/gemm_tiled.glsl): out[m][n] = sum_{k in split} A(m, k) B(k, n).
 *
 * A block computes a GEMM_BM x GEMM_BN tile of out with 256 threads, each
 * owning a 4 x 4 sub-tile (rows 4*(t/16).., columns 4*(t%16)..) accumulated in
 * float registers. Per step of GEMM_BK along k, the block stages A's 64 x 16
 * and B's 16 x 64 slices in shared memory (4 loads per thread each, zero
 * outside the matrix), then every thread does 16 rank-1 updates of its 4 x 4.
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

enum { GEMM_BM = 64, GEMM_BN = 64, GEMM_BK = 16, GEMM_THREADS = 256 };

template <class ALoad, class BLoad, class Store>
__global__ void __launch_bounds__(GEMM_THREADS)
    cu_gemm_tiled_kernel(ALoad a, BLoad b, Store store, int M, int N, int K, int k_per_split)
{
    __shared__ float As[GEMM_BK][GEMM_BM];
    __shared__ float Bs[GEMM_BK][GEMM_BN];
    const int tid = threadIdx.x;
    const int m0 = blockIdx.x * GEMM_BM, n0 = blockIdx.y * GEMM_BN;
    const int k_begin = blockIdx.z * k_per_split;
    const int k_end = k_begin + k_per_split < K ? k_begin + k_per_split : K;
    const int tm = (tid / 16) * 4, tn = (tid % 16) * 4;
    float acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            acc[i][j] = 0.0f;

    for (int k0 = k_begin; k0 < k_end; k0 += GEMM_BK) {
        for (int r = 0; r < (GEMM_BM * GEMM_BK) / GEMM_THREADS; r++) {
            int e = tid + r * GEMM_THREADS;
            int mm = ALoad::k_fastest ? e / GEMM_BK : e % GEMM_BM;
            int kq = ALoad::k_fastest ? e % GEMM_BK : e / GEMM_BM;
            int m = m0 + mm, k = k0 + kq;
            As[kq][mm] = (m < M && k < k_end) ? a(m, k) : 0.0f;
        }
        for (int r = 0; r < (GEMM_BN * GEMM_BK) / GEMM_THREADS; r++) {
            int e = tid + r * GEMM_THREADS;
            int nn = BLoad::k_fastest ? e / GEMM_BK : e % GEMM_BN;
            int kq = BLoad::k_fastest ? e % GEMM_BK : e / GEMM_BN;
            int n = n0 + nn, k = k0 + kq;
            Bs[kq][nn] = (n < N && k < k_end) ? b(k, n) : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int kq = 0; kq < GEMM_BK; kq++) {
            float av[4], bv[4];
            for (int i = 0; i < 4; i++)
                av[i] = As[kq][tm + i];
            for (int j = 0; j < 4; j++)
                bv[j] = Bs[kq][tn + j];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    acc[i][j] += av[i] * bv[j];
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

/* Launches the kernel over an M x N output with `splits` k ranges of
 * k_per_split (a multiple of GEMM_BK). */
template <class ALoad, class BLoad, class Store>
glow_status cu_gemm_tiled(glow_backend *be, const char *op, ALoad a, BLoad b, Store store, int M, int N, int K,
                          int splits, int k_per_split)
{
    if (M <= 0 || N <= 0)
        return GLOW_OK; /* an empty output: nothing to compute */
    dim3 grid((unsigned)((M + GEMM_BM - 1) / GEMM_BM), (unsigned)((N + GEMM_BN - 1) / GEMM_BN), (unsigned)splits);
    cu_gemm_tiled_kernel<ALoad, BLoad, Store><<<grid, GEMM_THREADS, 0, cu_stream(be)>>>(a, b, store, M, N, K,
                                                                                        k_per_split);
    return cu_launched(op);
}

#endif
