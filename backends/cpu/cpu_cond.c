/* Fast CPU backend: per-sample vectors of the class-conditional model
 * (glow/ops.def, "class-conditional prior and class prediction").
 * x: (N,H,W,C); v: (N,1,1,C); logits, target: (N,1,1,K); loss: (1,1,1,N).
 * spatial_sum: one part per sample, each channel accumulated in double over the
 * sample's pixels in pixel order (rows read contiguously into per-worker scratch);
 * spatial_broadcast_add: fixed-size pixel parts; the softmax ops touch N*K floats
 * (K classes) and are the reference's loops. */
#include "cpu_internal.h"

#include "../ref/ref_internal.h"

typedef struct {
    cpu_state *st;
    float *x; /* read by spatial_sum, updated by spatial_broadcast_add */
    float *v;
    float scale;
    size_t hw, pixels, grain;
    int c, accumulate;
} sample_vec_ctx;

/* v[n][c] (= or +=) scale * sum_q x[n][q][c]. */
static void spatial_sum_part(void *p, size_t n, int worker)
{
    const sample_vec_ctx *k = p;
    const int C = k->c;
    double *acc = (double *)k->st->scratch[worker];
    for (int c = 0; c < C; c++)
        acc[c] = 0.0;
    const float *x = k->x + n * k->hw * C;
    for (size_t q = 0; q < k->hw; q++)
        for (int c = 0; c < C; c++)
            acc[c] += x[q * C + c];
    float *v = k->v + n * C;
    for (int c = 0; c < C; c++) {
        float term = (float)((double)k->scale * acc[c]);
        v[c] = k->accumulate ? v[c] + term : term;
    }
}

glow_status cpu_spatial_sum(glow_backend *be, glow_tensor x, float scale, glow_tensor v, int accumulate)
{
    cpu_state *st = cpu_st(be);
    GLOW_TRY(cpu_scratch(st, 2 * (size_t)x.c, "spatial_sum")); /* C doubles */
    sample_vec_ctx k = {.st = st, .x = cpu_data(x), .v = cpu_data(v), .scale = scale, .hw = (size_t)x.h * x.w,
                        .c = x.c, .accumulate = accumulate};
    cpu_parallel(be, (size_t)x.n, spatial_sum_part, &k);
    return GLOW_OK;
}

/* x[p][c] += scale * v[n(p)][c] for the pixels p of a part. */
static void broadcast_add_part(void *p, size_t part, int worker)
{
    (void)worker;
    const sample_vec_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, k->grain, k->pixels, &b, &e);
    const int C = k->c;
    float *x = k->x;
    for (size_t q = b; q < e; q++) {
        const float *v = k->v + (q / k->hw) * C;
        float *xq = x + q * C;
        for (int c = 0; c < C; c++)
            xq[c] += k->scale * v[c];
    }
}

glow_status cpu_spatial_broadcast_add(glow_backend *be, glow_tensor v, float scale, glow_tensor x)
{
    sample_vec_ctx k = {.x = cpu_data(x), .v = cpu_data(v), .scale = scale, .hw = (size_t)x.h * x.w,
                        .pixels = glow_tensor_rows(x), .grain = cpu_pixel_grain(2 * (size_t)x.c), .c = x.c};
    cpu_parallel(be, cpu_parts(k.pixels, k.grain), broadcast_add_part, &k);
    return GLOW_OK;
}

glow_status cpu_softmax_xent(glow_backend *be, glow_tensor logits, glow_tensor target, glow_tensor loss)
{
    return ref_softmax_xent(be, logits, target, loss);
}

glow_status cpu_softmax_xent_backward(glow_backend *be, glow_tensor logits, glow_tensor target, float g,
                                      glow_tensor dlogits)
{
    return ref_softmax_xent_backward(be, logits, target, g, dlogits);
}
