/* The shared-memory layout of the tiled GEMM (cuda_gemm.h), in plain C so that
 * tests/test_cuda_host.c checks its bank behaviour on the host: which element a
 * thread stages, and where it lands. The reasoning is at the top of cuda_gemm.h.
 *
 * A slice is 16 (k) x 64 (m or n) floats, As[kq][col] with a 64-word row;
 * shared memory has 32 banks of 4 bytes, bank(word) = word % 32. */
#ifndef GLOW_CUDA_GEMM_LAYOUT_H
#define GLOW_CUDA_GEMM_LAYOUT_H

#ifdef __CUDACC__
#define GEMM_HD static inline __host__ __device__
#else
#define GEMM_HD static inline
#endif

enum { GEMM_BM = 64, GEMM_BN = 64, GEMM_BK = 16, GEMM_THREADS = 256 };

/* Column of element (kq, col) in the swizzled tile: the XOR with 4 (kq % 8) keeps
 * aligned groups of 4 columns together (16-byte loads) and spreads the stores. */
GEMM_HD int gemm_swizzle(int kq, int col)
{
    return col ^ ((kq & 7) << 2);
}

/* Element e (0 .. 1023; thread t stages e = t + 256 r, r < 4) of a slice: its
 * column *col (m or n within the tile) and *kq. k fastest in memory: a warp takes
 * 4 columns x 8 consecutive k (32-byte rows); otherwise 32 consecutive columns of one k. */
GEMM_HD void gemm_stage_index(int k_fastest, int e, int *col, int *kq)
{
    *col = k_fastest ? (e >> 3) & 63 : e & 63;
    *kq = k_fastest ? (e & 7) + ((e >> 9) << 3) : e >> 6;
}

/* Word offset of (kq, col) in a slice. */
GEMM_HD int gemm_word(int kq, int col)
{
    return kq * GEMM_BM + gemm_swizzle(kq, col);
}

#undef GEMM_HD
#endif
