/* Fast CPU backend: 3x3 convolutions with few output channels (the zero conv
 * F -> C, and conv1's input gradient F -> C/2 through the flipped weights) as
 * one GEMM over the 9 taps stacked side by side.
 *
 * Forward, x (N,H,W,Ci), w (Co,3,3,Ci), y (N,H,W,Co), P = N*H*W pixels, taps
 * t = ky*3 + kx with offsets d_t = (ky-1, kx-1):
 *   wt (9Co x Ci):  wt[t*Co + o][ci] = w[o][t][ci]
 *   Z  (P x 9Co)  = x wt^T                                one GEMM, K = Ci
 *   y[p][o]       = act(bias[o] + sum_t Z[p + d_t][t*Co + o])
 *                   over the taps whose pixel p + d_t lies inside p's image, t in order.
 * Weight gradient, dy (N,H,W,Co), dw (Co,3,3,Ci):
 *   D  (P x 9Co):  D[p][t*Co + o] = dy[p - d_t][o]  (0 where p - d_t is outside p's image)
 *   S  (9Co x Ci) = D^T x                                 one GEMM, K = P
 *   dw[o][t][ci] += S[t*Co + o][ci],   dbias[o] += sum_p dy[p][o]  (in double, pixel order)
 * The FLOPs of the direct convolution, without im2col's 9-fold copy of the wide
 * side, and GEMMs 9Co wide instead of Co: oneDNN's sgemm runs 4096 x 36 x 512
 * at about 110-120 GFLOP/s on one core here, and the weight gradient's
 * 36 x 512 x 4096 at about 165, where the former direct kernel reached 80 and
 * 75 (tools/bench_cpu_conv has the table for every shape of the models).
 *
 * Work is cut into one part per thread (cpu_thread_parts): pixel ranges for
 * the GEMM (walked in blocks of TAPS_ROWS rows), the tap sums and the shifted
 * dy; input-channel ranges for the weight gradient's GEMM, each over all pixels
 * (no partial sums). Images are taken in chunks whose Z or D holds at most
 * TAPS_CHUNK_FLOATS floats (at least one image), so that a large image costs a
 * bounded temporary; chunk boundaries are whole images, so no tap crosses them. */
#include "cpu_internal.h"

#include <stdlib.h>
#include <string.h>

enum {
    /* rows per SGEMM call of Z: oneDNN runs a narrow output faster in taller blocks (one
     * core, 9Co = 36 x Ci 512: 127 GFLOP/s at 256 rows, 145 at 512; 9Co = 72: 151 -> 172) */
    TAPS_ROWS = 512,
    ALIGN_ROWS = 16,
    ALIGN_CHANNELS = 16,
    TAPS_CHUNK_FLOATS = 1 << 22, /* 16 MiB of Z or D */
};

/* Images per chunk of a pass whose temporary holds `per_image` floats per image. */
static int chunk_images(int N, size_t per_image)
{
    size_t n = TAPS_CHUNK_FLOATS / (per_image > 0 ? per_image : 1);
    return n < 1 ? 1 : n > (size_t)N ? N : (int)n;
}

/* ---- forward --------------------------------------------------------------------- */

typedef struct {
    const float *x, *wt, *bias, *mask;
    float *z, *y;
    size_t pixels, parts; /* of the chunk; even pixel ranges */
    int H, W, Ci, Co, relu, accumulate;
} taps_fwd_ctx;

/* Z rows [b, e) of the chunk = x rows wt^T, in blocks of TAPS_ROWS rows. */
static void taps_gemm_part(void *p, size_t part, int worker)
{
    (void)worker;
    const taps_fwd_ctx *c = p;
    size_t b, e;
    cpu_even_range(part, c->parts, c->pixels, ALIGN_ROWS, &b, &e);
    const int n = 9 * c->Co;
    for (size_t r0 = b; r0 < e; r0 += TAPS_ROWS) {
        const size_t r1 = r0 + TAPS_ROWS < e ? r0 + TAPS_ROWS : e;
        cpu_sgemm(0, 1, (int)(r1 - r0), n, c->Ci, 1.0f, c->x + r0 * (size_t)c->Ci, c->Ci, c->wt, c->Ci, 0.0f,
                  c->z + r0 * (size_t)n, n);
    }
}

/* y row r of the chunk from the tap sums of Z, then bias, accumulate, mask, ReLU;
 * Co is a constant where taps_sum_part inlines it. */
static inline void taps_sum_pixel(const taps_fwd_ctx *c, int Co, size_t r)
{
    const size_t hw = (size_t)c->H * c->W, zw = 9 * (size_t)Co;
    size_t rem = r % hw;
    int i = (int)(rem / (size_t)c->W), j = (int)(rem % (size_t)c->W);
    float *yr = c->y + r * (size_t)Co;
    float s[CPU_FEW_OUTPUTS_MAX];
    for (int o = 0; o < Co; o++)
        s[o] = 0.0f;
    for (int ky = 0; ky < 3; ky++) {
        int si = i + ky - 1;
        if (si < 0 || si >= c->H)
            continue;
        for (int kx = 0; kx < 3; kx++) {
            int sj = j + kx - 1;
            if (sj < 0 || sj >= c->W)
                continue;
            const float *zr = c->z + (r - rem + (size_t)si * c->W + (size_t)sj) * zw + (size_t)(ky * 3 + kx) * Co;
            for (int o = 0; o < Co; o++)
                s[o] += zr[o];
        }
    }
    const float *mr = c->mask ? c->mask + r * (size_t)Co : NULL;
    for (int o = 0; o < Co; o++) {
        float v = s[o] + (c->bias ? c->bias[o] : 0.0f);
        if (c->accumulate)
            v += yr[o];
        if (mr != NULL && !(mr[o] > 0.0f))
            v = 0.0f;
        yr[o] = c->relu && !(v > 0.0f) ? 0.0f : v;
    }
}

/* y rows [r0, r1) of the chunk. */
CPU_ISA_CLONES
static void taps_sum_part(void *p, size_t part, int worker)
{
    (void)worker;
    const taps_fwd_ctx *c = p;
    size_t r0, r1;
    cpu_even_range(part, c->parts, c->pixels, ALIGN_ROWS, &r0, &r1);
    switch (c->Co) { /* the report model's: 2, 4, 8, 16; other widths take the general loop */
    case 2: for (size_t r = r0; r < r1; r++) taps_sum_pixel(c, 2, r); break;
    case 4: for (size_t r = r0; r < r1; r++) taps_sum_pixel(c, 4, r); break;
    case 8: for (size_t r = r0; r < r1; r++) taps_sum_pixel(c, 8, r); break;
    case 16: for (size_t r = r0; r < r1; r++) taps_sum_pixel(c, 16, r); break;
    default: for (size_t r = r0; r < r1; r++) taps_sum_pixel(c, c->Co, r); break;
    }
}

glow_status cpu_conv3x3_taps_forward(glow_backend *be, glow_tensor x, const float *w, int Co, const float *bias,
                                     float *y, int relu, int accumulate, const float *mask, const char *op)
{
    cpu_state *st = cpu_st(be);
    const int Ci = x.c;
    const size_t hw = (size_t)x.h * x.w, zw = 9 * (size_t)Co;
    const int per_chunk = chunk_images(x.n, hw * zw);
    const size_t wt_count = zw * (size_t)Ci, z_count = (size_t)per_chunk * hw * zw;
    float *wt = cpu_alloc_floats(st, wt_count + z_count, op);
    if (wt == NULL)
        return GLOW_ERR_OUT_OF_MEMORY;
    for (int o = 0; o < Co; o++)
        for (int t = 0; t < 9; t++)
            memcpy(wt + ((size_t)t * Co + o) * Ci, w + ((size_t)o * 9 + t) * Ci, (size_t)Ci * sizeof(float));
    for (int n0 = 0; n0 < x.n; n0 += per_chunk) {
        const int nc = x.n - n0 < per_chunk ? x.n - n0 : per_chunk;
        const size_t first = (size_t)n0 * hw;
        taps_fwd_ctx c = {cpu_data(x) + first * (size_t)Ci, wt, bias, mask ? mask + first * (size_t)Co : NULL,
                          wt + wt_count, y + first * (size_t)Co, (size_t)nc * hw, 1, x.h, x.w, Ci, Co, relu,
                          accumulate};
        c.parts = cpu_thread_parts(st, c.pixels, ALIGN_ROWS, 2.0 * (double)c.pixels * (double)zw * Ci);
        cpu_parallel(be, c.parts, taps_gemm_part, &c);
        cpu_parallel(be, c.parts, taps_sum_part, &c);
    }
    cpu_free_floats(st, wt, wt_count + z_count);
    return GLOW_OK;
}

/* ---- weight gradient ------------------------------------------------------------- */

typedef struct {
    const float *x, *dy;
    float *d, *s;
    size_t pixels; /* of the chunk */
    size_t row_parts, col_parts; /* even pixel ranges (D), even input-channel ranges (S) */
    int H, W, Ci, Co;
    float beta; /* 0 for the first chunk, then 1 */
} taps_dw_ctx;

/* D rows [r0, r1) of the chunk: the dy of the pixel each tap of p comes from. */
static void taps_shift_part(void *p, size_t part, int worker)
{
    (void)worker;
    const taps_dw_ctx *c = p;
    size_t r0, r1;
    cpu_even_range(part, c->row_parts, c->pixels, ALIGN_ROWS, &r0, &r1);
    /* p = q + d_t, so q = p - d_t: dy's im2col with the taps' offsets negated */
    cpu_im2col(c->dy, c->H, c->W, c->Co, 3, 1, r0, r1, c->d + r0 * 9 * (size_t)c->Co);
}

/* S[:, c0:c1] (+)= D^T x[:, c0:c1], (9Co x P)(P x n). */
static void taps_dw_gemm_part(void *p, size_t part, int worker)
{
    (void)worker;
    const taps_dw_ctx *c = p;
    size_t c0, c1;
    cpu_even_range(part, c->col_parts, (size_t)c->Ci, ALIGN_CHANNELS, &c0, &c1);
    const int m = 9 * c->Co;
    cpu_sgemm(1, 0, m, (int)(c1 - c0), (int)c->pixels, 1.0f, c->d, m, c->x + c0, c->Ci, c->beta, c->s + c0, c->Ci);
}

glow_status cpu_conv3x3_taps_backward_weight(glow_backend *be, glow_tensor x, glow_tensor dy, float *dw, float *dbias,
                                             const char *op)
{
    cpu_state *st = cpu_st(be);
    const int Ci = x.c, Co = dy.c;
    const size_t hw = (size_t)x.h * x.w, dw_ = 9 * (size_t)Co;
    const int per_chunk = chunk_images(x.n, hw * dw_);
    const size_t s_count = dw_ * (size_t)Ci, d_count = (size_t)per_chunk * hw * dw_;
    float *s = cpu_alloc_floats(st, s_count + d_count, op);
    if (s == NULL)
        return GLOW_ERR_OUT_OF_MEMORY;
    for (int n0 = 0; n0 < x.n; n0 += per_chunk) {
        const int nc = x.n - n0 < per_chunk ? x.n - n0 : per_chunk;
        const size_t first = (size_t)n0 * hw;
        taps_dw_ctx c = {cpu_data(x) + first * (size_t)Ci, cpu_data(dy) + first * (size_t)Co, s + s_count, s,
                         (size_t)nc * hw, 1, 1, x.h, x.w, Ci, Co, n0 == 0 ? 0.0f : 1.0f};
        const double flops = 2.0 * (double)c.pixels * (double)dw_ * Ci;
        c.row_parts = cpu_thread_parts(st, c.pixels, ALIGN_ROWS, flops);
        c.col_parts = cpu_thread_parts(st, (size_t)Ci, ALIGN_CHANNELS, flops);
        cpu_parallel(be, c.row_parts, taps_shift_part, &c);
        cpu_parallel(be, c.col_parts, taps_dw_gemm_part, &c);
    }
    for (int o = 0; o < Co; o++)
        for (int t = 0; t < 9; t++) {
            float *dst = dw + ((size_t)o * 9 + t) * Ci;
            const float *src = s + ((size_t)t * Co + o) * Ci;
            for (int ci = 0; ci < Ci; ci++)
                dst[ci] += src[ci];
        }
    if (dbias != NULL)
        cpu_bias_sums_few(cpu_data(dy), glow_tensor_rows(dy), Co, dbias);
    cpu_free_floats(st, s, s_count + d_count);
    return GLOW_OK;
}
