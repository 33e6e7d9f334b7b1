/* Host side of the edge-indicator term of a padded 3x3 conv (openai/glow's edge_bias;
 * semantics in include/glow/ops.def): shaders/conv/conv2d_edge_forward.comp (a
 * grid-stride pass over y, in place) and conv2d_edge_backward_weight.comp (one
 * workgroup per (co, tap) reducing dy over the border pixels; no atomics). */
#include "vk_launch.h"

#include <stdint.h>

typedef struct {
    uint32_t y_off, count, h, w, c, w_off, relu;
} push_conv2d_edge_forward;

glow_status vk_conv2d_edge_forward(glow_backend *be, glow_tensor w_edge, glow_tensor y, int relu)
{
    const char *op = "conv2d_edge_forward";
    GLOW_TRY(vk_check_index(op, "y", y));
    GLOW_TRY(vk_check_index(op, "w_edge", w_edge));
    push_conv2d_edge_forward pc = {(uint32_t)y.off, (uint32_t)glow_tensor_count(y), (uint32_t)y.h, (uint32_t)y.w,
                                   (uint32_t)y.c,   (uint32_t)w_edge.off,           relu != 0};
    vk_binding b[2] = {vk_bind(y.buf, 1), vk_bind(w_edge.buf, 0)};
    return vk_launch_grid(vk_ctx(be), VK_SHADER_CONV2D_EDGE_FORWARD, b, 2, &pc, sizeof pc, pc.count);
}

typedef struct {
    uint32_t dy_off, n, h, w, c, dw_off;
} push_conv2d_edge_backward_weight;

glow_status vk_conv2d_edge_backward_weight(glow_backend *be, glow_tensor dy, glow_tensor dw_edge)
{
    const char *op = "conv2d_edge_backward_weight";
    GLOW_TRY(vk_check_index(op, "dy", dy));
    GLOW_TRY(vk_check_index(op, "dw_edge", dw_edge));
    push_conv2d_edge_backward_weight pc = {(uint32_t)dy.off, (uint32_t)dy.n, (uint32_t)dy.h,
                                           (uint32_t)dy.w,   (uint32_t)dy.c, (uint32_t)dw_edge.off};
    vk_binding b[2] = {vk_bind(dy.buf, 0), vk_bind(dw_edge.buf, 1)};
    return vk_launch_groups(vk_ctx(be), VK_SHADER_CONV2D_EDGE_BACKWARD_WEIGHT, b, 2, &pc, sizeof pc,
                            (uint32_t)dy.c * 9u);
}
