/* Fast CPU backend: actnorm, y = (x + bias[c]) * exp(logs[c]) per channel c.
 * x, y: (N,H,W,C) NHWC; bias, logs: C-vectors.
 * Per-channel reductions (backward, init) sum cpu_pixel_grain(C) pixels per part in
 * float, then the parts in part order in double. */
#include "cpu_internal.h"

#include <math.h>
#include <stdlib.h>

/* Per-channel constants of one call: up to 2 C-vectors. */
typedef struct {
    const float *x, *dy, *bias;
    float *y, *dx;
    const float *scale; /* exp(+-logs) */
    double *mean;       /* actnorm_init */
    float *partial;     /* parts x 2C partial sums */
    size_t pixels, grain;
    int c;
} an_ctx;

static void forward_part(void *p, size_t part, int worker)
{
    (void)worker;
    const an_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, k->grain, k->pixels, &b, &e);
    const int C = k->c;
    for (size_t q = b; q < e; q++) {
        const float *x = k->x + q * C;
        float *y = k->y + q * C; /* may alias x: each element is read before it is written */
        for (int c = 0; c < C; c++)
            y[c] = (x[c] + k->bias[c]) * k->scale[c];
    }
}

static void inverse_part(void *p, size_t part, int worker)
{
    (void)worker;
    const an_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, k->grain, k->pixels, &b, &e);
    const int C = k->c;
    for (size_t q = b; q < e; q++) {
        const float *y = k->x + q * C;
        float *x = k->y + q * C;
        for (int c = 0; c < C; c++)
            x[c] = y[c] * k->scale[c] - k->bias[c];
    }
}

static float *channel_scale(glow_backend *be, glow_tensor logs, float factor, const char *op)
{
    float *s = cpu_alloc_floats(cpu_st(be), (size_t)logs.c, op);
    if (s != NULL)
        cpu_channel_exp(logs, factor, s);
    return s;
}

static glow_status elementwise(glow_backend *be, glow_tensor in, glow_tensor bias, glow_tensor logs, glow_tensor out,
                               float factor, cpu_part_fn fn, const char *op)
{
    float *scale = channel_scale(be, logs, factor, op);
    if (scale == NULL)
        return GLOW_ERR_OUT_OF_MEMORY;
    an_ctx k = {.x = cpu_data(in), .bias = cpu_data(bias), .y = cpu_data(out), .scale = scale,
                .pixels = glow_tensor_rows(in), .grain = cpu_pixel_grain((size_t)in.c), .c = in.c};
    cpu_parallel(be, cpu_parts(k.pixels, k.grain), fn, &k);
    cpu_free_floats(cpu_st(be), scale, (size_t)logs.c);
    return GLOW_OK;
}

glow_status cpu_actnorm_forward(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs, glow_tensor y)
{
    return elementwise(be, x, bias, logs, y, 1.0f, forward_part, "actnorm_forward");
}

glow_status cpu_actnorm_inverse(glow_backend *be, glow_tensor y, glow_tensor bias, glow_tensor logs, glow_tensor x)
{
    return elementwise(be, y, bias, logs, x, -1.0f, inverse_part, "actnorm_inverse");
}

/* One pass: dx += dy s;  partial[part] = (sum_p dy, sum_p dy y) per channel. */
static void backward_part(void *p, size_t part, int worker)
{
    (void)worker;
    const an_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, k->grain, k->pixels, &b, &e);
    const int C = k->c;
    float *sum_dy = k->partial + part * 2 * (size_t)C, *sum_dy_y = sum_dy + C;
    for (int c = 0; c < C; c++)
        sum_dy[c] = sum_dy_y[c] = 0.0f;
    for (size_t q = b; q < e; q++) {
        const float *x = k->x + q * C, *g = k->dy + q * C;
        float *gx = k->dx + q * C;
        for (int c = 0; c < C; c++) {
            float y = (x[c] + k->bias[c]) * k->scale[c];
            gx[c] += g[c] * k->scale[c];
            sum_dy[c] += g[c];
            sum_dy_y[c] += g[c] * y;
        }
    }
}

glow_status cpu_actnorm_backward(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor bias, glow_tensor logs,
                                 glow_tensor dx, glow_tensor dbias, glow_tensor dlogs)
{
    const char *op = "actnorm_backward";
    const int C = x.c;
    const size_t pixels = glow_tensor_rows(x), grain = cpu_pixel_grain((size_t)C), parts = cpu_parts(pixels, grain);
    cpu_state *st = cpu_st(be);
    float *scale = channel_scale(be, logs, 1.0f, op);
    float *partial = cpu_alloc_floats(st, parts * 2 * (size_t)C, op);
    double *sum = calloc(2 * (size_t)C, sizeof(double));
    glow_status rc = GLOW_OK;
    if (scale == NULL || partial == NULL || sum == NULL) {
        rc = glow_error(GLOW_ERR_OUT_OF_MEMORY, "cpu %s: out of memory (C = %d)", op, C);
        goto done;
    }
    an_ctx k = {.x = cpu_data(x), .dy = cpu_data(dy), .bias = cpu_data(bias), .dx = cpu_data(dx), .scale = scale,
                .partial = partial, .pixels = pixels, .grain = grain, .c = C};
    cpu_parallel(be, parts, backward_part, &k);
    for (size_t part = 0; part < parts; part++)
        for (int c = 0; c < 2 * C; c++)
            sum[c] += partial[part * 2 * (size_t)C + c];
    float *gb = cpu_data(dbias), *gl = cpu_data(dlogs);
    for (int c = 0; c < C; c++) {
        gb[c] += (float)(sum[c] * scale[c]);
        gl[c] += (float)sum[C + c];
    }
done:
    cpu_free_floats(st, scale, (size_t)C);
    cpu_free_floats(st, partial, parts * 2 * (size_t)C);
    free(sum);
    return rc;
}

/* Init: pass 1 partial[part] = sum_p x; pass 2 partial[part] = sum_p (x - mean)^2;
 * both accumulated in double within a part (it runs once per training run). */
typedef struct {
    const float *x;
    const double *mean; /* NULL in pass 1 */
    double *partial;    /* parts x C */
    size_t pixels, grain;
    int c;
} init_ctx;

static void init_part(void *p, size_t part, int worker)
{
    (void)worker;
    const init_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, k->grain, k->pixels, &b, &e);
    const int C = k->c;
    double *acc = k->partial + part * (size_t)C;
    for (int c = 0; c < C; c++)
        acc[c] = 0.0;
    for (size_t q = b; q < e; q++) {
        const float *x = k->x + q * C;
        if (k->mean == NULL)
            for (int c = 0; c < C; c++)
                acc[c] += x[c];
        else
            for (int c = 0; c < C; c++) {
                double d = x[c] - k->mean[c];
                acc[c] += d * d;
            }
    }
}

/* mean_c = sum x / P, std_c = sqrt(sum (x - mean_c)^2 / P),
 * bias[c] = -mean_c, logs[c] = -log(std_c + 1e-6). */
glow_status cpu_actnorm_init(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs)
{
    const int C = x.c;
    const size_t pixels = glow_tensor_rows(x), grain = cpu_pixel_grain((size_t)C), parts = cpu_parts(pixels, grain);
    double *partial = calloc(parts * (size_t)C, sizeof(double));
    double *mean = calloc((size_t)C, sizeof(double)), *sq = calloc((size_t)C, sizeof(double));
    if (partial == NULL || mean == NULL || sq == NULL) {
        free(partial);
        free(mean);
        free(sq);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "cpu actnorm_init: out of memory (C = %d)", C);
    }
    init_ctx k = {cpu_data(x), NULL, partial, pixels, grain, C};
    cpu_parallel(be, parts, init_part, &k);
    for (size_t part = 0; part < parts; part++)
        for (int c = 0; c < C; c++)
            mean[c] += partial[part * C + c];
    for (int c = 0; c < C; c++)
        mean[c] /= (double)pixels;
    k.mean = mean;
    cpu_parallel(be, parts, init_part, &k);
    for (size_t part = 0; part < parts; part++)
        for (int c = 0; c < C; c++)
            sq[c] += partial[part * C + c];
    float *b = cpu_data(bias), *l = cpu_data(logs);
    for (int c = 0; c < C; c++) {
        double std = sqrt(sq[c] / (double)pixels);
        b[c] = (float)-mean[c];
        l[c] = (float)-log(std + 1e-6);
    }
    free(partial);
    free(mean);
    free(sq);
    return GLOW_OK;
}
