/* Vulkan host side of actnorm: y = (x + bias[c]) * exp(logs[c]); shaders
 * actnorm_forward.comp, actnorm_inverse.comp (elementwise over (P, C)) and
 * actnorm_backward.comp, actnorm_init.comp (one workgroup per channel, tree
 * reductions over the P = N*H*W pixels). Semantics: include/glow/ops.def. */
#include "vk_launch.h"

typedef struct {
    uint32_t in_off, out_off, count, c, bias_off, logs_off;
} push_actnorm_apply;

/* in -> out elementwise; out may alias in exactly (both bindings then name one buffer). */
static glow_status actnorm_apply(glow_backend *be, vk_shader_id id, glow_tensor in, glow_tensor bias,
                                 glow_tensor logs, glow_tensor out)
{
    const char *shader = vk_shader_name(id);
    GLOW_TRY(vk_check_index(shader, "in", in));
    GLOW_TRY(vk_check_index(shader, "out", out));
    GLOW_TRY(vk_check_index(shader, "bias", bias));
    GLOW_TRY(vk_check_index(shader, "logs", logs));
    push_actnorm_apply pc = {(uint32_t)in.off, (uint32_t)out.off,  (uint32_t)glow_tensor_count(in),
                             (uint32_t)in.c,   (uint32_t)bias.off, (uint32_t)logs.off};
    vk_binding b[4] = {vk_bind(in.buf, 0), vk_bind(bias.buf, 0), vk_bind(logs.buf, 0),
                       vk_bind(out.buf, 1)};
    return vk_launch_grid(vk_ctx(be), id, b, 4, &pc, sizeof pc, pc.count);
}

glow_status vk_actnorm_forward(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs, glow_tensor y)
{
    return actnorm_apply(be, VK_SHADER_ACTNORM_FORWARD, x, bias, logs, y);
}

glow_status vk_actnorm_inverse(glow_backend *be, glow_tensor y, glow_tensor bias, glow_tensor logs, glow_tensor x)
{
    return actnorm_apply(be, VK_SHADER_ACTNORM_INVERSE, y, bias, logs, x);
}

typedef struct {
    uint32_t x_off, dy_off, dx_off, rows, c;
    uint32_t bias_off, logs_off, dbias_off, dlogs_off;
} push_actnorm_backward;

glow_status vk_actnorm_backward(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor bias, glow_tensor logs,
                                glow_tensor dx, glow_tensor dbias, glow_tensor dlogs)
{
    const char *op = "actnorm_backward";
    const glow_tensor ts[7] = {x, dy, bias, logs, dx, dbias, dlogs};
    const char *names[7] = {"x", "dy", "bias", "logs", "dx", "dbias", "dlogs"};
    for (int i = 0; i < 7; i++)
        GLOW_TRY(vk_check_index(op, names[i], ts[i]));
    push_actnorm_backward pc = {(uint32_t)x.off,    (uint32_t)dy.off,   (uint32_t)dx.off,
                                (uint32_t)glow_tensor_rows(x), (uint32_t)x.c, (uint32_t)bias.off,
                                (uint32_t)logs.off, (uint32_t)dbias.off, (uint32_t)dlogs.off};
    vk_binding b[7] = {vk_bind(x.buf, 0),  vk_bind(dy.buf, 0),    vk_bind(bias.buf, 0),
                       vk_bind(logs.buf, 0), vk_bind(dx.buf, 1),  vk_bind(dbias.buf, 1),
                       vk_bind(dlogs.buf, 1)};
    return vk_launch_groups(vk_ctx(be), VK_SHADER_ACTNORM_BACKWARD, b, 7, &pc, sizeof pc, (uint32_t)x.c);
}

typedef struct {
    uint32_t x_off, rows, c, bias_off, logs_off;
} push_actnorm_init;

glow_status vk_actnorm_init(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs)
{
    GLOW_TRY(vk_check_index("actnorm_init", "x", x));
    GLOW_TRY(vk_check_index("actnorm_init", "bias", bias));
    GLOW_TRY(vk_check_index("actnorm_init", "logs", logs));
    push_actnorm_init pc = {(uint32_t)x.off, (uint32_t)glow_tensor_rows(x), (uint32_t)x.c, (uint32_t)bias.off,
                            (uint32_t)logs.off};
    vk_binding b[3] = {vk_bind(x.buf, 0), vk_bind(bias.buf, 1), vk_bind(logs.buf, 1)};
    return vk_launch_groups(vk_ctx(be), VK_SHADER_ACTNORM_INIT, b, 3, &pc, sizeof pc, (uint32_t)x.c);
}
