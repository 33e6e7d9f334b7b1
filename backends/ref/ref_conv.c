/* CPU reference: 2-D convolution (stride 1, zero padding pad = (k-1)/2, k in {1,3})
 * with optional bias and fused ReLU, its two backward passes, and the
 * per-channel output scale of the zero-initialised conv.
 *   x: (N,H,W,Ci), w: (Co,k,k,Ci) = w[co][ky][kx][ci], bias: Co, y: (N,H,W,Co)
 *   y[n][i][j][co] = act(bias[co] + sum_{ky,kx,ci} w[co][ky][kx][ci] x[n][i+ky-pad][j+kx-pad][ci])
 * Direct loops, no im2col; the innermost loop always runs over contiguous
 * channels (ci of x and w; the forward computes 4 output channels per pass over
 * x), and every sum is accumulated in double. Measured on this 2-core machine:
 * ~1.5 GMAC/s forward for N=16, 16x16, 128 -> 128 channels, k = 3. */
#include "ref_internal.h"

#include <math.h>
#include <stdlib.h>

static inline size_t pixel_index(glow_tensor t, int n, int i, int j)
{
    return ((size_t)n * t.h + i) * t.w + j;
}

/* acc[0..count) += sum_ci w_co[ci] * xp[ci] for `count` (<= 4) consecutive
 * output channels whose weight rows are w0 + r*stride. Four independent double
 * accumulators share each x load; every output still sums its terms in the
 * same order (ky, kx, ci), so the result does not depend on the blocking. */
static inline void dot_rows(const float *xp, const float *w0, size_t stride, int Ci, int count, double *acc)
{
    if (count == 4) {
        const float *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
        double a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
        for (int ci = 0; ci < Ci; ci++) {
            double xv = xp[ci];
            a0 += (double)w0[ci] * xv;
            a1 += (double)w1[ci] * xv;
            a2 += (double)w2[ci] * xv;
            a3 += (double)w3[ci] * xv;
        }
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        acc[3] = a3;
        return;
    }
    for (int r = 0; r < count; r++) {
        const float *wr = w0 + r * stride;
        double a = acc[r];
        for (int ci = 0; ci < Ci; ci++)
            a += (double)wr[ci] * xp[ci];
        acc[r] = a;
    }
}

glow_status ref_conv2d_forward(glow_backend *be, glow_tensor x, glow_tensor w, glow_tensor bias, glow_tensor y,
                               int relu)
{
    (void)be;
    const int k = w.h, pad = (k - 1) / 2, Ci = x.c, Co = y.c, H = x.h, W = x.w;
    const size_t w_row = (size_t)k * k * Ci; /* floats between w[co] and w[co+1] */
    const float *xv = ref_data(x), *wv = ref_data(w);
    const float *b = bias.buf ? ref_data(bias) : NULL;
    float *yv = ref_data(y);
    for (int n = 0; n < x.n; n++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                float *yp = yv + pixel_index(y, n, i, j) * Co;
                for (int co0 = 0; co0 < Co; co0 += 4) {
                    int count = Co - co0 < 4 ? Co - co0 : 4;
                    double acc[4];
                    for (int r = 0; r < count; r++)
                        acc[r] = b ? b[co0 + r] : 0.0;
                    for (int ky = 0; ky < k; ky++) {
                        int si = i + ky - pad;
                        if (si < 0 || si >= H)
                            continue;
                        for (int kx = 0; kx < k; kx++) {
                            int sj = j + kx - pad;
                            if (sj < 0 || sj >= W)
                                continue;
                            const float *xp = xv + pixel_index(x, n, si, sj) * Ci;
                            const float *wp = wv + (size_t)co0 * w_row + ((size_t)ky * k + kx) * Ci;
                            dot_rows(xp, wp, w_row, Ci, count, acc);
                        }
                    }
                    for (int r = 0; r < count; r++) {
                        float out = (float)acc[r];
                        yp[co0 + r] = (relu && !(out > 0.0f)) ? 0.0f : out;
                    }
                }
            }
    return GLOW_OK;
}

/* dx[n][i][j][ci] += sum_{ky,kx,co} w[co][ky][kx][ci] dy[n][i-ky+pad][j-kx+pad][co]
 * (gathered per input pixel into a double row acc[0..Ci)). */
glow_status ref_conv2d_backward_data(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor dx)
{
    (void)be;
    const int k = w.h, pad = (k - 1) / 2, Ci = dx.c, Co = dy.c, H = dx.h, W = dx.w;
    double *acc = ref_zeros_f64((size_t)Ci, "conv2d_backward_data");
    if (acc == NULL)
        return GLOW_ERR_OUT_OF_MEMORY;
    const float *g = ref_data(dy), *wv = ref_data(w);
    float *gx = ref_data(dx);
    for (int n = 0; n < dx.n; n++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                for (int ci = 0; ci < Ci; ci++)
                    acc[ci] = 0.0;
                for (int ky = 0; ky < k; ky++) {
                    int oi = i - ky + pad;
                    if (oi < 0 || oi >= H)
                        continue;
                    for (int kx = 0; kx < k; kx++) {
                        int oj = j - kx + pad;
                        if (oj < 0 || oj >= W)
                            continue;
                        const float *gp = g + pixel_index(dy, n, oi, oj) * Co;
                        for (int co = 0; co < Co; co++) {
                            double d = gp[co];
                            const float *wp = wv + (((size_t)co * k + ky) * k + kx) * Ci;
                            for (int ci = 0; ci < Ci; ci++)
                                acc[ci] += d * wp[ci];
                        }
                    }
                }
                float *gxp = gx + pixel_index(dx, n, i, j) * Ci;
                for (int ci = 0; ci < Ci; ci++)
                    gxp[ci] += (float)acc[ci];
            }
    free(acc);
    return GLOW_OK;
}

/* dw[co][ky][kx][ci] += sum_p dy[p][co] x[p + (ky-pad, kx-pad)][ci];  dbias[co] += sum_p dy[p][co].
 * Accumulated over all pixels in a double copy of dw (Co*k*k*Ci) and dbias (Co). */
glow_status ref_conv2d_backward_weight(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor dw,
                                       glow_tensor dbias)
{
    (void)be;
    const int k = dw.h, pad = (k - 1) / 2, Ci = x.c, Co = dy.c, H = x.h, W = x.w;
    size_t wcount = glow_tensor_count(dw);
    double *acc_w = ref_zeros_f64(wcount, "conv2d_backward_weight");
    double *acc_b = ref_zeros_f64((size_t)Co, "conv2d_backward_weight");
    if (acc_w == NULL || acc_b == NULL) {
        free(acc_w);
        free(acc_b);
        return GLOW_ERR_OUT_OF_MEMORY;
    }
    const float *xv = ref_data(x), *g = ref_data(dy);
    for (int n = 0; n < x.n; n++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                const float *gp = g + pixel_index(dy, n, i, j) * Co;
                for (int co = 0; co < Co; co++) {
                    double d = gp[co];
                    acc_b[co] += d;
                    for (int ky = 0; ky < k; ky++) {
                        int si = i + ky - pad;
                        if (si < 0 || si >= H)
                            continue;
                        for (int kx = 0; kx < k; kx++) {
                            int sj = j + kx - pad;
                            if (sj < 0 || sj >= W)
                                continue;
                            const float *xp = xv + pixel_index(x, n, si, sj) * Ci;
                            double *ap = acc_w + (((size_t)co * k + ky) * k + kx) * Ci;
                            for (int ci = 0; ci < Ci; ci++)
                                ap[ci] += d * xp[ci];
                        }
                    }
                }
            }
    float *gw = ref_data(dw);
    for (size_t e = 0; e < wcount; e++)
        gw[e] += (float)acc_w[e];
    if (dbias.buf) {
        float *gb = ref_data(dbias);
        for (int co = 0; co < Co; co++)
            gb[co] += (float)acc_b[co];
    }
    free(acc_w);
    free(acc_b);
    return GLOW_OK;
}

/* In place: y[p][c] *= exp(factor * logs[c]). */
glow_status ref_channel_scale_forward(glow_backend *be, glow_tensor y, glow_tensor logs, float factor)
{
    (void)be;
    float *scale = ref_channel_exp(logs, factor, "channel_scale_forward");
    if (scale == NULL)
        return GLOW_ERR_OUT_OF_MEMORY;
    float *yv = ref_data(y);
    const int C = y.c;
    size_t pixels = glow_tensor_rows(y);
    for (size_t p = 0; p < pixels; p++)
        for (int c = 0; c < C; c++)
            yv[p * C + c] *= scale[c];
    free(scale);
    return GLOW_OK;
}

/* y is the scaled output: dlogs[c] += factor * sum_p dy[p][c] y[p][c], then in
 * place dy[p][c] *= exp(factor * logs[c]). */
glow_status ref_channel_scale_backward(glow_backend *be, glow_tensor y, glow_tensor dy, glow_tensor logs, float factor,
                                       glow_tensor dlogs)
{
    (void)be;
    const int C = y.c;
    float *scale = ref_channel_exp(logs, factor, "channel_scale_backward");
    double *sum = ref_zeros_f64((size_t)C, "channel_scale_backward");
    if (scale == NULL || sum == NULL) {
        free(scale);
        free(sum);
        return GLOW_ERR_OUT_OF_MEMORY;
    }
    const float *yv = ref_data(y);
    float *g = ref_data(dy);
    size_t pixels = glow_tensor_rows(y);
    for (size_t p = 0; p < pixels; p++)
        for (int c = 0; c < C; c++) {
            size_t e = p * C + c;
            sum[c] += (double)g[e] * yv[e];
            g[e] *= scale[c];
        }
    float *gl = ref_data(dlogs);
    for (int c = 0; c < C; c++)
        gl[c] += (float)((double)factor * sum[c]);
    free(scale);
    free(sum);
    return GLOW_OK;
}

/* ---- edge-indicator term of a padded 3x3 conv (openai/glow's edge_bias) ---------- *
 * w_edge: (Co,3,3,1) = w_edge[co][ky][kx], y: (N,H,W,Co). Tap (ky,kx) of output
 * pixel (i,j) reads input pixel (i+ky-1, j+kx-1); where that lies outside the
 * image the padded indicator channel is 1 there, so the tap adds w_edge[co][ky][kx]. */
static int ref_tap_outside(int i, int j, int ky, int kx, int H, int W)
{
    int si = i + ky - 1, sj = j + kx - 1;
    return si < 0 || si >= H || sj < 0 || sj >= W;
}

/* y[n][i][j][co] = act(y[n][i][j][co] + sum_{ky,kx outside} w_edge[co][ky][kx]). */
glow_status ref_conv2d_edge_forward(glow_backend *be, glow_tensor w_edge, glow_tensor y, int relu)
{
    (void)be;
    const int H = y.h, W = y.w, Co = y.c;
    const float *we = ref_data(w_edge);
    float *yv = ref_data(y);
    for (int n = 0; n < y.n; n++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                float *yp = yv + pixel_index(y, n, i, j) * Co;
                for (int co = 0; co < Co; co++) {
                    double e = 0.0;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++)
                            if (ref_tap_outside(i, j, ky, kx, H, W))
                                e += we[(size_t)co * 9 + ky * 3 + kx];
                    float v = (float)((double)yp[co] + e);
                    yp[co] = relu && v < 0.0f ? 0.0f : v;
                }
            }
    return GLOW_OK;
}

/* dw_edge[co][ky][kx] += sum_{n,i,j: tap (ky,kx) outside at (i,j)} dy[n][i][j][co]. */
glow_status ref_conv2d_edge_backward_weight(glow_backend *be, glow_tensor dy, glow_tensor dw_edge)
{
    (void)be;
    const int H = dy.h, W = dy.w, Co = dy.c;
    double *sum = ref_zeros_f64((size_t)Co * 9, "conv2d_edge_backward_weight");
    if (sum == NULL)
        return GLOW_ERR_OUT_OF_MEMORY;
    const float *g = ref_data(dy);
    for (int n = 0; n < dy.n; n++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                const float *gp = g + pixel_index(dy, n, i, j) * Co;
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++)
                        if (ref_tap_outside(i, j, ky, kx, H, W))
                            for (int co = 0; co < Co; co++)
                                sum[(size_t)co * 9 + ky * 3 + kx] += gp[co];
            }
    float *dw = ref_data(dw_edge);
    for (size_t e = 0; e < (size_t)Co * 9; e++)
        dw[e] += (float)sum[e];
    free(sum);
    return GLOW_OK;
}
