/* Vulkan host side of the elementwise and data-movement ops; shaders:
 * fill.comp, add_scalar.comp, relu_backward.comp, copy_channels.comp,
 * squeeze.comp (both directions), logdet_sum.comp (shaders/elementwise/). Semantics: include/glow/ops.def. */
#include "vk_launch.h"

typedef struct {
    uint32_t off, count;
    float value;
} push_scalar; /* fill.comp, add_scalar.comp */

static glow_status scalar_op(glow_backend *be, vk_shader_id shader, glow_tensor t, float value)
{
    GLOW_TRY(vk_check_index(vk_shader_name(shader), "t", t));
    push_scalar pc = {0, (uint32_t)glow_tensor_count(t), value};
    vk_binding b[1] = {vk_bind_tensor(vk_ctx(be), t, 1, &pc.off)};
    return vk_launch_grid(vk_ctx(be), shader, b, 1, &pc, sizeof pc, pc.count);
}

glow_status vk_fill(glow_backend *be, glow_tensor t, float value)
{
    return scalar_op(be, VK_SHADER_FILL, t, value);
}

glow_status vk_add_scalar(glow_backend *be, glow_tensor t, float value)
{
    return scalar_op(be, VK_SHADER_ADD_SCALAR, t, value);
}

typedef struct {
    uint32_t y_off, dy_off, count;
} push_relu_backward;

glow_status vk_relu_backward(glow_backend *be, glow_tensor y, glow_tensor dy)
{
    GLOW_TRY(vk_check_index("relu_backward", "y", y));
    GLOW_TRY(vk_check_index("relu_backward", "dy", dy));
    push_relu_backward pc = {0, 0, (uint32_t)glow_tensor_count(y)};
    vk_binding b[2] = {vk_bind_tensor(vk_ctx(be), y, 0, &pc.y_off), vk_bind_tensor(vk_ctx(be), dy, 1, &pc.dy_off)};
    return vk_launch_grid(vk_ctx(be), VK_SHADER_RELU_BACKWARD, b, 2, &pc, sizeof pc, pc.count);
}

typedef struct {
    uint32_t src_off, src_c, src_c0;
    uint32_t dst_off, dst_c, dst_c0;
    uint32_t count, rows, accumulate;
} push_copy_channels;

glow_status vk_copy_channels(glow_backend *be, glow_tensor src, int src_c0, glow_tensor dst, int dst_c0, int count,
                             int accumulate)
{
    GLOW_TRY(vk_check_index("copy_channels", "src", src));
    GLOW_TRY(vk_check_index("copy_channels", "dst", dst));
    push_copy_channels pc = {(uint32_t)src.off, (uint32_t)src.c, (uint32_t)src_c0,
                             (uint32_t)dst.off, (uint32_t)dst.c, (uint32_t)dst_c0,
                             (uint32_t)count,   (uint32_t)glow_tensor_rows(src), accumulate ? 1u : 0u};
    vk_binding b[2] = {vk_bind_tensor(vk_ctx(be), src, 0, &pc.src_off), vk_bind_tensor(vk_ctx(be), dst, 1, &pc.dst_off)};
    return vk_launch_grid(vk_ctx(be), VK_SHADER_COPY_CHANNELS, b, 2, &pc, sizeof pc, (uint64_t)pc.rows * pc.count);
}

typedef struct {
    uint32_t x_off, y_off;
    uint32_t n, h, w, c; /* shape of x, the (N,H,W,C) side */
    uint32_t accumulate, unsqueeze;
} push_squeeze;

/* x: (N,H,W,C) <-> y: (N,H/2,W/2,4C); one invocation per element of y. */
static glow_status squeeze_op(glow_backend *be, const char *op, glow_tensor x, glow_tensor y, int accumulate,
                              int unsqueeze)
{
    GLOW_TRY(vk_check_index(op, "x", x));
    GLOW_TRY(vk_check_index(op, "y", y));
    push_squeeze pc = {(uint32_t)x.off, (uint32_t)y.off,    (uint32_t)x.n,      (uint32_t)x.h,
                       (uint32_t)x.w,   (uint32_t)x.c,      accumulate ? 1u : 0u, unsqueeze ? 1u : 0u};
    /* squeeze.comp binds (source read-only, destination) */
    vk_binding b[2] = {vk_bind(unsqueeze ? y.buf : x.buf, 0), vk_bind(unsqueeze ? x.buf : y.buf, 1)};
    return vk_launch_grid(vk_ctx(be), VK_SHADER_SQUEEZE, b, 2, &pc, sizeof pc, glow_tensor_count(y));
}

glow_status vk_squeeze(glow_backend *be, glow_tensor x, glow_tensor y, int accumulate)
{
    return squeeze_op(be, "squeeze", x, y, accumulate, 0);
}

glow_status vk_unsqueeze(glow_backend *be, glow_tensor y, glow_tensor x, int accumulate)
{
    return squeeze_op(be, "unsqueeze", x, y, accumulate, 1);
}

typedef struct {
    uint32_t v_off, count, ld_off, n_ld;
    float scale;
} push_logdet_sum;

glow_status vk_logdet_sum(glow_backend *be, glow_tensor v, float scale, glow_tensor ld)
{
    GLOW_TRY(vk_check_index("logdet_sum", "v", v));
    GLOW_TRY(vk_check_index("logdet_sum", "ld", ld));
    push_logdet_sum pc = {(uint32_t)v.off, (uint32_t)glow_tensor_count(v), (uint32_t)ld.off,
                          (uint32_t)glow_tensor_count(ld), scale};
    vk_binding b[2] = {vk_bind(v.buf, 0), vk_bind(ld.buf, 1)};
    return vk_launch_groups(vk_ctx(be), VK_SHADER_LOGDET_SUM, b, 2, &pc, sizeof pc, 1);
}
