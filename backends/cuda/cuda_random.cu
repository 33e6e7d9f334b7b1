/* CUDA: Philox random fills and dequantisation (shaders: rng_fill.comp,
 * dequantize.comp). One thread per Philox block of 4 consecutive elements
 * i = 4j .. 4j+3, so each block's words are computed once. */
#include "cuda_host.h"
#include "cuda_philox.h"

/* The draw's key: by value when launched eagerly, from the step graph's slot
 * (dyn != NULL, cuda_step.h) when captured, where the counter changes per step. */
static __device__ __forceinline__ cu_philox_key key_of(cu_philox_key key, const cu_philox_key *dyn)
{
    return dyn ? *dyn : key;
}

static const cu_philox_key *rng_slot(glow_backend *be)
{
    return (const cu_philox_key *)cu_state(be)->step.rng_slot;
}

/* out[i] = uniform(i) or normal(i) for i < count. */
__global__ void rng_fill_kernel(cu_philox_key key_arg, const cu_philox_key *dyn, float *out, size_t count, int normal)
{
    const cu_philox_key key = key_of(key_arg, dyn);
    size_t blocks = (count + 3) / 4;
    CU_FOR_EACH(j, blocks)
    {
        uint4 b = cu_philox_block(key, j);
        for (unsigned lane = 0; lane < 4; lane++) {
            size_t i = 4 * j + lane;
            if (i < count)
                out[i] = normal ? cu_philox_normal(b, lane) : cu_bits_to_uniform(cu_philox_word(b, lane));
        }
    }
}

static glow_status rng_fill(glow_backend *be, glow_rng rng, glow_tensor out, int normal, const char *op)
{
    size_t count = glow_tensor_count(out);
    rng_fill_kernel<<<cu_blocks((count + 3) / 4), CU_THREADS, 0, cu_stream(be)>>>(cu_philox_key_of(rng),
                                                                                 rng_slot(be), cu_data(out), count,
                                                                                 normal);
    return cu_launched(op);
}

glow_status cu_rng_fill_uniform(glow_backend *be, glow_rng rng, glow_tensor out)
{
    return rng_fill(be, rng, out, 0, "rng_uniform");
}

glow_status cu_rng_fill_normal(glow_backend *be, glow_rng rng, glow_tensor out)
{
    return rng_fill(be, rng, out, 1, "rng_normal");
}

/* x[i] = (pixel[i] >> (8 - n_bits)) / 2^n_bits - 0.5 + uniform(i) / 2^n_bits.
 * Dividing by the power of two 2^n_bits is exact, as is subtracting 0.5 from a
 * multiple of 2^-8 in [0, 1); only the final sum rounds, as on the CPU. */
__global__ void dequantize_kernel(cu_philox_key key_arg, const cu_philox_key *dyn, const uint8_t *pixels, int n_bits,
                                  float *x, size_t count)
{
    const cu_philox_key key = key_of(key_arg, dyn);
    const float bins = (float)(1u << n_bits);
    const int shift = 8 - n_bits;
    size_t blocks = (count + 3) / 4;
    CU_FOR_EACH(j, blocks)
    {
        uint4 b = cu_philox_block(key, j);
        for (unsigned lane = 0; lane < 4; lane++) {
            size_t i = 4 * j + lane;
            if (i < count) {
                float level = (float)(pixels[i] >> shift);
                float u = cu_bits_to_uniform(cu_philox_word(b, lane));
                x[i] = __fadd_rn(__fsub_rn(__fdiv_rn(level, bins), 0.5f), __fdiv_rn(u, bins));
            }
        }
    }
}

glow_status cu_dequantize(glow_backend *be, const glow_buffer *pixels, size_t pixel_off, int n_bits, glow_rng rng,
                          glow_tensor x)
{
    size_t count = glow_tensor_count(x);
    dequantize_kernel<<<cu_blocks((count + 3) / 4), CU_THREADS, 0, cu_stream(be)>>>(
        cu_philox_key_of(rng), rng_slot(be), cu_bytes(pixels, pixel_off), n_bits, cu_data(x), count);
    return cu_launched("dequantize");
}
