/* CPU reference: Philox random fills and dequantisation, through the shared
 * glow_rng_* functions (src/engine/philox.c) so the streams match every backend. */
#include "ref_internal.h"

#include <math.h>

glow_status ref_rng_fill_uniform(glow_backend *be, glow_rng rng, glow_tensor out)
{
    (void)be;
    float *o = ref_data(out);
    size_t count = glow_tensor_count(out);
    for (size_t i = 0; i < count; i++)
        o[i] = glow_rng_uniform(rng, i);
    return GLOW_OK;
}

glow_status ref_rng_fill_normal(glow_backend *be, glow_rng rng, glow_tensor out)
{
    (void)be;
    float *o = ref_data(out);
    size_t count = glow_tensor_count(out);
    for (size_t i = 0; i < count; i++)
        o[i] = glow_rng_normal(rng, i);
    return GLOW_OK;
}

/* x[i] = floor(pixel[i] / 2^(8-n_bits)) / 2^n_bits - 0.5 + uniform(rng, i) / 2^n_bits.
 * floor(pixel / 2^(8-n_bits)) is the integer shift pixel >> (8 - n_bits); every
 * term is exact in float except the final rounding of the sum. */
glow_status ref_dequantize(glow_backend *be, const glow_buffer *pixels, size_t pixel_off, int n_bits, glow_rng rng,
                           glow_tensor x)
{
    (void)be;
    const uint8_t *px = ref_bytes(pixels, pixel_off);
    float *xv = ref_data(x);
    const float bins = (float)(1u << n_bits);
    const int shift = 8 - n_bits;
    size_t count = glow_tensor_count(x);
    for (size_t i = 0; i < count; i++) {
        float level = (float)(px[i] >> shift);
        xv[i] = level / bins - 0.5f + glow_rng_uniform(rng, i) / bins;
    }
    return GLOW_OK;
}
