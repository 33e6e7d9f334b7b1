/* CPU reference: affine coupling.
 * x, y: (N,H,W,C); Ca = C/2 pass-through channels [0, Ca), Cb = C - Ca
 * transformed channels [Ca, C). h: (N,H,W,2Cb), shift = h[p][0..Cb),
 * raw = h[p][Cb..2Cb), s = sigmoid(raw + 2):
 *   y_a = x_a,  y_b = (x_b + shift) s,  ld[n] += sum_{p in n, k} log s. */
#include "ref_internal.h"

#include <math.h>

static inline float coupling_scale(float raw)
{
    return 1.0f / (1.0f + expf(-(raw + 2.0f)));
}

/* log sigmoid(z) = -log(1 + e^-z), evaluated without overflow for either sign of z. */
static inline double log_sigmoid(double z)
{
    return z >= 0.0 ? -log1p(exp(-z)) : z - log1p(exp(z));
}

glow_status ref_coupling_forward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor y, glow_tensor ld)
{
    (void)be;
    const int C = x.c, Ca = C / 2, Cb = C - Ca;
    const float *xv = ref_data(x), *hv = ref_data(h);
    float *yv = ref_data(y), *l = ref_data(ld);
    size_t per_sample = (size_t)x.h * x.w;
    for (int n = 0; n < x.n; n++) {
        double sum_log_s = 0.0;
        for (size_t q = 0; q < per_sample; q++) {
            size_t p = (size_t)n * per_sample + q;
            const float *xp = xv + p * C, *hp = hv + p * 2 * Cb;
            float *yp = yv + p * C;
            for (int k = 0; k < Ca; k++)
                yp[k] = xp[k];
            for (int k = 0; k < Cb; k++) {
                float raw = hp[Cb + k];
                yp[Ca + k] = (xp[Ca + k] + hp[k]) * coupling_scale(raw);
                sum_log_s += log_sigmoid((double)raw + 2.0);
            }
        }
        l[n] += (float)sum_log_s;
    }
    return GLOW_OK;
}

/* x_a = y_a, x_b = y_b / s - shift. */
glow_status ref_coupling_inverse(glow_backend *be, glow_tensor y, glow_tensor h, glow_tensor x)
{
    (void)be;
    const int C = y.c, Ca = C / 2, Cb = C - Ca;
    const float *yv = ref_data(y), *hv = ref_data(h);
    float *xv = ref_data(x);
    size_t pixels = glow_tensor_rows(y);
    for (size_t p = 0; p < pixels; p++) {
        const float *yp = yv + p * C, *hp = hv + p * 2 * Cb;
        float *xp = xv + p * C;
        for (int k = 0; k < Ca; k++)
            xp[k] = yp[k];
        for (int k = 0; k < Cb; k++)
            xp[Ca + k] = yp[Ca + k] / coupling_scale(hp[Cb + k]) - hp[k];
    }
    return GLOW_OK;
}

/* g = dLoss/dld[n]:
 *   dx_a += dy_a;  dx_b += dy_b s;  dshift += dy_b s;
 *   draw += (dy_b (x_b + shift) s + g) (1 - s). */
glow_status ref_coupling_backward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor dy, float g,
                                  glow_tensor dx, glow_tensor dh)
{
    (void)be;
    const int C = x.c, Ca = C / 2, Cb = C - Ca;
    const float *xv = ref_data(x), *hv = ref_data(h), *gy = ref_data(dy);
    float *gx = ref_data(dx), *gh = ref_data(dh);
    size_t pixels = glow_tensor_rows(x);
    for (size_t p = 0; p < pixels; p++) {
        const float *xp = xv + p * C, *hp = hv + p * 2 * Cb, *gyp = gy + p * C;
        float *gxp = gx + p * C, *ghp = gh + p * 2 * Cb;
        for (int k = 0; k < Ca; k++)
            gxp[k] += gyp[k];
        for (int k = 0; k < Cb; k++) {
            float s = coupling_scale(hp[Cb + k]);
            float gyb = gyp[Ca + k];
            gxp[Ca + k] += gyb * s;
            ghp[k] += gyb * s;
            ghp[Cb + k] += (gyb * (xp[Ca + k] + hp[k]) * s + g) * (1.0f - s);
        }
    }
    return GLOW_OK;
}
