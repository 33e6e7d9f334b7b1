/* Vulkan host side of the learned Gaussian prior; shaders gaussian_logp.comp (one
 * workgroup per sample, tree reduction), gaussian_logp_backward.comp (one invocation
 * per element), gaussian_sample.comp (one invocation per Philox block of 4).
 * Semantics: include/glow/ops.def. */
#include "vk_launch.h"

typedef struct {
    uint32_t z_off, h_off, logp_off, hw, c;
} push_gaussian_logp;

glow_status vk_gaussian_logp(glow_backend *be, glow_tensor z, glow_tensor h, glow_tensor logp)
{
    const char *op = "gaussian_logp";
    GLOW_TRY(vk_check_index(op, "z", z));
    GLOW_TRY(vk_check_index(op, "h", h));
    GLOW_TRY(vk_check_index(op, "logp", logp));
    push_gaussian_logp pc = {(uint32_t)z.off, (uint32_t)h.off, (uint32_t)logp.off, (uint32_t)z.h * (uint32_t)z.w,
                             (uint32_t)z.c};
    vk_binding b[3] = {vk_bind(z.buf, 0), vk_bind(h.buf, 0), vk_bind(logp.buf, 1)};
    return vk_launch_groups(vk_ctx(be), VK_SHADER_GAUSSIAN_LOGP, b, 3, &pc, sizeof pc, (uint32_t)z.n);
}

typedef struct {
    uint32_t z_off, h_off, dz_off, dh_off, count, c, has_dz;
    float g;
} push_gaussian_logp_backward;

glow_status vk_gaussian_logp_backward(glow_backend *be, glow_tensor z, glow_tensor h, float g, glow_tensor dz,
                                      glow_tensor dh)
{
    const char *op = "gaussian_logp_backward";
    GLOW_TRY(vk_check_index(op, "z", z));
    GLOW_TRY(vk_check_index(op, "h", h));
    GLOW_TRY(vk_check_index(op, "dh", dh));
    int has_dz = dz.buf != NULL;
    if (has_dz)
        GLOW_TRY(vk_check_index(op, "dz", dz));
    push_gaussian_logp_backward pc = {(uint32_t)z.off,  (uint32_t)h.off,
                                      has_dz ? (uint32_t)dz.off : 0u, (uint32_t)dh.off,
                                      (uint32_t)glow_tensor_count(z), (uint32_t)z.c,
                                      has_dz ? 1u : 0u, g};
    /* Without dz, binding 2 names z's buffer as a placeholder the kernel never touches. */
    vk_binding b[4] = {vk_bind(z.buf, 0), vk_bind(h.buf, 0),
                       has_dz ? vk_bind(dz.buf, 1) : vk_bind(z.buf, 0), vk_bind(dh.buf, 1)};
    return vk_launch_grid(vk_ctx(be), VK_SHADER_GAUSSIAN_LOGP_BACKWARD, b, 4, &pc, sizeof pc, pc.count);
}

typedef struct {
    uint32_t h_off, z_off, count, c;
    vk_rng_words rng;
    float temperature;
} push_gaussian_sample;

glow_status vk_gaussian_sample(glow_backend *be, glow_tensor h, float temperature, glow_rng rng, glow_tensor z)
{
    const char *op = "gaussian_sample";
    GLOW_TRY(vk_check_index(op, "h", h));
    GLOW_TRY(vk_check_index(op, "z", z));
    push_gaussian_sample pc = {(uint32_t)h.off, (uint32_t)z.off, (uint32_t)glow_tensor_count(z), (uint32_t)z.c,
                               vk_rng_push(rng), temperature};
    vk_binding b[2] = {vk_bind(h.buf, 0), vk_bind(z.buf, 1)};
    return vk_launch_1d(vk_ctx(be), VK_SHADER_GAUSSIAN_SAMPLE, b, 2, &pc, sizeof pc, ((uint64_t)pc.count + 3) / 4);
}
