/* Vulkan host side of the Philox fills and dequantisation; shaders rng_fill.comp and
 * dequantize.comp, one invocation per Philox block of 4 elements (common.glsl holds
 * Philox4x32-10, bit-identical to src/engine/philox.c). Semantics: include/glow/ops.def. */
#include "vk_launch.h"

typedef struct {
    uint32_t off, count;
    vk_rng_words rng;
    uint32_t normal;
} push_rng_fill;

static glow_status rng_fill(glow_backend *be, const char *op, glow_rng rng, glow_tensor out, int normal)
{
    GLOW_TRY(vk_check_index(op, "out", out));
    push_rng_fill pc = {(uint32_t)out.off, (uint32_t)glow_tensor_count(out), vk_rng_push(rng), normal ? 1u : 0u};
    vk_binding b[1] = {vk_bind(out.buf, 1)};
    return vk_launch_1d(vk_ctx(be), VK_SHADER_RNG_FILL, b, 1, &pc, sizeof pc, ((uint64_t)pc.count + 3) / 4);
}

glow_status vk_rng_fill_uniform(glow_backend *be, glow_rng rng, glow_tensor out)
{
    return rng_fill(be, "rng_uniform", rng, out, 0);
}

glow_status vk_rng_fill_normal(glow_backend *be, glow_rng rng, glow_tensor out)
{
    return rng_fill(be, "rng_normal", rng, out, 1);
}

typedef struct {
    uint32_t pixel_word, x_off, count, n_bits;
    vk_rng_words rng;
} push_dequantize;

glow_status vk_dequantize(glow_backend *be, const glow_buffer *pixels, size_t pixel_off, int n_bits, glow_rng rng,
                          glow_tensor x)
{
    GLOW_TRY(vk_check_index("dequantize", "x", x));
    if (pixel_off / 4 > UINT32_MAX)
        return glow_error(GLOW_ERR_SHAPE, "vulkan dequantize: pixel offset %zu beyond the kernel's 32-bit indices",
                          pixel_off);
    push_dequantize pc = {(uint32_t)(pixel_off / 4), (uint32_t)x.off, (uint32_t)glow_tensor_count(x),
                          (uint32_t)n_bits, vk_rng_push(rng)};
    vk_binding b[2] = {vk_bind(pixels, 0), vk_bind(x.buf, 1)};
    return vk_launch_1d(vk_ctx(be), VK_SHADER_DEQUANTIZE, b, 2, &pc, sizeof pc, ((uint64_t)pc.count + 3) / 4);
}
