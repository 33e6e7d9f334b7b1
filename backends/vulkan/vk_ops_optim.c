/* Vulkan host side of the optimiser over the flat arenas; shaders sum_squares.comp
 * (one workgroup, Kahan partial sums + tree reduction) and optimizer_step.comp (one
 * invocation per element; the non-finite guard and the clip factor are computed from
 * sumsq[0] in the shader, so no host readback sits between the backward pass and the update).
 * Semantics: include/glow/ops.def. */
#include "vk_launch.h"

#include <math.h>

typedef struct {
    uint32_t g_off, count, out_off;
} push_sum_squares;

glow_status vk_sum_squares(glow_backend *be, glow_tensor g, glow_tensor out)
{
    GLOW_TRY(vk_check_index("sum_squares", "g", g));
    GLOW_TRY(vk_check_index("sum_squares", "out", out));
    push_sum_squares pc = {(uint32_t)g.off, (uint32_t)glow_tensor_count(g), (uint32_t)out.off};
    vk_binding b[2] = {vk_bind(g.buf, 0), vk_bind(out.buf, 1)};
    return vk_launch_groups(vk_ctx(be), VK_SHADER_SUM_SQUARES, b, 2, &pc, sizeof pc, 1);
}

typedef struct {
    uint32_t p_off, g_off, m_off, v_off, sumsq_off, count, adamax, clip, guard;
    float lr, beta1, beta2, eps, bc1, bc2, max_grad_norm;
} push_optimizer_step;

glow_status vk_optimizer_step(glow_backend *be, glow_tensor params, glow_tensor grads, glow_tensor m, glow_tensor v,
                              const glow_adam_params *hp, glow_tensor sumsq)
{
    const char *op = "optimizer_step";
    GLOW_TRY(vk_check_index(op, "params", params));
    GLOW_TRY(vk_check_index(op, "grads", grads));
    GLOW_TRY(vk_check_index(op, "m", m));
    GLOW_TRY(vk_check_index(op, "v", v));
    /* any sumsq given guards the step against a non-finite gradient; clipping also reads it */
    int guard = sumsq.buf != NULL;
    int clip = hp->max_grad_norm > 0.0f && guard;
    if (guard)
        GLOW_TRY(vk_check_index(op, "sumsq", sumsq));
    push_optimizer_step pc = {
        .p_off = (uint32_t)params.off,
        .g_off = (uint32_t)grads.off,
        .m_off = (uint32_t)m.off,
        .v_off = (uint32_t)v.off,
        .sumsq_off = guard ? (uint32_t)sumsq.off : 0u,
        .count = (uint32_t)glow_tensor_count(params),
        .adamax = hp->kind == GLOW_OPT_ADAMAX ? 1u : 0u,
        .clip = clip ? 1u : 0u,
        .guard = guard ? 1u : 0u,
        .lr = hp->lr,
        .beta1 = hp->beta1,
        .beta2 = hp->beta2,
        .eps = hp->eps,
        /* bias corrections 1 - b^t, computed once in double as the CPU reference does */
        .bc1 = (float)(1.0 - pow((double)hp->beta1, (double)hp->step)),
        .bc2 = (float)(1.0 - pow((double)hp->beta2, (double)hp->step)),
        .max_grad_norm = hp->max_grad_norm,
    };
    /* Without sumsq, binding 4 names the gradient buffer as a placeholder the kernel never reads. */
    vk_binding b[5] = {vk_bind(params.buf, 1), vk_bind(grads.buf, 0), vk_bind(m.buf, 1),
                       vk_bind(v.buf, 1), vk_bind(guard ? sumsq.buf : grads.buf, 0)};
    return vk_launch_1d(vk_ctx(be), VK_SHADER_OPTIMIZER_STEP, b, 5, &pc, sizeof pc, pc.count);
}
