/* Vulkan host side of the class-conditional model's per-sample vector ops;
 * shaders (shaders/cond/): spatial_sum.comp (one invocation per output (n, c)),
 * spatial_broadcast_add.comp (one per element of x), softmax_xent.comp (one per
 * sample), softmax_xent_backward.comp (one per logit), all grid-stride loops.
 * Semantics: include/glow/ops.def. */
#include "vk_launch.h"

typedef struct {
    uint32_t x_off, v_off, count, hw, c, accumulate;
    float scale;
} push_spatial_sum;

glow_status vk_spatial_sum(glow_backend *be, glow_tensor x, float scale, glow_tensor v, int accumulate)
{
    GLOW_TRY(vk_check_index("spatial_sum", "x", x));
    GLOW_TRY(vk_check_index("spatial_sum", "v", v));
    push_spatial_sum pc = {(uint32_t)x.off, (uint32_t)v.off, (uint32_t)glow_tensor_count(v),
                           (uint32_t)x.h * (uint32_t)x.w, (uint32_t)x.c, accumulate ? 1u : 0u, scale};
    vk_binding b[2] = {vk_bind(x.buf, 0), vk_bind(v.buf, 1)};
    return vk_launch_grid(vk_ctx(be), VK_SHADER_SPATIAL_SUM, b, 2, &pc, sizeof pc, pc.count);
}

typedef struct {
    uint32_t v_off, x_off, count, hw, c;
    float scale;
} push_spatial_broadcast_add;

glow_status vk_spatial_broadcast_add(glow_backend *be, glow_tensor v, float scale, glow_tensor x)
{
    GLOW_TRY(vk_check_index("spatial_broadcast_add", "v", v));
    GLOW_TRY(vk_check_index("spatial_broadcast_add", "x", x));
    push_spatial_broadcast_add pc = {(uint32_t)v.off, (uint32_t)x.off, (uint32_t)glow_tensor_count(x),
                                     (uint32_t)x.h * (uint32_t)x.w, (uint32_t)x.c, scale};
    vk_binding b[2] = {vk_bind(v.buf, 0), vk_bind(x.buf, 1)};
    return vk_launch_grid(vk_ctx(be), VK_SHADER_SPATIAL_BROADCAST_ADD, b, 2, &pc, sizeof pc, pc.count);
}

typedef struct {
    uint32_t l_off, t_off, loss_off, n, k;
} push_softmax_xent;

glow_status vk_softmax_xent(glow_backend *be, glow_tensor logits, glow_tensor target, glow_tensor loss)
{
    const char *op = "softmax_xent";
    GLOW_TRY(vk_check_index(op, "logits", logits));
    GLOW_TRY(vk_check_index(op, "target", target));
    GLOW_TRY(vk_check_index(op, "loss", loss));
    push_softmax_xent pc = {(uint32_t)logits.off, (uint32_t)target.off, (uint32_t)loss.off, (uint32_t)logits.n,
                            (uint32_t)logits.c};
    vk_binding b[3] = {vk_bind(logits.buf, 0), vk_bind(target.buf, 0), vk_bind(loss.buf, 1)};
    return vk_launch_grid(vk_ctx(be), VK_SHADER_SOFTMAX_XENT, b, 3, &pc, sizeof pc, pc.n);
}

typedef struct {
    uint32_t l_off, t_off, d_off, count, k;
    float g;
} push_softmax_xent_backward;

glow_status vk_softmax_xent_backward(glow_backend *be, glow_tensor logits, glow_tensor target, float g,
                                     glow_tensor dlogits)
{
    const char *op = "softmax_xent_backward";
    GLOW_TRY(vk_check_index(op, "logits", logits));
    GLOW_TRY(vk_check_index(op, "target", target));
    GLOW_TRY(vk_check_index(op, "dlogits", dlogits));
    push_softmax_xent_backward pc = {(uint32_t)logits.off, (uint32_t)target.off, (uint32_t)dlogits.off,
                                     (uint32_t)glow_tensor_count(logits), (uint32_t)logits.c, g};
    vk_binding b[3] = {vk_bind(logits.buf, 0), vk_bind(target.buf, 0), vk_bind(dlogits.buf, 1)};
    return vk_launch_grid(vk_ctx(be), VK_SHADER_SOFTMAX_XENT_BACKWARD, b, 3, &pc, sizeof pc, pc.count);
}
