/* Vulkan host side of the affine coupling (s = sigmoid(raw + 2)); shaders
 * coupling_forward.comp (one workgroup per sample: y and the ld reduction),
 * coupling_inverse.comp and coupling_backward.comp (one invocation per element).
 * Semantics: include/glow/ops.def. */
#include "vk_launch.h"

typedef struct {
    uint32_t x_off, h_off, y_off, ld_off, hw, c;
} push_coupling_forward;

glow_status vk_coupling_forward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor y, glow_tensor ld)
{
    const char *op = "coupling_forward";
    GLOW_TRY(vk_check_index(op, "x", x));
    GLOW_TRY(vk_check_index(op, "h", h));
    GLOW_TRY(vk_check_index(op, "y", y));
    GLOW_TRY(vk_check_index(op, "ld", ld));
    push_coupling_forward pc = {(uint32_t)x.off, (uint32_t)h.off, (uint32_t)y.off, (uint32_t)ld.off,
                                (uint32_t)x.h * (uint32_t)x.w, (uint32_t)x.c};
    vk_binding b[4] = {vk_bind(x.buf, 0), vk_bind(h.buf, 0), vk_bind(y.buf, 1), vk_bind(ld.buf, 1)};
    return vk_launch_groups(vk_ctx(be), VK_SHADER_COUPLING_FORWARD, b, 4, &pc, sizeof pc, (uint32_t)x.n);
}

typedef struct {
    uint32_t y_off, h_off, x_off, count, c;
} push_coupling_inverse;

glow_status vk_coupling_inverse(glow_backend *be, glow_tensor y, glow_tensor h, glow_tensor x)
{
    const char *op = "coupling_inverse";
    GLOW_TRY(vk_check_index(op, "y", y));
    GLOW_TRY(vk_check_index(op, "h", h));
    GLOW_TRY(vk_check_index(op, "x", x));
    push_coupling_inverse pc = {(uint32_t)y.off, (uint32_t)h.off, (uint32_t)x.off, (uint32_t)glow_tensor_count(y),
                                (uint32_t)y.c};
    vk_binding b[3] = {vk_bind(y.buf, 0), vk_bind(h.buf, 0), vk_bind(x.buf, 1)};
    return vk_launch_grid(vk_ctx(be), VK_SHADER_COUPLING_INVERSE, b, 3, &pc, sizeof pc, pc.count);
}

typedef struct {
    uint32_t x_off, h_off, dy_off, dx_off, dh_off, count, c;
    float g;
} push_coupling_backward;

glow_status vk_coupling_backward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor dy, float g,
                                 glow_tensor dx, glow_tensor dh)
{
    const char *op = "coupling_backward";
    const glow_tensor ts[5] = {x, h, dy, dx, dh};
    const char *names[5] = {"x", "h", "dy", "dx", "dh"};
    for (int i = 0; i < 5; i++)
        GLOW_TRY(vk_check_index(op, names[i], ts[i]));
    push_coupling_backward pc = {(uint32_t)x.off,  (uint32_t)h.off,  (uint32_t)dy.off, (uint32_t)dx.off,
                                 (uint32_t)dh.off, (uint32_t)glow_tensor_count(x), (uint32_t)x.c, g};
    vk_binding b[5] = {vk_bind(x.buf, 0), vk_bind(h.buf, 0), vk_bind(dy.buf, 0), vk_bind(dx.buf, 1),
                       vk_bind(dh.buf, 1)};
    return vk_launch_grid(vk_ctx(be), VK_SHADER_COUPLING_BACKWARD, b, 5, &pc, sizeof pc, pc.count);
}
