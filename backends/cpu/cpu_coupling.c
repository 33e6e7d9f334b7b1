/* Fast CPU backend: affine coupling, each direction one fused pass.
 * x, y: (N,H,W,C); Ca = C/2 pass-through channels [0, Ca), Cb = C - Ca
 * transformed channels [Ca, C). h: (N,H,W,2Cb), shift = h[p][0..Cb),
 * raw = h[p][Cb..2Cb), z = raw + 2, s = sigmoid(z):
 *   y_a = x_a,  y_b = (x_b + shift) s,  ld[n] += sum_{p in n, k} log s.
 * One exp per element gives both s and log s: with e = exp(-|z|),
 *   z >= 0: s = 1 / (1 + e), log s = -log1p(e);  z < 0: s = e / (1 + e), log s = z - log1p(e). */
#include "cpu_internal.h"

#include <math.h>
#include <string.h>

typedef struct {
    const float *x, *h, *dy;
    float *y, *dx, *dh, *ld;
    float g;
    size_t per_sample, pixels, grain;
    int c, ca, cb;
} coupling_ctx;

static inline float scale_of(float raw)
{
    return 1.0f / (1.0f + expf(-(raw + 2.0f)));
}

/* Part = one sample: y for its pixels and ld[n] (summed in double, in pixel order). */
static void forward_part(void *p, size_t n, int worker)
{
    (void)worker;
    const coupling_ctx *k = p;
    const int C = k->c, Ca = k->ca, Cb = k->cb;
    double sum_log_s = 0.0;
    for (size_t q = n * k->per_sample; q < (n + 1) * k->per_sample; q++) {
        const float *x = k->x + q * C, *h = k->h + q * 2 * Cb;
        float *y = k->y + q * C;
        memcpy(y, x, (size_t)Ca * sizeof(float));
        float row_log_s = 0.0f;
        for (int i = 0; i < Cb; i++) {
            float z = h[Cb + i] + 2.0f;
            float e = expf(-fabsf(z));
            float inv = 1.0f / (1.0f + e);
            float s = z >= 0.0f ? inv : e * inv;
            y[Ca + i] = (x[Ca + i] + h[i]) * s;
            row_log_s += (z >= 0.0f ? 0.0f : z) - log1pf(e);
        }
        sum_log_s += row_log_s;
    }
    k->ld[n] += (float)sum_log_s;
}

glow_status cpu_coupling_forward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor y, glow_tensor ld)
{
    const int C = x.c, Ca = C / 2;
    coupling_ctx k = {.x = cpu_data(x), .h = cpu_data(h), .y = cpu_data(y), .ld = cpu_data(ld),
                      .per_sample = (size_t)x.h * x.w, .c = C, .ca = Ca, .cb = C - Ca};
    cpu_parallel(be, (size_t)x.n, forward_part, &k);
    return GLOW_OK;
}

/* x_a = y_a, x_b = y_b / s - shift. */
static void inverse_part(void *p, size_t part, int worker)
{
    (void)worker;
    const coupling_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, k->grain, k->pixels, &b, &e);
    const int C = k->c, Ca = k->ca, Cb = k->cb;
    for (size_t q = b; q < e; q++) {
        const float *y = k->x + q * C, *h = k->h + q * 2 * Cb;
        float *x = k->y + q * C;
        memcpy(x, y, (size_t)Ca * sizeof(float));
        for (int i = 0; i < Cb; i++)
            x[Ca + i] = y[Ca + i] / scale_of(h[Cb + i]) - h[i];
    }
}

glow_status cpu_coupling_inverse(glow_backend *be, glow_tensor y, glow_tensor h, glow_tensor x)
{
    const int C = y.c, Ca = C / 2;
    coupling_ctx k = {.x = cpu_data(y), .h = cpu_data(h), .y = cpu_data(x), .pixels = glow_tensor_rows(y),
                      .grain = cpu_pixel_grain(2 * (size_t)C), .c = C, .ca = Ca, .cb = C - Ca};
    cpu_parallel(be, cpu_parts(k.pixels, k.grain), inverse_part, &k);
    return GLOW_OK;
}

/*   dx_a += dy_a;  dx_b += dy_b s;  dshift += dy_b s;  draw += (dy_b (x_b + shift) s + g) (1 - s). */
static void backward_part(void *p, size_t part, int worker)
{
    (void)worker;
    const coupling_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, k->grain, k->pixels, &b, &e);
    const int C = k->c, Ca = k->ca, Cb = k->cb;
    const float g = k->g;
    for (size_t q = b; q < e; q++) {
        const float *x = k->x + q * C, *h = k->h + q * 2 * Cb, *gy = k->dy + q * C;
        float *gx = k->dx + q * C, *gh = k->dh + q * 2 * Cb;
        for (int i = 0; i < Ca; i++)
            gx[i] += gy[i];
        for (int i = 0; i < Cb; i++) {
            float s = scale_of(h[Cb + i]);
            float gyb = gy[Ca + i];
            gx[Ca + i] += gyb * s;
            gh[i] += gyb * s;
            gh[Cb + i] += (gyb * (x[Ca + i] + h[i]) * s + g) * (1.0f - s);
        }
    }
}

glow_status cpu_coupling_backward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor dy, float g,
                                  glow_tensor dx, glow_tensor dh)
{
    const int C = x.c, Ca = C / 2;
    coupling_ctx k = {.x = cpu_data(x), .h = cpu_data(h), .dy = cpu_data(dy), .dx = cpu_data(dx), .dh = cpu_data(dh),
                      .g = g, .pixels = glow_tensor_rows(x), .grain = cpu_pixel_grain(4 * (size_t)C), .c = C, .ca = Ca,
                      .cb = C - Ca};
    cpu_parallel(be, cpu_parts(k.pixels, k.grain), backward_part, &k);
    return GLOW_OK;
}
