/* Fast CPU backend ("cpu"): shared state, helpers and the op entries of each
 * family file. The op semantics are those of glow/backend.h; backends/ref is
 * the oracle this backend is tested against.
 *
 * Memory and layout are those of the reference: one 64-byte aligned host
 * allocation per buffer, glow_buffer.impl at its first data byte, float32
 * NHWC tensors, element (n, y, x, c) at ((n*H + y)*W + x)*C + c.
 *
 * Parallelism: one persistent pool of worker threads per backend
 * (cpu_threads.c). Work is cut into parts whose boundaries depend only on the
 * problem size, never on the thread count, and every reduction sums its
 * per-part partials in part order; so a result does not depend on how many
 * threads ran it (tests/test_backend_model.c checks this). GEMM-shaped work goes
 * to single-threaded oneDNN SGEMM calls, one per part (cpu_gemm.c). */
#ifndef GLOW_CPU_INTERNAL_H
#define GLOW_CPU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "glow/backend.h"

/* ---- thread pool (cpu_threads.c) -------------------------------------------- */

typedef struct cpu_pool cpu_pool;

/* fn(ctx, part, worker): one part of a parallel loop; worker in [0, threads)
 * names the calling thread (for per-worker scratch). */
typedef void (*cpu_part_fn)(void *ctx, size_t part, int worker);

/* threads >= 1; the calling thread is worker 0, so threads - 1 are started. */
glow_status cpu_pool_create(int threads, cpu_pool **out);
void cpu_pool_destroy(cpu_pool *pool);
int cpu_pool_threads(const cpu_pool *pool);
/* Runs fn for every part in [0, parts) and returns when all are done. Threads
 * claim parts one by one; a part's result must depend only on its index. */
void cpu_pool_run(cpu_pool *pool, size_t parts, cpu_part_fn fn, void *ctx);

/* ---- backend state (cpu_backend.c) ------------------------------------------ */

typedef struct {
    cpu_pool *pool;
    int threads;
    size_t current_bytes, peak_bytes; /* buffers and scratch */
    /* per-worker scratch, grown by cpu_scratch on the calling thread */
    float **scratch;
    size_t *scratch_floats;
} cpu_state;

static inline cpu_state *cpu_st(glow_backend *be)
{
    return (cpu_state *)be->impl;
}

static inline float *cpu_data(glow_tensor t)
{
    return (float *)t.buf->impl + t.off;
}

static inline const uint8_t *cpu_bytes(const glow_buffer *buf, size_t byte_off)
{
    return (const uint8_t *)buf->impl + byte_off;
}

/* Ensures every worker has at least `floats` floats of scratch (64-byte
 * aligned, contents undefined); call before cpu_pool_run, then use
 * st->scratch[worker] inside the parts. */
glow_status cpu_scratch(cpu_state *st, size_t floats, const char *op);
/* A temporary host array of n floats (counted in the memory figures), freed
 * with cpu_free_floats. NULL with the error set when out of memory. */
float *cpu_alloc_floats(cpu_state *st, size_t n, const char *op);
void cpu_free_floats(cpu_state *st, float *p, size_t n);

/* Runs fn over `parts` parts on the backend's pool. */
static inline void cpu_parallel(glow_backend *be, size_t parts, cpu_part_fn fn, void *ctx)
{
    cpu_pool_run(cpu_st(be)->pool, parts, fn, ctx);
}

/* Number of parts of `grain` items covering `total` items (at least 1), and
 * the item range of part i. The grain is fixed per op (never derived from the
 * thread count), so partials reduce in the same order on any thread count. */
static inline size_t cpu_parts(size_t total, size_t grain)
{
    return total == 0 ? 1 : (total + grain - 1) / grain;
}

static inline void cpu_part_range(size_t part, size_t grain, size_t total, size_t *begin, size_t *end)
{
    *begin = part * grain;
    *end = *begin + grain < total ? *begin + grain : total;
}

/* Pixels per part of a per-pixel pass touching `floats_per_pixel` floats of its
 * widest tensor: parts of about CPU_PART_FLOATS floats (128 KiB), so that small
 * tensors run inline on the calling thread and large ones are split. */
enum { CPU_PART_FLOATS = 1 << 15 };
static inline size_t cpu_pixel_grain(size_t floats_per_pixel)
{
    size_t g = CPU_PART_FLOATS / (floats_per_pixel > 0 ? floats_per_pixel : 1);
    return g > 0 ? g : 1;
}

/* scale[c] = expf(factor * logs[c]) into a caller array of logs' C entries. */
void cpu_channel_exp(glow_tensor logs, float factor, float *scale);

/* ---- GEMM (cpu_gemm.c) ---------------------------------------------------------
 * Row-major single-precision GEMM on the calling thread:
 *   C (m x n, ldc) = alpha * op(A) op(B) + beta * C,
 * op(A) m x k (A stored k x m when trans_a), op(B) k x n (B stored n x k when trans_b). */
void cpu_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
               int ldb, float beta, float *c, int ldc);
/* The library behind cpu_sgemm, e.g. "oneDNN 2.6.3 sgemm, JIT ISA AVX-512". */
const char *cpu_gemm_library(void);
/* Makes the library run each call made by the calling thread on that thread
 * only (called once by every pool worker). */
void cpu_gemm_single_threaded(void);

/* ---- direct kernels (cpu_conv_small.c) ------------------------------------------- */

/* The 3x3 convolutions that a GEMM runs poorly: few output channels. */
enum { CPU_FEW_OUTPUTS_MAX = 48, CPU_FEW_OUTPUTS_MIN_CI = 16 };
/* y[p][o] (= or += when accumulate) act(bias[o] + sum_{ky,kx,ci} w[o][ky][kx][ci] x[p + (ky-1,kx-1)][ci])
 * for pixels p in [r0, r1); x (N,H,W,Ci), w (Co,3,3,Ci), y (N,H,W,Co); bias may be NULL. */
void cpu_conv3x3_few_outputs(const float *x, int H, int W, int Ci, const float *w, int Co, const float *bias, int relu,
                             int accumulate, float *y, size_t r0, size_t r1);

/* ---- op entries ------------------------------------------------------------------ */

/* cpu_elementwise.c */
glow_status cpu_fill(glow_backend *be, glow_tensor t, float value);
glow_status cpu_copy_channels(glow_backend *be, glow_tensor src, int src_c0, glow_tensor dst, int dst_c0, int count,
                              int accumulate);
glow_status cpu_squeeze(glow_backend *be, glow_tensor x, glow_tensor y, int accumulate);
glow_status cpu_unsqueeze(glow_backend *be, glow_tensor y, glow_tensor x, int accumulate);
glow_status cpu_relu_backward(glow_backend *be, glow_tensor y, glow_tensor dy);
glow_status cpu_add_scalar(glow_backend *be, glow_tensor t, float value);
glow_status cpu_logdet_sum(glow_backend *be, glow_tensor v, float scale, glow_tensor ld);

/* cpu_actnorm.c */
glow_status cpu_actnorm_forward(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs, glow_tensor y);
glow_status cpu_actnorm_inverse(glow_backend *be, glow_tensor y, glow_tensor bias, glow_tensor logs, glow_tensor x);
glow_status cpu_actnorm_backward(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor bias, glow_tensor logs,
                                 glow_tensor dx, glow_tensor dbias, glow_tensor dlogs);
glow_status cpu_actnorm_init(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs);

/* cpu_lu.c */
glow_status cpu_lu_weight(glow_backend *be, glow_tensor lower, glow_tensor upper, glow_tensor log_s, glow_tensor sign,
                          glow_tensor perm, glow_tensor weight, int inverse);
glow_status cpu_lu_weight_backward(glow_backend *be, glow_tensor dweight, glow_tensor lower, glow_tensor upper,
                                   glow_tensor log_s, glow_tensor sign, glow_tensor perm, glow_tensor dlower,
                                   glow_tensor dupper, glow_tensor dlog_s);

/* cpu_conv.c */
glow_status cpu_conv2d_forward(glow_backend *be, glow_tensor x, glow_tensor w, glow_tensor bias, glow_tensor y,
                               int relu);
glow_status cpu_conv2d_backward_data(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor dx);
glow_status cpu_conv2d_backward_weight(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor dw,
                                       glow_tensor dbias);
glow_status cpu_channel_scale_forward(glow_backend *be, glow_tensor y, glow_tensor logs, float factor);
glow_status cpu_channel_scale_backward(glow_backend *be, glow_tensor y, glow_tensor dy, glow_tensor logs, float factor,
                                       glow_tensor dlogs);

/* cpu_coupling.c */
glow_status cpu_coupling_forward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor y, glow_tensor ld);
glow_status cpu_coupling_inverse(glow_backend *be, glow_tensor y, glow_tensor h, glow_tensor x);
glow_status cpu_coupling_backward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor dy, float g,
                                  glow_tensor dx, glow_tensor dh);

/* cpu_prior.c */
glow_status cpu_gaussian_logp(glow_backend *be, glow_tensor z, glow_tensor h, glow_tensor logp);
glow_status cpu_gaussian_logp_backward(glow_backend *be, glow_tensor z, glow_tensor h, float g, glow_tensor dz,
                                       glow_tensor dh);
glow_status cpu_gaussian_sample(glow_backend *be, glow_tensor h, float temperature, glow_rng rng, glow_tensor z);

/* cpu_random.c */
glow_status cpu_rng_uniform(glow_backend *be, glow_rng rng, glow_tensor out);
glow_status cpu_rng_normal(glow_backend *be, glow_rng rng, glow_tensor out);
glow_status cpu_dequantize(glow_backend *be, const glow_buffer *pixels, size_t pixel_off, int n_bits, glow_rng rng,
                           glow_tensor x);

/* cpu_optim.c */
glow_status cpu_sum_squares(glow_backend *be, glow_tensor g, glow_tensor out);
glow_status cpu_optimizer_step(glow_backend *be, glow_tensor params, glow_tensor grads, glow_tensor m, glow_tensor v,
                               const glow_adam_params *hp, glow_tensor sumsq);

#endif
