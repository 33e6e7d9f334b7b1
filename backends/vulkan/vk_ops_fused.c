/* Vulkan host side of the fused flow-step ops (shaders/fused/; semantics: include/glow/ops.def):
 *   actnorm_invconv_forward.comp   grid-stride over the P*C outputs, ld by invocation 0
 *   actnorm_invconv_inverse.comp   grid-stride over the P*C outputs
 *   actnorm_invconv_backward.comp  one workgroup per channel (dx, dbias, dlogs, dlog_s, a column of dweight)
 *   coupling_zeroconv.comp         one workgroup per sample: the zero-conv, its scale, the coupling and ld
 *                                  (its _texel build on CPU drivers: hin, w through texel views)
 *   coupling_zeroconv_backward.comp one workgroup per transformed (or pass-through) channel
 * The ReLU-folded conv2d_backward_data_relu is in vk_ops_conv.c (a flag of the backward_data GEMM).
 * Each replaces 3 to 9 dispatches of the primitive sequence with one. */
#include "vk_launch.h"

typedef struct {
    uint32_t x_off, bias_off, logs_off, w_off, log_s_off, y_off, xa_off, ld_off;
    uint32_t count, c, ca, n, hw, flags;
} push_invconv_forward;

static glow_status check_all(const char *op, const glow_tensor *ts, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (ts[i].buf)
            GLOW_TRY(vk_check_index(op, names[i], ts[i]));
    return GLOW_OK;
}

glow_status vk_actnorm_invconv_forward(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs,
                                       glow_tensor weight, glow_tensor log_s, glow_tensor y, glow_tensor xa,
                                       glow_tensor ld)
{
    const char *op = "actnorm_invconv_forward";
    const glow_tensor ts[8] = {x, bias, logs, weight, log_s, y, xa, ld};
    const char *const names[8] = {"x", "bias", "logs", "weight", "log_s", "y", "xa", "ld"};
    GLOW_TRY(check_all(op, ts, names, 8));
    const int has_xa = xa.buf != NULL;
    vk_context *vk = vk_ctx(be);
    push_invconv_forward pc = {0, 0, 0, 0, 0, 0, 0, 0, (uint32_t)glow_tensor_count(y), (uint32_t)x.c,
                               (uint32_t)(x.c / 2), (uint32_t)x.n, (uint32_t)(x.h * x.w), has_xa ? 1u : 0u};
    /* every operand by its byte range (vk_bind_tensor); xa absent: y's range, unwritten */
    vk_binding b[8] = {vk_bind_tensor(vk, x, 0, &pc.x_off),         vk_bind_tensor(vk, bias, 0, &pc.bias_off),
                       vk_bind_tensor(vk, logs, 0, &pc.logs_off),   vk_bind_tensor(vk, weight, 0, &pc.w_off),
                       vk_bind_tensor(vk, log_s, 0, &pc.log_s_off), vk_bind_tensor(vk, y, 1, &pc.y_off),
                       vk_bind_tensor(vk, has_xa ? xa : y, has_xa, &pc.xa_off), vk_bind_tensor(vk, ld, 1, &pc.ld_off)};
    return vk_launch_grid(vk, VK_SHADER_ACTNORM_INVCONV_FORWARD, b, 8, &pc, sizeof pc, pc.count);
}

typedef struct {
    uint32_t y_off, bias_off, logs_off, w_off, x_off, count, c, xa_off, flags;
} push_invconv_inverse;

glow_status vk_actnorm_invconv_inverse(glow_backend *be, glow_tensor y, glow_tensor bias, glow_tensor logs,
                                       glow_tensor weight_inv, glow_tensor x, glow_tensor xa)
{
    const char *op = "actnorm_invconv_inverse";
    const glow_tensor ts[6] = {y, bias, logs, weight_inv, x, xa};
    const char *const names[6] = {"y", "bias", "logs", "weight_inv", "x", "xa"};
    GLOW_TRY(check_all(op, ts, names, 6));
    const int has_xa = xa.buf != NULL;
    vk_context *vk = vk_ctx(be);
    push_invconv_inverse pc = {0, 0, 0, 0, 0, (uint32_t)glow_tensor_count(x), (uint32_t)x.c, 0, has_xa ? 1u : 0u};
    vk_binding b[6] = {vk_bind_tensor(vk, y, 0, &pc.y_off),          vk_bind_tensor(vk, bias, 0, &pc.bias_off),
                       vk_bind_tensor(vk, logs, 0, &pc.logs_off),    vk_bind_tensor(vk, weight_inv, 0, &pc.w_off),
                       vk_bind_tensor(vk, x, 1, &pc.x_off),          vk_bind_tensor(vk, has_xa ? xa : x, has_xa, &pc.xa_off)};
    return vk_launch_grid(vk, VK_SHADER_ACTNORM_INVCONV_INVERSE, b, 6, &pc, sizeof pc, pc.count);
}

typedef struct {
    uint32_t x_off, dy_off, dxa_off, bias_off, logs_off, w_off, dx_off, dw_off;
    uint32_t db_off, dl_off, dls_off, rows, c, ca, flags;
    float ld_grad;
} push_invconv_backward;

glow_status vk_actnorm_invconv_backward(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor dxa,
                                        glow_tensor bias, glow_tensor logs, glow_tensor weight, float ld_grad,
                                        glow_tensor dx, glow_tensor dweight, glow_tensor dbias, glow_tensor dlogs,
                                        glow_tensor dlog_s)
{
    const char *op = "actnorm_invconv_backward";
    const glow_tensor ts[11] = {x, dy, dxa, bias, logs, weight, dx, dweight, dbias, dlogs, dlog_s};
    const char *const names[11] = {"x",  "dy",      "dxa",   "bias",  "logs",  "weight",
                                   "dx", "dweight", "dbias", "dlogs", "dlog_s"};
    GLOW_TRY(check_all(op, ts, names, 11));
    const int has_dxa = dxa.buf != NULL;
    vk_context *vk = vk_ctx(be);
    push_invconv_backward pc = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (uint32_t)glow_tensor_rows(x), (uint32_t)x.c,
                                (uint32_t)(x.c / 2), has_dxa ? 1u : 0u, ld_grad};
    vk_binding b[11] = {vk_bind_tensor(vk, x, 0, &pc.x_off),           vk_bind_tensor(vk, dy, 0, &pc.dy_off),
                        vk_bind_tensor(vk, has_dxa ? dxa : dy, 0, &pc.dxa_off),
                        vk_bind_tensor(vk, bias, 0, &pc.bias_off),     vk_bind_tensor(vk, logs, 0, &pc.logs_off),
                        vk_bind_tensor(vk, weight, 0, &pc.w_off),      vk_bind_tensor(vk, dx, 1, &pc.dx_off),
                        vk_bind_tensor(vk, dweight, 1, &pc.dw_off),    vk_bind_tensor(vk, dbias, 1, &pc.db_off),
                        vk_bind_tensor(vk, dlogs, 1, &pc.dl_off),      vk_bind_tensor(vk, dlog_s, 1, &pc.dls_off)};
    /* CPU drivers: x, dy, dxa and weight through R32F texel views of their whole buffers
     * (actnorm_invconv_backward_texel), when the views can hold them. */
    const glow_tensor xa = has_dxa ? dxa : dy;
    if (vk->gemm_variant == VK_GEMM_TEXEL && x.buf->bytes / 4 <= vk->max_texel_elements &&
        dy.buf->bytes / 4 <= vk->max_texel_elements && xa.buf->bytes / 4 <= vk->max_texel_elements &&
        weight.buf->bytes / 4 <= vk->max_texel_elements) {
        pc.x_off = (uint32_t)x.off;
        pc.dy_off = (uint32_t)dy.off;
        pc.dxa_off = (uint32_t)xa.off;
        pc.w_off = (uint32_t)weight.off;
        b[0] = (vk_binding){x.buf, VK_BIND_TEXEL_R32F, 0, 0, 0};
        b[1] = (vk_binding){dy.buf, VK_BIND_TEXEL_R32F, 0, 0, 0};
        b[2] = (vk_binding){xa.buf, VK_BIND_TEXEL_R32F, 0, 0, 0};
        b[5] = (vk_binding){weight.buf, VK_BIND_TEXEL_R32F, 0, 0, 0};
        return vk_launch_groups(vk, VK_SHADER_ACTNORM_INVCONV_BACKWARD_TEXEL, b, 11, &pc, sizeof pc, (uint32_t)x.c);
    }
    return vk_launch_groups(vk, VK_SHADER_ACTNORM_INVCONV_BACKWARD, b, 11, &pc, sizeof pc, (uint32_t)x.c);
}

typedef struct {
    uint32_t hin_off, w_off, bias_off, edge_off, logs_off, in_off, h_off, out_off, ld_off;
    uint32_t height, width, f, k, c, flags;
    float factor;
} push_coupling_zeroconv;

#define ZC_EDGE 1u
#define ZC_INVERSE 2u
#define ZC_VEC4 4u /* F and hin's, w's element offsets multiples of 4: vec4 loads */

/* Forward (ld present) or inverse (ld absent) of the fused zero-conv + coupling. */
static glow_status coupling_zeroconv(glow_backend *be, const char *op, glow_tensor hin, glow_tensor w,
                                     glow_tensor bias, glow_tensor edge, glow_tensor logs, float factor,
                                     glow_tensor in, glow_tensor h, glow_tensor out, glow_tensor ld)
{
    const glow_tensor ts[9] = {hin, w, bias, edge, logs, in, h, out, ld};
    const char *const names[9] = {"hin", "w", "bias", "edge", "logs", "in", "h", "out", "ld"};
    GLOW_TRY(check_all(op, ts, names, 9));
    const int has_edge = edge.buf != NULL, forward = ld.buf != NULL;
    vk_context *vk = vk_ctx(be);
    push_coupling_zeroconv pc = {0, 0, 0, 0, 0, 0, 0, 0, 0, (uint32_t)hin.h, (uint32_t)hin.w, (uint32_t)hin.c,
                                 (uint32_t)w.h, (uint32_t)in.c,
                                 (has_edge ? ZC_EDGE : 0u) | (forward ? 0u : ZC_INVERSE), factor};
    vk_binding b[9] = {vk_bind_tensor(vk, hin, 0, &pc.hin_off),   vk_bind_tensor(vk, w, 0, &pc.w_off),
                       vk_bind_tensor(vk, bias, 0, &pc.bias_off),
                       vk_bind_tensor(vk, has_edge ? edge : bias, 0, &pc.edge_off),
                       vk_bind_tensor(vk, logs, 0, &pc.logs_off), vk_bind_tensor(vk, in, 0, &pc.in_off),
                       vk_bind_tensor(vk, h, 1, &pc.h_off),       vk_bind_tensor(vk, out, 1, &pc.out_off),
                       vk_bind_tensor(vk, forward ? ld : h, forward, &pc.ld_off)};
    if (pc.f % 4 == 0 && pc.hin_off % 4 == 0 && pc.w_off % 4 == 0)
        pc.flags |= ZC_VEC4;
    /* CPU drivers: hin and w through RGBA32F texel views of their whole buffers (the
     * coupling_zeroconv_texel build), when their element offsets allow vec4 texels. */
    if (vk->gemm_variant == VK_GEMM_TEXEL && pc.f % 4 == 0 && hin.off % 4 == 0 && w.off % 4 == 0 &&
        hin.buf->bytes / 16 <= vk->max_texel_elements && w.buf->bytes / 16 <= vk->max_texel_elements) {
        pc.hin_off = (uint32_t)hin.off;
        pc.w_off = (uint32_t)w.off;
        pc.flags |= ZC_VEC4;
        b[0] = (vk_binding){hin.buf, VK_BIND_TEXEL_RGBA32F, 0, 0, 0};
        b[1] = (vk_binding){w.buf, VK_BIND_TEXEL_RGBA32F, 0, 0, 0};
        return vk_launch_groups(vk, VK_SHADER_COUPLING_ZEROCONV_TEXEL, b, 9, &pc, sizeof pc, (uint32_t)in.n);
    }
    return vk_launch_groups(vk, VK_SHADER_COUPLING_ZEROCONV, b, 9, &pc, sizeof pc, (uint32_t)in.n);
}

glow_status vk_coupling_zeroconv_forward(glow_backend *be, glow_tensor hin, glow_tensor w, glow_tensor bias,
                                         glow_tensor edge, glow_tensor logs, float factor, glow_tensor x,
                                         glow_tensor h, glow_tensor y, glow_tensor ld)
{
    return coupling_zeroconv(be, "coupling_zeroconv_forward", hin, w, bias, edge, logs, factor, x, h, y, ld);
}

glow_status vk_coupling_zeroconv_inverse(glow_backend *be, glow_tensor hin, glow_tensor w, glow_tensor bias,
                                         glow_tensor edge, glow_tensor logs, float factor, glow_tensor y,
                                         glow_tensor h, glow_tensor x)
{
    return coupling_zeroconv(be, "coupling_zeroconv_inverse", hin, w, bias, edge, logs, factor, y, h, x,
                             glow_tensor_none());
}

typedef struct {
    uint32_t x_off, h_off, dy_off, logs_off, dx_off, dhu_off, dl_off, rows, c;
    float g, factor;
} push_coupling_zeroconv_backward;

glow_status vk_coupling_zeroconv_backward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor dy, float g,
                                          glow_tensor logs, float factor, glow_tensor dx, glow_tensor dhu,
                                          glow_tensor dlogs)
{
    const char *op = "coupling_zeroconv_backward";
    const glow_tensor ts[7] = {x, h, dy, logs, dx, dhu, dlogs};
    const char *const names[7] = {"x", "h", "dy", "logs", "dx", "dhu", "dlogs"};
    GLOW_TRY(check_all(op, ts, names, 7));
    vk_context *vk = vk_ctx(be);
    push_coupling_zeroconv_backward pc = {0, 0, 0, 0, 0, 0, 0, (uint32_t)glow_tensor_rows(x), (uint32_t)x.c, g, factor};
    vk_binding b[7] = {vk_bind_tensor(vk, x, 0, &pc.x_off),     vk_bind_tensor(vk, h, 0, &pc.h_off),
                       vk_bind_tensor(vk, dy, 0, &pc.dy_off),   vk_bind_tensor(vk, logs, 0, &pc.logs_off),
                       vk_bind_tensor(vk, dx, 1, &pc.dx_off),   vk_bind_tensor(vk, dhu, 1, &pc.dhu_off),
                       vk_bind_tensor(vk, dlogs, 1, &pc.dl_off)};
    /* Cb workgroups for the transformed channels, Ca for the pass-through copy: C in all */
    return vk_launch_groups(vk, VK_SHADER_COUPLING_ZEROCONV_BACKWARD, b, 7, &pc, sizeof pc, (uint32_t)x.c);
}
