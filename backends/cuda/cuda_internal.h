/* CUDA backend: shared state, helpers and the op entries of each family file
 * (C++/CUDA; included by the .cu files only).
 *
 * A CUDA buffer is one cudaMalloc allocation; glow_buffer.impl points at a host
 * cuda_buffer {device pointer, bytes}. Tensors are float32 NHWC, so a tensor's
 * data is cu_data(t)[0 .. glow_tensor_count(t)), element (n, y, x, c) at
 * ((n*H + y)*W + x)*C + c. Offsets are arbitrary float offsets: no kernel
 * assumes more than 4-byte alignment.
 *
 * Execution: every kernel and copy goes to the backend's one stream in program
 * order; download and sync wait for it. Kernels use grid-stride loops with
 * 64-bit indices. Reductions are deterministic (fixed-order partial sums in
 * double, then a fixed-order combine; no float atomics anywhere), so a run
 * gives bit-identical results on the same device and shapes. */
#ifndef GLOW_CUDA_INTERNAL_H
#define GLOW_CUDA_INTERNAL_H

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "glow/backend.h"
}
#include "cuda_module.h"

/* ---- host side -------------------------------------------------------------- */

struct cuda_buffer {
    void *ptr;    /* device memory */
    size_t bytes; /* as allocated */
};

#include "cuda_step.h"

struct cuda_state {
    int device;
    cudaStream_t stream;
    size_t current_bytes, peak_bytes; /* buffers and scratch */
    void *scratch;                    /* per-op temporary memory, grown on demand */
    size_t scratch_bytes;
    int sm_count;
    int tf32;                         /* GEMMs on TF32 tensor cores (cuda_precision.h), fixed at open */
    cu_step step;                     /* step graphs and launch counters (cuda_step.h) */
};

static inline cuda_state *cu_state(glow_backend *be)
{
    return (cuda_state *)be->impl;
}

static inline cudaStream_t cu_stream(glow_backend *be)
{
    return cu_state(be)->stream;
}

static inline float *cu_data(glow_tensor t)
{
    return (float *)((cuda_buffer *)t.buf->impl)->ptr + t.off;
}

/* NULL for an absent optional operand. */
static inline float *cu_data_or_null(glow_tensor t)
{
    return t.buf ? cu_data(t) : NULL;
}

static inline const uint8_t *cu_bytes(const glow_buffer *buf, size_t byte_off)
{
    return (const uint8_t *)((const cuda_buffer *)buf->impl)->ptr + byte_off;
}

/* The core's glow_error (through the host API given at module init). */
glow_status cu_error(glow_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* After a launch: GLOW_ERR_BACKEND "cuda <op>: kernel launch failed: ..." when it failed.
 * Counts the launch against the backend whose entry is running on this thread
 * (cu_step.counts: launched eagerly, or captured into a step graph). */
glow_status cu_launched(const char *op);

/* `bytes` of device scratch valid until the next op (ops run in stream order,
 * so one region is reused by every op). Growing it frees the old region, which
 * waits for the kernels still using it. */
glow_status cu_scratch(glow_backend *be, size_t bytes, const char *op, void **out);

enum { CU_THREADS = 256 };

/* Blocks for a grid-stride loop over n items with CU_THREADS threads a block. */
static inline unsigned cu_blocks(size_t n)
{
    size_t b = (n + CU_THREADS - 1) / CU_THREADS;
    if (b < 1)
        b = 1;
    if (b > 65536)
        b = 65536;
    return (unsigned)b;
}

#define CU_FOR_EACH(i, n) \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

/* ---- block reduction ---------------------------------------------------------- */

/* Sum of v over a block of CU_THREADS threads (a power of two) by a binary tree
 * in shared memory: always the same pairs in the same order. Every thread
 * calls it and gets the total. Once per kernel: a second call could overwrite
 * shared[0] before a slower thread has read it. */
static __device__ __forceinline__ double cu_block_sum(double v, double *shared /* CU_THREADS */)
{
    shared[threadIdx.x] = v;
    __syncthreads();
    for (unsigned half = CU_THREADS / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half)
            shared[threadIdx.x] += shared[threadIdx.x + half];
        __syncthreads();
    }
    return shared[0];
}

/* ---- per-channel reductions over the P pixels of a (P, C) tensor ------------- *
 * Stage 1: grid (ceil(C/32), S chunks of rows), block 32 x 8: lane x owns
 * channel c = 32*blockIdx.x + x, lane y sums rows r0+y, r0+y+8, ... of its chunk
 * (in double); the 8 row lanes are added in order and written to
 * partial[(chunk*K + k)*C + c]. Stage 2: one thread per channel adds the S
 * chunk sums in order and hands the K totals to the finisher.
 * Term functor: __device__ void operator()(size_t p, int c, double acc[K]) adds
 * its K terms for pixel p, channel c. Finisher: __device__ void
 * operator()(int c, const double sum[K]). */
enum { CU_COL_LANES = 32, CU_COL_ROWS = 8 };

template <int K, class Term>
__global__ void cu_column_partial_kernel(Term term, size_t pixels, int channels, size_t rows_per_chunk,
                                         double *partial)
{
    __shared__ double rows[K][CU_COL_ROWS][CU_COL_LANES];
    int c = blockIdx.x * CU_COL_LANES + threadIdx.x;
    size_t r0 = (size_t)blockIdx.y * rows_per_chunk;
    size_t r1 = r0 + rows_per_chunk < pixels ? r0 + rows_per_chunk : pixels;
    double acc[K];
    for (int k = 0; k < K; k++)
        acc[k] = 0.0;
    if (c < channels)
        for (size_t p = r0 + threadIdx.y; p < r1; p += CU_COL_ROWS)
            term(p, c, acc);
    for (int k = 0; k < K; k++)
        rows[k][threadIdx.y][threadIdx.x] = acc[k];
    __syncthreads();
    if (threadIdx.y == 0 && c < channels)
        for (int k = 0; k < K; k++) {
            double s = 0.0;
            for (int y = 0; y < CU_COL_ROWS; y++)
                s += rows[k][y][threadIdx.x];
            partial[((size_t)blockIdx.y * K + k) * channels + c] = s;
        }
}

template <int K, class Finish>
__global__ void cu_column_finish_kernel(Finish finish, const double *partial, int chunks, int channels)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= channels)
        return;
    double sum[K];
    for (int k = 0; k < K; k++) {
        double s = 0.0;
        for (int chunk = 0; chunk < chunks; chunk++)
            s += partial[((size_t)chunk * K + k) * channels + c];
        sum[k] = s;
    }
    finish(c, sum);
}

/* Chunks of at least 512 rows, at most 128 chunks: the split depends on the
 * shape only, so results do not depend on the device. */
static inline int cu_row_chunks(size_t rows)
{
    size_t chunks = (rows + 511) / 512;
    if (chunks < 1)
        chunks = 1;
    if (chunks > 128)
        chunks = 128;
    return (int)chunks;
}

/* Bytes of double partials cu_column_reduce_in needs for K sums of C channels. */
static inline size_t cu_column_scratch_bytes(size_t pixels, int channels, int K)
{
    return (size_t)cu_row_chunks(pixels) * K * channels * sizeof(double);
}

/* The reduction with its partials in `partial` (cu_column_scratch_bytes). */
template <int K, class Term, class Finish>
glow_status cu_column_reduce_in(glow_backend *be, const char *op, size_t pixels, int channels, Term term,
                                Finish finish, double *partial)
{
    if (channels <= 0)
        return GLOW_OK;
    int chunks = cu_row_chunks(pixels);
    size_t rows_per_chunk = (pixels + chunks - 1) / chunks;
    if (rows_per_chunk == 0)
        rows_per_chunk = 1;
    dim3 grid((unsigned)((channels + CU_COL_LANES - 1) / CU_COL_LANES), (unsigned)chunks);
    dim3 block(CU_COL_LANES, CU_COL_ROWS);
    cu_column_partial_kernel<K, Term><<<grid, block, 0, cu_stream(be)>>>(term, pixels, channels, rows_per_chunk,
                                                                         partial);
    GLOW_TRY(cu_launched(op));
    cu_column_finish_kernel<K, Finish><<<(unsigned)((channels + 127) / 128), 128, 0, cu_stream(be)>>>(
        finish, partial, chunks, channels);
    return cu_launched(op);
}

/* The reduction with its partials in the backend's scratch region. */
template <int K, class Term, class Finish>
glow_status cu_column_reduce(glow_backend *be, const char *op, size_t pixels, int channels, Term term,
                             Finish finish)
{
    void *scratch;
    GLOW_TRY(cu_scratch(be, cu_column_scratch_bytes(pixels, channels, K), op, &scratch));
    return cu_column_reduce_in<K>(be, op, pixels, channels, term, finish, (double *)scratch);
}

/* ---- per-sample reductions --------------------------------------------------- *
 * out[n] += (float) sum_{e < per_sample} term(n, e) for n < samples. Stage 1:
 * grid (S chunks, samples), CU_THREADS threads: each thread sums its strided
 * share of the chunk in double, then cu_block_sum; partial[n*S + chunk].
 * Stage 2: one thread per sample adds its S partials in order.
 * Term functor: __device__ double operator()(int n, size_t e). */
template <class Term>
__global__ void cu_sample_partial_kernel(Term term, size_t per_sample, size_t per_chunk, double *partial)
{
    __shared__ double shared[CU_THREADS];
    int n = blockIdx.y;
    size_t e0 = (size_t)blockIdx.x * per_chunk;
    size_t e1 = e0 + per_chunk < per_sample ? e0 + per_chunk : per_sample;
    double acc = 0.0;
    for (size_t e = e0 + threadIdx.x; e < e1; e += CU_THREADS)
        acc += term(n, e);
    double total = cu_block_sum(acc, shared);
    if (threadIdx.x == 0)
        partial[(size_t)n * gridDim.x + blockIdx.x] = total;
}

/* (A template only so that every file that uses it gets its own instance.) */
template <class Term>
__global__ void cu_sample_finish_kernel(const double *partial, int chunks, int samples, float *out)
{
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= samples)
        return;
    double s = 0.0;
    for (int chunk = 0; chunk < chunks; chunk++)
        s += partial[(size_t)n * chunks + chunk];
    out[n] += (float)s;
}

template <class Term>
glow_status cu_sample_reduce(glow_backend *be, const char *op, int samples, size_t per_sample, Term term, float *out)
{
    if (samples <= 0)
        return GLOW_OK;
    /* Chunks of at least 4096 elements, at most 64 per sample. */
    size_t chunks = (per_sample + 4095) / 4096;
    if (chunks < 1)
        chunks = 1;
    if (chunks > 64)
        chunks = 64;
    size_t per_chunk = (per_sample + chunks - 1) / chunks;
    if (per_chunk == 0)
        per_chunk = 1;
    void *scratch;
    GLOW_TRY(cu_scratch(be, (size_t)samples * chunks * sizeof(double), op, &scratch));
    double *partial = (double *)scratch;
    dim3 grid((unsigned)chunks, (unsigned)samples);
    cu_sample_partial_kernel<Term><<<grid, CU_THREADS, 0, cu_stream(be)>>>(term, per_sample, per_chunk, partial);
    GLOW_TRY(cu_launched(op));
    cu_sample_finish_kernel<Term><<<(unsigned)((samples + 127) / 128), 128, 0, cu_stream(be)>>>(partial, (int)chunks,
                                                                                          samples, out);
    return cu_launched(op);
}

/* ---- op entries (semantics: glow/ops.def) --------------------------------------- */

/* cu_<name> for every GLOW_OP of glow/ops.def, each in the cuda_<family>.cu file of
 * its section there; the GLOW_CORE entries (cuda_<name>) are in cuda_backend.cu. */
#define GLOW_CORE(name, ret, params)
#define GLOW_OP(name, ret, params) ret cu_##name params;
#include "glow/ops.def"

#endif
