/* CPU reference: the learned Gaussian prior.
 * z: (N,H,W,C); h: (N,H,W,2C) with mean = h[p][0..C), logsd = h[p][C..2C).
 *   logp[n] += sum_{p in n, c} -0.5 log(2 pi) - logsd - 0.5 (z - mean)^2 e^(-2 logsd). */
#include "ref_internal.h"

#include <math.h>

static const double HALF_LOG_2PI = 0.91893853320467274178;

glow_status ref_gaussian_logp(glow_backend *be, glow_tensor z, glow_tensor h, glow_tensor logp)
{
    (void)be;
    const int C = z.c;
    const float *zv = ref_data(z), *hv = ref_data(h);
    float *lp = ref_data(logp);
    size_t per_sample = (size_t)z.h * z.w;
    for (int n = 0; n < z.n; n++) {
        double sum = 0.0;
        for (size_t q = 0; q < per_sample; q++) {
            size_t p = (size_t)n * per_sample + q;
            const float *zp = zv + p * C, *hp = hv + p * 2 * C;
            for (int c = 0; c < C; c++) {
                double mean = hp[c], logsd = hp[C + c], d = (double)zp[c] - mean;
                sum += -HALF_LOG_2PI - logsd - 0.5 * d * d * exp(-2.0 * logsd);
            }
        }
        lp[n] += (float)sum;
    }
    return GLOW_OK;
}

/* g = dLoss/dlogp[n], d = (z - mean) e^(-2 logsd):
 *   dz += -g d (when dz is present);  dmean += g d;  dlogsd += g ((z - mean) d - 1). */
glow_status ref_gaussian_logp_backward(glow_backend *be, glow_tensor z, glow_tensor h, float g, glow_tensor dz,
                                       glow_tensor dh)
{
    (void)be;
    const int C = z.c;
    const float *zv = ref_data(z), *hv = ref_data(h);
    float *gz = dz.buf ? ref_data(dz) : NULL, *gh = ref_data(dh);
    size_t pixels = glow_tensor_rows(z);
    for (size_t p = 0; p < pixels; p++) {
        const float *zp = zv + p * C, *hp = hv + p * 2 * C;
        float *ghp = gh + p * 2 * C;
        for (int c = 0; c < C; c++) {
            float diff = zp[c] - hp[c];
            float d = diff * expf(-2.0f * hp[C + c]);
            if (gz)
                gz[p * C + c] += -g * d;
            ghp[c] += g * d;
            ghp[C + c] += g * (diff * d - 1.0f);
        }
    }
    return GLOW_OK;
}

/* z[i] = mean + e^logsd * temperature * normal(rng, i), i the flat index in z. */
glow_status ref_gaussian_sample(glow_backend *be, glow_tensor h, float temperature, glow_rng rng, glow_tensor z)
{
    (void)be;
    const int C = z.c;
    const float *hv = ref_data(h);
    float *zv = ref_data(z);
    size_t pixels = glow_tensor_rows(z);
    for (size_t p = 0; p < pixels; p++)
        for (int c = 0; c < C; c++) {
            size_t i = p * C + c;
            const float *hp = hv + p * 2 * C;
            zv[i] = hp[c] + expf(hp[C + c]) * temperature * glow_rng_normal(rng, i);
        }
    return GLOW_OK;
}
