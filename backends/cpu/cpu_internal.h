/* Fast CPU backend ("cpu"): shared state, helpers and the op entries of each
 * family file. The op semantics are those of glow/backend.h; backends/ref is
 * the oracle this backend is tested against.
 *
 * Memory and layout are those of the reference: one 64-byte aligned host
 * allocation per buffer, glow_buffer.impl at its first data byte, float32
 * NHWC tensors, element (n, y, x, c) at ((n*H + y)*W + x)*C + c.
 *
 * Parallelism: one persistent pool of worker threads per backend
 * (cpu_threads.c). Elementwise passes and reductions are cut into parts of a
 * fixed size (cpu_parts); the convolutions into one part per thread
 * (cpu_thread_parts). Every reduction sums its per-part partials in part
 * order, so a run is bit-identical from run to run on a given thread count;
 * across thread counts the convolutions' sums differ in rounding only
 * (tests/test_backend_model.c checks both). GEMM-shaped work goes to
 * single-threaded oneDNN SGEMM calls within each part (cpu_gemm.c). */
#ifndef GLOW_CPU_INTERNAL_H
#define GLOW_CPU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "glow/backend.h"
#include "host_backend.h"

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
    glow_host_memory mem; /* buffers, scratch and temporaries */
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
 * thread count), so these partials reduce in the same order on any thread count. */
static inline size_t cpu_parts(size_t total, size_t grain)
{
    return total == 0 ? 1 : (total + grain - 1) / grain;
}

static inline void cpu_part_range(size_t part, size_t grain, size_t total, size_t *begin, size_t *end)
{
    *begin = part * grain;
    *end = *begin + grain < total ? *begin + grain : total;
}

/* GEMM-shaped work (the convolutions) is cut into one part per thread, fewer
 * when a part would do under CPU_MIN_PART_FLOPS: even, contiguous ranges of
 * items in multiples of `align` (cpu_even_range). With equal parts the threads
 * finish together; with many small parts claimed dynamically (the former cut)
 * the last part of every GEMM left a thread idle, 28% of a 2-thread step of the
 * report model (issue 11's note). The cut depends on the thread count, so such
 * results are deterministic for a given count, not across counts. */
enum { CPU_MIN_PART_FLOPS = 1 << 20 };
static inline size_t cpu_thread_parts(const cpu_state *st, size_t items, size_t align, double flops)
{
    size_t by_flops = (size_t)(flops / CPU_MIN_PART_FLOPS), by_items = items / (align ? align : 1);
    size_t n = (size_t)st->threads;
    n = by_flops < n ? by_flops : n;
    n = by_items < n ? by_items : n;
    return n > 0 ? n : 1;
}

/* Items [begin, end) of part `part` of `parts` even ranges over `total` items,
 * boundaries at multiples of `align`. */
static inline void cpu_even_range(size_t part, size_t parts, size_t total, size_t align, size_t *begin, size_t *end)
{
    size_t units = (total + align - 1) / align;
    size_t b = units * part / parts * align, e = units * (part + 1) / parts * align;
    *begin = b < total ? b : total;
    *end = e < total ? e : total;
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

/* ---- row passes around the GEMMs (cpu_rows.c) ------------------------------------ */

/* Functions built for AVX-512, AVX2+FMA and the baseline, the best chosen at load
 * time (GCC/clang target_clones, a glibc ifunc). */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define CPU_ISA_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
#endif
#ifndef CPU_ISA_CLONES
#define CPU_ISA_CLONES
#endif

/* On a block of m rows x n columns (row strides ld):
 *   cpu_bias_relu_rows  y[r][c] = act(y[r][c] + bias[c]) (bias NULL: none; act ReLU when relu);
 *   cpu_relu_mask_rows  d[r][c] = y[r][c] > 0 ? d[r][c] : 0, the backward of a ReLU whose output was y;
 *   cpu_column_sums     acc[c] += sum_r g[r][c], rows added in order (in float, or in double). */
void cpu_bias_relu_rows(float *y, int m, int n, int ld, const float *bias, int relu);
void cpu_relu_mask_rows(float *d, const float *y, int m, int n, int ld);
void cpu_column_sums(const float *g, size_t rows, int n, int ld, float *acc);
void cpu_column_sums_double(const float *g, size_t rows, int n, int ld, double *acc);
/* col[r - r0][(ky*k + kx)*Ci + ci] = x[n][i + s(ky-pad)][j + s(kx-pad)][ci] (0 outside the image,
 * pad = (k-1)/2, s = -1 when flip, else 1) for the pixels r = (n, i, j) in [r0, r1) of x (N,H,W,Ci). */
void cpu_im2col(const float *x, int H, int W, int Ci, int k, int flip, size_t r0, size_t r1, float *col);

/* dx (+)= the input gradient of conv(x, w) for dy (accumulate 1), or dx = that
 * gradient with dx = 0 where mask <= 0 (accumulate 0, mask (P, Ci) or NULL):
 * conv2d_backward_data and conv2d_backward_data_relu (cpu_conv.c). */
glow_status cpu_conv_backward_data(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor dx, const float *mask,
                                   int accumulate);

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
/* The bias gradient of such a conv: db[o] += sum_p dy[p][o] over `pixels` rows of dy
 * (pixels x Co, Co <= CPU_FEW_OUTPUTS_MAX), summed in double in pixel order. */
void cpu_bias_sums_few(const float *dy, size_t pixels, int Co, float *db);
/* Their weight gradient, one part: dw[o][tap][c0 + c] += sum_pixels dy[p][o] x[p + tap offset][c0 + c]
 * for c < CPU_BW_FEW_CI and every o < Co; x (N,H,W,Ci), dy (N,H,W,Co), dw (Co,3,3,Ci);
 * Ci a multiple of CPU_BW_FEW_CI. */
enum { CPU_BW_FEW_CI = 32 };
void cpu_conv3x3_few_outputs_dw(const float *x, int N, int H, int W, int Ci, const float *dy, int Co, float *dw,
                                int tap, int c0);

/* The same convolutions as one GEMM over the 9 taps stacked side by side
 * (cpu_conv_taps.c): y (N,H,W,Co) (= or += when accumulate) act(conv(x, w) + bias),
 * w (Co,3,3,Ci), zeroed where mask (N,H,W,Co, or NULL) is <= 0; and the weight
 * gradient dw (Co,3,3,Ci) += ..., dbias (Co, or NULL) += sum of dy. */
glow_status cpu_conv3x3_taps_forward(glow_backend *be, glow_tensor x, const float *w, int Co, const float *bias,
                                     float *y, int relu, int accumulate, const float *mask, const char *op);
glow_status cpu_conv3x3_taps_backward_weight(glow_backend *be, glow_tensor x, glow_tensor dy, float *dw, float *dbias,
                                             const char *op);

/* ---- cpu_<name> for every entry of glow/ops.def ---------------------------------
 * Each op in the family file of its section there (cpu_elementwise.c, cpu_actnorm.c, cpu_lu.c, cpu_conv.c,
 * cpu_coupling.c, cpu_prior.c, cpu_random.c, cpu_optim.c); the GLOW_CORE
 * entries (memory, lifecycle) are in cpu_backend.c. */
#define GLOW_OP(name, ret, params) ret cpu_##name params;
#include "glow/ops.def"

#endif
