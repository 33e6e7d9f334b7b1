/* Fast CPU backend: fill, copy_channels, squeeze/unsqueeze, relu_backward,
 * add_scalar, logdet_sum. Semantics: glow/backend.h. Each op is one pass over
 * memory cut into fixed-size parts run on the pool; inner loops are plain
 * contiguous loops that the compiler vectorises (-O3). */
#include "cpu_internal.h"

#include "../ref/ref_internal.h"

#include <string.h>

enum { ELEM_GRAIN = CPU_PART_FLOATS }; /* floats per part of a flat elementwise pass */

/* ---- flat passes: fill, add_scalar, relu_backward ---------------------------------- */

typedef struct {
    float *t;
    const float *y;
    float value;
    size_t count;
} flat_ctx;

static void fill_part(void *p, size_t part, int worker)
{
    (void)worker;
    const flat_ctx *c = p;
    size_t b, e;
    cpu_part_range(part, ELEM_GRAIN, c->count, &b, &e);
    float *t = c->t;
    const float v = c->value;
    for (size_t i = b; i < e; i++)
        t[i] = v;
}

static void add_scalar_part(void *p, size_t part, int worker)
{
    (void)worker;
    const flat_ctx *c = p;
    size_t b, e;
    cpu_part_range(part, ELEM_GRAIN, c->count, &b, &e);
    float *t = c->t;
    const float v = c->value;
    for (size_t i = b; i < e; i++)
        t[i] += v;
}

/* dy[i] = y[i] > 0 ? dy[i] : 0, written branch-free so that it vectorises. */
static void relu_backward_part(void *p, size_t part, int worker)
{
    (void)worker;
    const flat_ctx *c = p;
    size_t b, e;
    cpu_part_range(part, ELEM_GRAIN, c->count, &b, &e);
    float *d = c->t;
    const float *y = c->y;
    for (size_t i = b; i < e; i++)
        d[i] = y[i] > 0.0f ? d[i] : 0.0f;
}

static glow_status flat_pass(glow_backend *be, cpu_part_fn fn, flat_ctx *c)
{
    cpu_parallel(be, cpu_parts(c->count, ELEM_GRAIN), fn, c);
    return GLOW_OK;
}

glow_status cpu_fill(glow_backend *be, glow_tensor t, float value)
{
    flat_ctx c = {cpu_data(t), NULL, value, glow_tensor_count(t)};
    return flat_pass(be, fill_part, &c);
}

glow_status cpu_add_scalar(glow_backend *be, glow_tensor t, float value)
{
    flat_ctx c = {cpu_data(t), NULL, value, glow_tensor_count(t)};
    return flat_pass(be, add_scalar_part, &c);
}

glow_status cpu_relu_backward(glow_backend *be, glow_tensor y, glow_tensor dy)
{
    flat_ctx c = {cpu_data(dy), cpu_data(y), 0.0f, glow_tensor_count(y)};
    return flat_pass(be, relu_backward_part, &c);
}

/* ---- copy_channels ---------------------------------------------------------------- */

typedef struct {
    const float *src;
    float *dst;
    size_t src_c, dst_c, pixels, grain;
    int count, accumulate;
} copy_ctx;

static void copy_part(void *p, size_t part, int worker)
{
    (void)worker;
    const copy_ctx *c = p;
    size_t b, e;
    cpu_part_range(part, c->grain, c->pixels, &b, &e);
    const int n = c->count;
    for (size_t q = b; q < e; q++) {
        const float *s = c->src + q * c->src_c;
        float *d = c->dst + q * c->dst_c;
        if (c->accumulate)
            for (int k = 0; k < n; k++)
                d[k] += s[k];
        else
            memcpy(d, s, (size_t)n * sizeof(float));
    }
}

glow_status cpu_copy_channels(glow_backend *be, glow_tensor src, int src_c0, glow_tensor dst, int dst_c0, int count,
                              int accumulate)
{
    copy_ctx c = {cpu_data(src) + src_c0, cpu_data(dst) + dst_c0, (size_t)src.c, (size_t)dst.c,
                  glow_tensor_rows(src), cpu_pixel_grain(2 * (size_t)count), count, accumulate};
    cpu_parallel(be, cpu_parts(c.pixels, c.grain), copy_part, &c);
    return GLOW_OK;
}

/* ---- squeeze / unsqueeze -------------------------------------------------------------
 *   small[n][i][j][c*4 + dy*2 + dx]  <->  big[n][2i+dy][2j+dx][c],
 * big (N,H,W,C), small (N,H/2,W/2,4C); parts are ranges of small pixels. */

typedef struct {
    float *big, *small;
    int n, hs, ws, c, big_w;
    int to_small, accumulate;
    size_t grain;
} s2d_ctx;

static void s2d_part(void *p, size_t part, int worker)
{
    (void)worker;
    const s2d_ctx *k = p;
    size_t total = (size_t)k->n * k->hs * k->ws, b, e;
    cpu_part_range(part, k->grain, total, &b, &e);
    const int C = k->c;
    for (size_t q = b; q < e; q++) {
        size_t n = q / ((size_t)k->hs * k->ws), r = q % ((size_t)k->hs * k->ws);
        int i = (int)(r / (size_t)k->ws), j = (int)(r % (size_t)k->ws);
        float *sp = k->small + q * 4 * (size_t)C;
        for (int dy = 0; dy < 2; dy++)
            for (int dx = 0; dx < 2; dx++) {
                float *bp = k->big + ((n * (size_t)(2 * k->hs) + (size_t)(2 * i + dy)) * (size_t)k->big_w +
                                      (size_t)(2 * j + dx)) * (size_t)C;
                float *s = sp + dy * 2 + dx;
                if (k->to_small && k->accumulate)
                    for (int c = 0; c < C; c++)
                        s[4 * c] += bp[c];
                else if (k->to_small)
                    for (int c = 0; c < C; c++)
                        s[4 * c] = bp[c];
                else if (k->accumulate)
                    for (int c = 0; c < C; c++)
                        bp[c] += s[4 * c];
                else
                    for (int c = 0; c < C; c++)
                        bp[c] = s[4 * c];
            }
    }
}

static glow_status space_to_depth(glow_backend *be, glow_tensor big, glow_tensor small, int to_small, int accumulate)
{
    s2d_ctx k = {cpu_data(big), cpu_data(small), big.n, small.h, small.w, big.c, big.w, to_small, accumulate,
                 cpu_pixel_grain(8 * (size_t)big.c)};
    cpu_parallel(be, cpu_parts((size_t)k.n * k.hs * k.ws, k.grain), s2d_part, &k);
    return GLOW_OK;
}

glow_status cpu_squeeze(glow_backend *be, glow_tensor x, glow_tensor y, int accumulate)
{
    return space_to_depth(be, x, y, 1, accumulate);
}

glow_status cpu_unsqueeze(glow_backend *be, glow_tensor y, glow_tensor x, int accumulate)
{
    return space_to_depth(be, x, y, 0, accumulate);
}

/* ---- logdet_sum: ld[n] += scale * sum_i v[i] ------------------------------------------
 * v is a parameter vector of C entries and ld has N: the reference's serial sum
 * in double is the right code here (a thread hand-off would cost more). */

glow_status cpu_logdet_sum(glow_backend *be, glow_tensor v, float scale, glow_tensor ld)
{
    return ref_logdet_sum(be, v, scale, ld);
}
