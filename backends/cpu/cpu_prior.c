/* Fast CPU backend: the learned Gaussian prior.
 * z: (N,H,W,C); h: (N,H,W,2C) with mean = h[p][0..C), logsd = h[p][C..2C).
 *   logp[n] += sum_{p in n, c} -0.5 log(2 pi) - logsd - 0.5 (z - mean)^2 e^(-2 logsd).
 * logp: one part per sample (summed in double, pixel order); the rest in
 * fixed-size pixel parts. */
#include "cpu_internal.h"

#include <math.h>

static const double HALF_LOG_2PI = 0.91893853320467274178;

typedef struct {
    const float *z, *h;
    float *out, *dz, *dh;
    float g, temperature;
    glow_rng rng;
    size_t per_sample, pixels, grain;
    int c;
} prior_ctx;

static void logp_part(void *p, size_t n, int worker)
{
    (void)worker;
    const prior_ctx *k = p;
    const int C = k->c;
    double sum = 0.0;
    for (size_t q = n * k->per_sample; q < (n + 1) * k->per_sample; q++) {
        const float *z = k->z + q * C, *h = k->h + q * 2 * C;
        float row = 0.0f;
        for (int c = 0; c < C; c++) {
            float d = z[c] - h[c], logsd = h[C + c];
            row += -logsd - 0.5f * d * d * expf(-2.0f * logsd);
        }
        sum += (double)row - HALF_LOG_2PI * C;
    }
    k->out[n] += (float)sum;
}

glow_status cpu_gaussian_logp(glow_backend *be, glow_tensor z, glow_tensor h, glow_tensor logp)
{
    prior_ctx k = {.z = cpu_data(z), .h = cpu_data(h), .out = cpu_data(logp), .per_sample = (size_t)z.h * z.w,
                   .c = z.c};
    cpu_parallel(be, (size_t)z.n, logp_part, &k);
    return GLOW_OK;
}

/* d = (z - mean) e^(-2 logsd): dz += -g d;  dmean += g d;  dlogsd += g ((z - mean) d - 1). */
static void logp_backward_part(void *p, size_t part, int worker)
{
    (void)worker;
    const prior_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, k->grain, k->pixels, &b, &e);
    const int C = k->c;
    const float g = k->g;
    for (size_t q = b; q < e; q++) {
        const float *z = k->z + q * C, *h = k->h + q * 2 * C;
        float *gh = k->dh + q * 2 * C;
        float *gz = k->dz ? k->dz + q * C : NULL;
        for (int c = 0; c < C; c++) {
            float diff = z[c] - h[c];
            float d = diff * expf(-2.0f * h[C + c]);
            if (gz)
                gz[c] += -g * d;
            gh[c] += g * d;
            gh[C + c] += g * (diff * d - 1.0f);
        }
    }
}

glow_status cpu_gaussian_logp_backward(glow_backend *be, glow_tensor z, glow_tensor h, float g, glow_tensor dz,
                                       glow_tensor dh)
{
    prior_ctx k = {.z = cpu_data(z), .h = cpu_data(h), .dz = dz.buf ? cpu_data(dz) : NULL, .dh = cpu_data(dh),
                   .g = g, .pixels = glow_tensor_rows(z), .grain = cpu_pixel_grain(4 * (size_t)z.c), .c = z.c};
    cpu_parallel(be, cpu_parts(k.pixels, k.grain), logp_backward_part, &k);
    return GLOW_OK;
}

/* z[i] = mean + e^logsd * temperature * normal(rng, i), i the flat index in z. */
static void sample_part(void *p, size_t part, int worker)
{
    (void)worker;
    const prior_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, k->grain, k->pixels, &b, &e);
    const int C = k->c;
    for (size_t q = b; q < e; q++) {
        const float *h = k->h + q * 2 * C;
        for (int c = 0; c < C; c++) {
            size_t i = q * C + c;
            k->out[i] = h[c] + expf(h[C + c]) * k->temperature * glow_rng_normal(k->rng, i);
        }
    }
}

glow_status cpu_gaussian_sample(glow_backend *be, glow_tensor h, float temperature, glow_rng rng, glow_tensor z)
{
    prior_ctx k = {.h = cpu_data(h), .out = cpu_data(z), .temperature = temperature, .rng = rng,
                   .pixels = glow_tensor_rows(z), .grain = cpu_pixel_grain(3 * (size_t)z.c), .c = z.c};
    cpu_parallel(be, cpu_parts(k.pixels, k.grain), sample_part, &k);
    return GLOW_OK;
}
