/* Fast CPU backend: 2-D convolution (stride 1, zero padding pad = (k-1)/2,
 * k in {1,3}) with optional bias and fused ReLU, its two backward passes, and
 * the per-channel output scale of the zero-initialised conv.
 *   x: (N,H,W,Ci), w: (Co,k,k,Ci) = w[co][ky][kx][ci], bias: Co, y: (N,H,W,Co)
 *   y[n][i][j][co] = act(bias[co] + sum_{ky,kx,ci} w[co][ky][kx][ci] x[n][i+ky-pad][j+kx-pad][ci])
 *
 * As GEMMs over the P = N*H*W pixels, with K = k*k*Ci and col the im2col
 * matrix (P x K; col = x itself when k = 1), w read as a Co x K matrix:
 *   forward          y (P x Co)  = col w^T            (+ bias, ReLU in the epilogue)
 *   backward_weight  dw (Co x K) += dy^T col (as dw^T = col^T dy when K < Co),
 *                    dbias += column sums of dy
 *   backward_data    k = 1: dx (P x Ci) += dy w;
 *                    k = 3: the forward conv of dy with w flipped in space and
 *                    transposed in channels, wf[ci][ky][kx][co] = w[co][2-ky][2-kx][ci],
 *                    accumulated into dx.
 * Work is cut into one part per thread (cpu_thread_parts): a range of pixel
 * rows, walked in blocks (GEMM_1X1_ROWS rows of a 1x1 conv, whose bias and ReLU
 * epilogue then runs while the block is in cache; block_rows() for im2col, whose
 * block is built in the worker's scratch); the 1x1 weight gradient is cut by
 * output channels instead. backward_weight sums per-part partial dw in part order. */
#include "cpu_internal.h"

#include <math.h>
#include <stdlib.h>

enum {
    COL_BLOCK_FLOATS = 1 << 15, /* im2col block of one GEMM call: 128 KiB, about half of L2 */
    MIN_ROWS = 16,
    MAX_ROWS = 512,
    GEMM_1X1_ROWS = 256, /* pixels per SGEMM call of a 1x1 conv */
    CHANNEL_ALIGN = 16,  /* output channels per unit of a 1x1 weight gradient's cut */
    BW_CHUNK_ROWS = 512,     /* pixels per SGEMM call of a 1x1 weight gradient with a bias */
    BW_BIAS_CHANNELS = 1024, /* output channels per bias-sum block of such a part */
};

/* Rows of one GEMM block for an im2col width K: COL_BLOCK_FLOATS / K, clamped,
 * a multiple of MIN_ROWS. */
static size_t block_rows(size_t K)
{
    size_t r = COL_BLOCK_FLOATS / (K > 0 ? K : 1);
    r = r < MIN_ROWS ? MIN_ROWS : r > MAX_ROWS ? MAX_ROWS : r;
    return r / MIN_ROWS * MIN_ROWS;
}

/* The GEMM's A block for pixels [r0, r1): x's rows themselves when k = 1, else
 * their im2col rows built in `scratch`. */
static const float *input_block(const float *x, int H, int W, int Ci, int k, size_t r0, size_t r1, float *scratch)
{
    if (k == 1)
        return x + r0 * (size_t)Ci;
    cpu_im2col(x, H, W, Ci, k, 0, r0, r1, scratch);
    return scratch;
}

/* ---- forward (and k = 3 backward_data through it) -------------------------------- */

typedef struct {
    cpu_state *st;
    const float *x, *w, *bias;
    float *y;
    size_t pixels, rows, K;
    int H, W, Ci, Co, k, relu;
    float beta;       /* 0: y = ..., 1: y += ... */
    size_t parts;     /* even pixel ranges (or output-channel ranges), one per thread */
    int split_cols;   /* 1x1 with few rows per part: the parts are output-channel ranges */
    const float *mask; /* NULL, or (P, Co): y[p][co] = 0 where mask[p][co] <= 0 (a ReLU's backward) */
} fwd_ctx;

/* Few output channels: a direct kernel or the stacked-tap GEMM instead of im2col + GEMM. */
static int use_few_outputs(int k, int Ci, int Co)
{
    return k == 3 && Co <= CPU_FEW_OUTPUTS_MAX && Ci >= CPU_FEW_OUTPUTS_MIN_CI;
}

/* Of those, the stacked-tap GEMM (cpu_conv_taps.c) where its GEMM, P x 9Co x Ci,
 * is wide and deep enough: Ci * Co >= 768. Measured by tools/bench_cpu_conv (one
 * thread, GFLOP/s, direct / taps, forward then weight gradient): 512->2 47.7/82.2
 * and 60.5/103.8, 512->4 84.0/116.9 and 121.6/164.6, 128->6 75.6/105.4 and
 * 116.5/143.4, up to 128->48 95.2/170.5; the direct kernel stays ahead at 128->4
 * (109.8/88.9, 154.7/102.3) and level with it at 128->2 (55.1/57.8, 67.3/72.7). */
static int use_taps(int k, int Ci, int Co)
{
    return use_few_outputs(k, Ci, Co) && Ci * Co >= 768;
}

/* Split a 1x1 GEMM's output channels rather than its rows when each part would
 * get fewer than this many rows (level 2 of the report model: 256 pixels). */
enum { COL_SPLIT_ROWS = 256 };

/* The cut of a GEMM with P rows and n columns (a conv with kernel size k): one part per
 * thread over the rows, or for a 1x1 conv with under COL_SPLIT_ROWS rows per part, over
 * the columns (*split_cols). Returns the number of parts. */
static size_t gemm_cut(const cpu_state *st, size_t P, int n, int k, double flops, int *split_cols)
{
    size_t parts = cpu_thread_parts(st, P, MIN_ROWS, flops);
    *split_cols = k == 1 && P < parts * COL_SPLIT_ROWS;
    return *split_cols ? cpu_thread_parts(st, (size_t)n, CHANNEL_ALIGN, flops) : parts;
}

/* Part `part` of a 1x1 GEMM with P rows and n columns cut into `parts`: rows
 * [b, e) and columns [o0, o1), the columns when split_cols, else the rows. */
static void gemm_part_range(size_t part, size_t parts, int split_cols, size_t P, int n, size_t *b, size_t *e,
                            size_t *o0, size_t *o1)
{
    *b = 0, *e = P, *o0 = 0, *o1 = (size_t)n;
    if (split_cols)
        cpu_even_range(part, parts, (size_t)n, CHANNEL_ALIGN, o0, o1);
    else
        cpu_even_range(part, parts, P, MIN_ROWS, b, e);
}

/* Rows [b, e) and columns [o0, o1) of y, in blocks of c->rows rows: a GEMM each
 * (im2col first when k = 3), then the mask, bias and ReLU on the block. */
static void forward_part(void *p, size_t part, int worker)
{
    const fwd_ctx *c = p;
    size_t b, e, o0, o1;
    gemm_part_range(part, c->parts, c->split_cols, c->pixels, c->Co, &b, &e, &o0, &o1);
    const int K = (int)c->K, Co = c->Co, n = (int)(o1 - o0);
    if (use_few_outputs(c->k, c->Ci, c->Co)) {
        cpu_conv3x3_few_outputs(c->x, c->H, c->W, c->Ci, c->w, Co, c->bias, c->relu, c->beta != 0.0f, c->y, b, e);
        if (c->mask != NULL)
            cpu_relu_mask_rows(c->y + b * (size_t)Co, c->mask + b * (size_t)Co, (int)(e - b), Co, Co);
        return;
    }
    for (size_t r0 = b; r0 < e; r0 += c->rows) {
        const size_t r1 = r0 + c->rows < e ? r0 + c->rows : e;
        const int m = (int)(r1 - r0);
        const float *a = input_block(c->x, c->H, c->W, c->Ci, c->k, r0, r1, c->st->scratch[worker]);
        float *y = c->y + r0 * (size_t)Co + o0;
        cpu_sgemm(0, 1, m, n, K, 1.0f, a, K, c->w + o0 * c->K, K, c->beta, y, Co);
        if (c->mask != NULL)
            cpu_relu_mask_rows(y, c->mask + r0 * (size_t)Co + o0, m, n, Co);
        if (c->bias != NULL || c->relu)
            cpu_bias_relu_rows(y, m, n, Co, c->bias ? c->bias + o0 : NULL, c->relu);
    }
}

/* y (=, or += when accumulate) conv(x, w) with w as (Co, k, k, Ci). */
static glow_status conv_forward(glow_backend *be, glow_tensor x, const float *w, int Co, int k, const float *bias,
                                float *y, int relu, int accumulate, const float *mask, const char *op)
{
    cpu_state *st = cpu_st(be);
    fwd_ctx c = {st, cpu_data(x), w, bias, y, glow_tensor_rows(x), 0, (size_t)k * k * x.c,
                 x.h, x.w, x.c, Co, k, relu, accumulate ? 1.0f : 0.0f, 1, 0, mask};
    if (use_taps(k, x.c, Co))
        return cpu_conv3x3_taps_forward(be, x, w, Co, bias, y, relu, accumulate, mask, op);
    c.rows = k == 1 ? GEMM_1X1_ROWS : block_rows(c.K);
    c.parts = gemm_cut(st, c.pixels, Co, k, 2.0 * (double)c.pixels * (double)Co * (double)c.K, &c.split_cols);
    if (k != 1 && !use_few_outputs(k, x.c, Co))
        GLOW_TRY(cpu_scratch(st, c.rows * c.K, op));
    cpu_parallel(be, c.parts, forward_part, &c);
    return GLOW_OK;
}

glow_status cpu_conv2d_forward(glow_backend *be, glow_tensor x, glow_tensor w, glow_tensor bias, glow_tensor y,
                               int relu)
{
    return conv_forward(be, x, cpu_data(w), y.c, w.h, bias.buf ? cpu_data(bias) : NULL, cpu_data(y), relu, 0, NULL,
                        "conv2d_forward");
}

/* ---- backward_data ---------------------------------------------------------------- */

typedef struct {
    const float *dy, *w;
    float *dx;
    size_t pixels, parts;
    int split_cols; /* few rows per part: the parts are input-channel ranges */
    int Ci, Co;
    float beta;        /* 1: dx += ..., 0: dx = ... */
    const float *mask; /* NULL, or (P, Ci): dx = 0 where mask <= 0 (with beta 0) */
} bd1_ctx;

/* k = 1: dx rows [b, e), channels [i0, i1) (+)= dy rows w[:, i0:i1], (m x Co)(Co x n), in blocks
 * of GEMM_1X1_ROWS rows, then masked. */
static void backward_data_1x1_part(void *p, size_t part, int worker)
{
    (void)worker;
    const bd1_ctx *c = p;
    size_t b, e, i0, i1;
    gemm_part_range(part, c->parts, c->split_cols, c->pixels, c->Ci, &b, &e, &i0, &i1);
    const int n = (int)(i1 - i0);
    for (size_t r0 = b; r0 < e; r0 += GEMM_1X1_ROWS) {
        const size_t r1 = r0 + GEMM_1X1_ROWS < e ? r0 + GEMM_1X1_ROWS : e;
        float *dx = c->dx + r0 * (size_t)c->Ci + i0;
        cpu_sgemm(0, 0, (int)(r1 - r0), n, c->Co, 1.0f, c->dy + r0 * (size_t)c->Co, c->Co, c->w + i0, c->Ci, c->beta, dx,
                  c->Ci);
        if (c->mask != NULL)
            cpu_relu_mask_rows(dx, c->mask + r0 * (size_t)c->Ci + i0, (int)(r1 - r0), n, c->Ci);
    }
}

/* The flipped, transposed weights of a k = 3 backward_data, wf[ci][taps-1-t][co] = w[co][t][ci],
 * for the input channels of one part. Written in order (reads stride taps*Ci within w, which is
 * small enough for L2): the other loop order wrote a new cache line per element, a third of
 * conv1's input gradient at level 2 of the report model; on one thread it was still a fifth of
 * the zero conv's input gradient there (512 x 9 x 16 floats). */
typedef struct {
    const float *w;
    float *wf;
    size_t taps, grain;
    int Ci, Co;
} flip_ctx;

static void flip_part(void *p, size_t part, int worker)
{
    (void)worker;
    const flip_ctx *f = p;
    size_t c0, c1;
    cpu_part_range(part, f->grain, (size_t)f->Ci, &c0, &c1);
    const size_t taps = f->taps;
    for (size_t ci = c0; ci < c1; ci++)
        for (size_t t = 0; t < taps; t++) {
            float *dst = f->wf + (ci * taps + (taps - 1 - t)) * (size_t)f->Co;
            const float *src = f->w + t * (size_t)f->Ci + ci;
            for (int co = 0; co < f->Co; co++)
                dst[co] = src[(size_t)co * taps * (size_t)f->Ci];
        }
}

/* dx (+)= the input gradient of conv(x, w) for dy; with mask (overwrite only),
 * dx = 0 where mask <= 0: the backward of a ReLU whose output was mask. */
glow_status cpu_conv_backward_data(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor dx, const float *mask,
                                   int accumulate)
{
    const char *op = mask ? "conv2d_backward_data_relu" : "conv2d_backward_data";
    const int k = w.h, Ci = dx.c, Co = dy.c;
    if (k == 1) {
        bd1_ctx c = {cpu_data(dy), cpu_data(w), cpu_data(dx), glow_tensor_rows(dy), 1, 0, Ci, Co,
                     accumulate ? 1.0f : 0.0f, mask};
        c.parts = gemm_cut(cpu_st(be), c.pixels, Ci, 1, 2.0 * (double)c.pixels * Ci * Co, &c.split_cols);
        cpu_parallel(be, c.parts, backward_data_1x1_part, &c);
        return GLOW_OK;
    }
    cpu_state *st = cpu_st(be);
    size_t taps = (size_t)k * k, count = (size_t)Co * taps * Ci;
    float *wf = cpu_alloc_floats(st, count, op);
    if (wf == NULL)
        return GLOW_ERR_OUT_OF_MEMORY;
    flip_ctx f = {cpu_data(w), wf, taps, cpu_pixel_grain(taps * (size_t)Co), Ci, Co};
    cpu_parallel(be, cpu_parts((size_t)Ci, f.grain), flip_part, &f);
    glow_status rc = conv_forward(be, dy, wf, Ci, k, NULL, cpu_data(dx), 0, accumulate, mask, op);
    cpu_free_floats(st, wf, count);
    return rc;
}

glow_status cpu_conv2d_backward_data(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor dx)
{
    return cpu_conv_backward_data(be, dy, w, dx, NULL, 1);
}

/* ---- backward_weight -------------------------------------------------------------- */

typedef struct {
    cpu_state *st;
    const float *x, *dy;
    float *partial; /* parts x (Co*K + Co): dw then dbias of each part */
    size_t pixels, rows, K, parts;
    int H, W, Ci, Co, k, with_bias;
    int transposed; /* K < Co: the partials hold dw^T (K x Co) */
} bw_ctx;

static void backward_weight_part(void *p, size_t part, int worker)
{
    const bw_ctx *c = p;
    size_t b, e;
    cpu_even_range(part, c->parts, c->pixels, MIN_ROWS, &b, &e);
    const int K = (int)c->K, Co = c->Co;
    float *dw = c->partial + part * ((size_t)Co * c->K + (size_t)Co);
    float *db = dw + (size_t)Co * c->K;
    float beta = 0.0f;
    if (c->with_bias)
        for (int o = 0; o < Co; o++)
            db[o] = 0.0f;
    for (size_t r0 = b; r0 < e; r0 += c->rows) {
        size_t r1 = r0 + c->rows < e ? r0 + c->rows : e;
        const float *a = input_block(c->x, c->H, c->W, c->Ci, c->k, r0, r1, c->st->scratch[worker]);
        if (c->transposed) /* dw^T (K x Co) (+)= a^T (K x m) dy_rows (m x Co) */
            cpu_sgemm(1, 0, K, Co, (int)(r1 - r0), 1.0f, a, K, c->dy + r0 * (size_t)Co, Co, beta, dw, Co);
        else /* dw (Co x K) (+)= dy_rows^T (Co x m) a (m x K) */
            cpu_sgemm(1, 0, Co, K, (int)(r1 - r0), 1.0f, c->dy + r0 * (size_t)Co, Co, a, K, beta, dw, K);
        beta = 1.0f;
        if (c->with_bias) /* while the block's dy rows are in cache */
            cpu_column_sums(c->dy + r0 * (size_t)Co, r1 - r0, Co, Co, db);
    }
}

/* k = 1, parts of output channels [o0, o1) (even ranges, one per thread) over all P pixels
 * (in chunks of BW_CHUNK_ROWS when there is a bias):
 *   dw[o0:o1] (n x Ci) += dy[:, o0:o1]^T (n x P) x (P x Ci),  dbias[o] += sum_p dy[p][o] (in double)
 * one SGEMM of inner size P per part; no partial sums to reduce. */
typedef struct {
    const float *x, *dy;
    float *dw, *db;
    size_t pixels, parts;
    int Ci, Co;
} bw1_ctx;

static void backward_weight_1x1_part(void *p, size_t part, int worker)
{
    (void)worker;
    const bw1_ctx *c = p;
    size_t o0, o1;
    cpu_even_range(part, c->parts, (size_t)c->Co, CHANNEL_ALIGN, &o0, &o1);
    const int Co = c->Co;
    if (c->db == NULL) {
        cpu_sgemm(1, 0, (int)(o1 - o0), c->Ci, (int)c->pixels, 1.0f, c->dy + o0, Co, c->x, c->Ci, 1.0f,
                  c->dw + o0 * (size_t)c->Ci, c->Ci);
        return;
    }
    /* With a bias: dw in chunks of BW_CHUNK_ROWS pixels, and each chunk's bias sums (per channel,
     * pixel order, in double) taken while its dy rows are still in cache, instead of a second pass
     * over dy (2% of a 2-thread report step: 512 against 502 ms, steps alternating in one process). */
    for (size_t b0 = o0; b0 < o1; b0 += BW_BIAS_CHANNELS) {
        const int n = (int)(o1 - b0 < BW_BIAS_CHANNELS ? o1 - b0 : BW_BIAS_CHANNELS);
        double acc[BW_BIAS_CHANNELS] = {0};
        for (size_t r0 = 0; r0 < c->pixels; r0 += BW_CHUNK_ROWS) {
            const size_t r1 = r0 + BW_CHUNK_ROWS < c->pixels ? r0 + BW_CHUNK_ROWS : c->pixels;
            cpu_sgemm(1, 0, n, c->Ci, (int)(r1 - r0), 1.0f, c->dy + r0 * (size_t)Co + b0, Co,
                      c->x + r0 * (size_t)c->Ci, c->Ci, 1.0f, c->dw + b0 * (size_t)c->Ci, c->Ci);
            cpu_column_sums_double(c->dy + r0 * (size_t)Co + b0, r1 - r0, n, Co, acc);
        }
        for (int o = 0; o < n; o++)
            c->db[b0 + (size_t)o] += (float)acc[o];
    }
}

/* k = 3 with few outputs: parts are (tap, 32 input channels) of dw, plus one last part for dbias
 * (sums in double, pixel order); see cpu_conv3x3_few_outputs_dw. */
typedef struct {
    const float *x, *dy;
    float *dw, *db;
    int N, H, W, Ci, Co;
} bwf_ctx;

/* Measured (tools/bench_cpu_conv, one thread): the direct weight gradient beats the im2col GEMM
 * at Co = 4 (report l0 zero conv 512->4: 81-86 against 48-55 GFLOP/s; small 128->4: 93-117
 * against 47-62), ties at Co = 8 and loses from Co = 12 up (rgb 128->24: 120 against 150). */
enum { FEW_OUTPUTS_DW_MAX = 8 };
static int use_few_outputs_dw(int k, int Ci, int Co)
{
    return use_few_outputs(k, Ci, Co) && Co <= FEW_OUTPUTS_DW_MAX && Ci % CPU_BW_FEW_CI == 0;
}

static void backward_weight_few_part(void *p, size_t part, int worker)
{
    (void)worker;
    const bwf_ctx *c = p;
    const size_t blocks = (size_t)(c->Ci / CPU_BW_FEW_CI);
    if (part < 9 * blocks) {
        cpu_conv3x3_few_outputs_dw(c->x, c->N, c->H, c->W, c->Ci, c->dy, c->Co, c->dw, (int)(part / blocks),
                                   (int)(part % blocks) * CPU_BW_FEW_CI);
        return;
    }
    cpu_bias_sums_few(c->dy, (size_t)c->N * c->H * c->W, c->Co, c->db);
}

glow_status cpu_conv2d_backward_weight(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor dw,
                                       glow_tensor dbias)
{
    const char *op = "conv2d_backward_weight";
    cpu_state *st = cpu_st(be);
    const int k = dw.h, Co = dy.c;
    if (k == 1) {
        bw1_ctx c1 = {cpu_data(x), cpu_data(dy), cpu_data(dw), dbias.buf ? cpu_data(dbias) : NULL, glow_tensor_rows(x),
                      1, x.c, Co};
        c1.parts = cpu_thread_parts(st, (size_t)Co, CHANNEL_ALIGN, 2.0 * (double)c1.pixels * x.c * Co);
        cpu_parallel(be, c1.parts, backward_weight_1x1_part, &c1);
        return GLOW_OK;
    }
    if (use_taps(k, x.c, Co))
        return cpu_conv3x3_taps_backward_weight(be, x, dy, cpu_data(dw), dbias.buf ? cpu_data(dbias) : NULL, op);
    if (use_few_outputs_dw(k, x.c, Co)) {
        bwf_ctx cf = {cpu_data(x), cpu_data(dy), cpu_data(dw), dbias.buf ? cpu_data(dbias) : NULL,
                      x.n, x.h, x.w, x.c, Co};
        size_t parts = 9 * (size_t)(x.c / CPU_BW_FEW_CI) + (cf.db != NULL);
        cpu_parallel(be, parts, backward_weight_few_part, &cf);
        return GLOW_OK;
    }
    bw_ctx c = {st, cpu_data(x), cpu_data(dy), NULL, glow_tensor_rows(x), 0, (size_t)k * k * x.c, 1,
                x.h, x.w, x.c, Co, k, dbias.buf != NULL, (size_t)k * k * x.c < (size_t)Co};
    c.rows = block_rows(c.K);
    c.parts = cpu_thread_parts(st, c.pixels, MIN_ROWS, 2.0 * (double)c.pixels * (double)Co * (double)c.K);
    /* oneDNN's sgemm runs a narrow output poorly: conv1's weight gradient at level 0 of the
     * report model (Co 512, K 18) as dw, 512 x 18, at 124 GFLOP/s on one thread; as dw^T,
     * 18 x 512, at 172 (K 36: 165 -> 209): c.transposed = K < Co. */
    const size_t parts = c.parts, stride = (size_t)Co * c.K + (size_t)Co;
    if (k != 1)
        GLOW_TRY(cpu_scratch(st, c.rows * c.K, op));
    c.partial = cpu_alloc_floats(st, parts * stride, op);
    double *sum = calloc(stride, sizeof(double));
    if (c.partial == NULL || sum == NULL) {
        cpu_free_floats(st, c.partial, parts * stride);
        free(sum);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "cpu %s: no memory for %zu partial weight gradients", op, parts);
    }
    cpu_parallel(be, parts, backward_weight_part, &c);
    size_t used = c.with_bias ? stride : stride - (size_t)Co;
    for (size_t part = 0; part < parts; part++) {
        const float *src = c.partial + part * stride;
        for (size_t e = 0; e < used; e++)
            sum[e] += src[e];
    }
    float *gw = cpu_data(dw);
    size_t wcount = (size_t)Co * c.K;
    if (c.transposed)
        for (size_t kk = 0; kk < c.K; kk++)
            for (int o = 0; o < Co; o++)
                gw[(size_t)o * c.K + kk] += (float)sum[kk * (size_t)Co + (size_t)o];
    else
        for (size_t e = 0; e < wcount; e++)
            gw[e] += (float)sum[e];
    if (c.with_bias) {
        float *gb = cpu_data(dbias);
        for (int o = 0; o < Co; o++)
            gb[o] += (float)sum[wcount + o];
    }
    cpu_free_floats(st, c.partial, parts * stride);
    free(sum);
    return GLOW_OK;
}

/* ---- channel scale of the zero-initialised conv -------------------------------------- */

typedef struct {
    float *y, *dy, *partial;
    const float *scale;
    size_t pixels, grain;
    int c;
} scale_ctx;

static void scale_forward_part(void *p, size_t part, int worker)
{
    (void)worker;
    const scale_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, k->grain, k->pixels, &b, &e);
    const int C = k->c;
    for (size_t q = b; q < e; q++)
        for (int c = 0; c < C; c++)
            k->y[q * C + c] *= k->scale[c];
}

/* partial[part][c] = sum_p dy y; then dy *= scale in place. */
static void scale_backward_part(void *p, size_t part, int worker)
{
    (void)worker;
    const scale_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, k->grain, k->pixels, &b, &e);
    const int C = k->c;
    float *acc = k->partial + part * (size_t)C;
    for (int c = 0; c < C; c++)
        acc[c] = 0.0f;
    for (size_t q = b; q < e; q++)
        for (int c = 0; c < C; c++) {
            size_t i = q * C + c;
            acc[c] += k->dy[i] * k->y[i];
            k->dy[i] *= k->scale[c];
        }
}

glow_status cpu_channel_scale_forward(glow_backend *be, glow_tensor y, glow_tensor logs, float factor)
{
    cpu_state *st = cpu_st(be);
    float *scale = cpu_alloc_floats(st, (size_t)y.c, "channel_scale_forward");
    if (scale == NULL)
        return GLOW_ERR_OUT_OF_MEMORY;
    cpu_channel_exp(logs, factor, scale);
    scale_ctx k = {cpu_data(y), NULL, NULL, scale, glow_tensor_rows(y), cpu_pixel_grain((size_t)y.c), y.c};
    cpu_parallel(be, cpu_parts(k.pixels, k.grain), scale_forward_part, &k);
    cpu_free_floats(st, scale, (size_t)y.c);
    return GLOW_OK;
}

glow_status cpu_channel_scale_backward(glow_backend *be, glow_tensor y, glow_tensor dy, glow_tensor logs, float factor,
                                       glow_tensor dlogs)
{
    const char *op = "channel_scale_backward";
    cpu_state *st = cpu_st(be);
    const int C = y.c;
    const size_t pixels = glow_tensor_rows(y), grain = cpu_pixel_grain((size_t)C), parts = cpu_parts(pixels, grain);
    float *scale = cpu_alloc_floats(st, (size_t)C, op);
    float *partial = cpu_alloc_floats(st, parts * (size_t)C, op);
    double *sum = calloc((size_t)C, sizeof(double));
    glow_status rc = GLOW_OK;
    if (scale == NULL || partial == NULL || sum == NULL) {
        rc = glow_error(GLOW_ERR_OUT_OF_MEMORY, "cpu %s: out of memory (C = %d)", op, C);
        goto done;
    }
    cpu_channel_exp(logs, factor, scale);
    scale_ctx k = {cpu_data(y), cpu_data(dy), partial, scale, pixels, grain, C};
    cpu_parallel(be, parts, scale_backward_part, &k);
    for (size_t part = 0; part < parts; part++)
        for (int c = 0; c < C; c++)
            sum[c] += partial[part * C + c];
    float *gl = cpu_data(dlogs);
    for (int c = 0; c < C; c++)
        gl[c] += (float)((double)factor * sum[c]);
done:
    cpu_free_floats(st, scale, (size_t)C);
    cpu_free_floats(st, partial, parts * (size_t)C);
    free(sum);
    return rc;
}
