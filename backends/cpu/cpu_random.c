/* Fast CPU backend: Philox random fills and dequantisation through the shared
 * glow_rng_* functions (src/engine/philox.c), so every element is the same
 * as on the other backends; parts of fixed size run on the pool. */
#include "cpu_internal.h"

enum { RNG_GRAIN = 1 << 14 };

typedef struct {
    glow_rng rng;
    float *out;
    const uint8_t *pixels;
    size_t count;
    int n_bits;
} rng_ctx;

static void uniform_part(void *p, size_t part, int worker)
{
    (void)worker;
    const rng_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, RNG_GRAIN, k->count, &b, &e);
    for (size_t i = b; i < e; i++)
        k->out[i] = glow_rng_uniform(k->rng, i);
}

static void normal_part(void *p, size_t part, int worker)
{
    (void)worker;
    const rng_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, RNG_GRAIN, k->count, &b, &e);
    for (size_t i = b; i < e; i++)
        k->out[i] = glow_rng_normal(k->rng, i);
}

/* x[i] = (pixel[i] >> (8 - n_bits)) / 2^n_bits - 0.5 + uniform(rng, i) / 2^n_bits. */
static void dequantize_part(void *p, size_t part, int worker)
{
    (void)worker;
    const rng_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, RNG_GRAIN, k->count, &b, &e);
    const float bins = (float)(1u << k->n_bits);
    const int shift = 8 - k->n_bits;
    for (size_t i = b; i < e; i++) {
        float level = (float)(k->pixels[i] >> shift);
        k->out[i] = level / bins - 0.5f + glow_rng_uniform(k->rng, i) / bins;
    }
}

static glow_status run(glow_backend *be, rng_ctx *k, cpu_part_fn fn)
{
    cpu_parallel(be, cpu_parts(k->count, RNG_GRAIN), fn, k);
    return GLOW_OK;
}

glow_status cpu_rng_fill_uniform(glow_backend *be, glow_rng rng, glow_tensor out)
{
    rng_ctx k = {rng, cpu_data(out), NULL, glow_tensor_count(out), 0};
    return run(be, &k, uniform_part);
}

glow_status cpu_rng_fill_normal(glow_backend *be, glow_rng rng, glow_tensor out)
{
    rng_ctx k = {rng, cpu_data(out), NULL, glow_tensor_count(out), 0};
    return run(be, &k, normal_part);
}

glow_status cpu_dequantize(glow_backend *be, const glow_buffer *pixels, size_t pixel_off, int n_bits, glow_rng rng,
                           glow_tensor x)
{
    rng_ctx k = {rng, cpu_data(x), cpu_bytes(pixels, pixel_off), glow_tensor_count(x), n_bits};
    return run(be, &k, dequantize_part);
}
