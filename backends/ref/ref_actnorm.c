/* CPU reference: actnorm, y = (x + bias[c]) * exp(logs[c]) per channel c.
 * x, y: (N,H,W,C) NHWC; bias, logs: C-vectors. Per-channel sums in double. */
#include "ref_internal.h"

#include <math.h>
#include <stdlib.h>

glow_status ref_actnorm_forward(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs, glow_tensor y)
{
    (void)be;
    float *scale = ref_channel_exp(logs, 1.0f, "actnorm_forward");
    if (scale == NULL)
        return GLOW_ERR_OUT_OF_MEMORY;
    const float *xv = ref_data(x), *b = ref_data(bias);
    float *yv = ref_data(y); /* may alias x: each element is read before it is written */
    const int C = x.c;
    size_t pixels = glow_tensor_rows(x);
    for (size_t p = 0; p < pixels; p++)
        for (int c = 0; c < C; c++) {
            size_t i = p * C + c;
            yv[i] = (xv[i] + b[c]) * scale[c];
        }
    free(scale);
    return GLOW_OK;
}

/* x = y * exp(-logs[c]) - bias[c]. */
glow_status ref_actnorm_inverse(glow_backend *be, glow_tensor y, glow_tensor bias, glow_tensor logs, glow_tensor x)
{
    (void)be;
    float *inv_scale = ref_channel_exp(logs, -1.0f, "actnorm_inverse");
    if (inv_scale == NULL)
        return GLOW_ERR_OUT_OF_MEMORY;
    const float *yv = ref_data(y), *b = ref_data(bias);
    float *xv = ref_data(x);
    const int C = y.c;
    size_t pixels = glow_tensor_rows(y);
    for (size_t p = 0; p < pixels; p++)
        for (int c = 0; c < C; c++) {
            size_t i = p * C + c;
            xv[i] = yv[i] * inv_scale[c] - b[c];
        }
    free(inv_scale);
    return GLOW_OK;
}

/* With s_c = e^logs[c] and y = (x + b) s_c recomputed from x:
 *   dx += dy s_c;  dbias[c] += sum_p dy s_c;  dlogs[c] += sum_p dy y. */
glow_status ref_actnorm_backward(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor bias, glow_tensor logs,
                                 glow_tensor dx, glow_tensor dbias, glow_tensor dlogs)
{
    (void)be;
    const int C = x.c;
    float *scale = ref_channel_exp(logs, 1.0f, "actnorm_backward");
    double *sum_dy = ref_zeros_f64((size_t)C, "actnorm_backward");
    double *sum_dy_y = ref_zeros_f64((size_t)C, "actnorm_backward");
    if (scale == NULL || sum_dy == NULL || sum_dy_y == NULL) {
        free(scale);
        free(sum_dy);
        free(sum_dy_y);
        return GLOW_ERR_OUT_OF_MEMORY;
    }
    const float *xv = ref_data(x), *g = ref_data(dy), *b = ref_data(bias);
    float *gx = ref_data(dx);
    size_t pixels = glow_tensor_rows(x);
    for (size_t p = 0; p < pixels; p++)
        for (int c = 0; c < C; c++) {
            size_t i = p * C + c;
            float y = (xv[i] + b[c]) * scale[c];
            gx[i] += g[i] * scale[c];
            sum_dy[c] += g[i];
            sum_dy_y[c] += (double)g[i] * y;
        }
    float *gb = ref_data(dbias), *gl = ref_data(dlogs);
    for (int c = 0; c < C; c++) {
        gb[c] += (float)(sum_dy[c] * scale[c]);
        gl[c] += (float)sum_dy_y[c];
    }
    free(scale);
    free(sum_dy);
    free(sum_dy_y);
    return GLOW_OK;
}

/* Per channel over all P pixels (two passes, in double):
 *   mean_c = sum x / P,  std_c = sqrt(sum (x - mean_c)^2 / P),
 *   bias[c] = -mean_c,  logs[c] = -log(std_c + 1e-6). */
glow_status ref_actnorm_init(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs)
{
    (void)be;
    const int C = x.c;
    double *mean = ref_zeros_f64((size_t)C, "actnorm_init");
    double *sq = ref_zeros_f64((size_t)C, "actnorm_init");
    if (mean == NULL || sq == NULL) {
        free(mean);
        free(sq);
        return GLOW_ERR_OUT_OF_MEMORY;
    }
    const float *xv = ref_data(x);
    size_t pixels = glow_tensor_rows(x);
    for (size_t p = 0; p < pixels; p++)
        for (int c = 0; c < C; c++)
            mean[c] += xv[p * C + c];
    for (int c = 0; c < C; c++)
        mean[c] /= (double)pixels;
    for (size_t p = 0; p < pixels; p++)
        for (int c = 0; c < C; c++) {
            double d = xv[p * C + c] - mean[c];
            sq[c] += d * d;
        }
    float *b = ref_data(bias), *l = ref_data(logs);
    for (int c = 0; c < C; c++) {
        double std = sqrt(sq[c] / (double)pixels);
        b[c] = (float)-mean[c];
        l[c] = (float)-log(std + 1e-6);
    }
    free(mean);
    free(sq);
    return GLOW_OK;
}
