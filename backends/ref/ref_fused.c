/* CPU reference: the fused flow-step ops, defined by composing the primitives
 * (semantics: include/glow/ops.def, "fused flow-step ops"). Every other backend is
 * tested against these, so they are written as the unfused sequence the model ran
 * before the fusion, through host temporaries:
 *   actnorm_invconv_forward  = actnorm_forward; conv2d_forward (k=1); copy_channels; 2x logdet_sum
 *   actnorm_invconv_inverse  = conv2d_forward (k=1, W^-1); actnorm_inverse; copy_channels
 *   actnorm_invconv_backward = conv2d_backward_weight; conv2d_backward_data; actnorm_backward; add_scalar
 *   coupling_zeroconv_*      = conv2d_forward; (+ edge); channel_scale_forward; coupling_forward/inverse
 *   coupling_zeroconv_backward = coupling_backward; channel_scale_backward
 *   conv2d_backward_data_relu  = fill 0; conv2d_backward_data; relu_backward */
#include "ref_internal.h"

#include <stdlib.h>
#include <string.h>

/* A zeroed host tensor of `like`'s shape (or n,h,w,c) at offset 0 of a temporary buffer. */
typedef struct {
    glow_buffer buf;
    glow_tensor t;
} ref_temp;

static glow_status temp_make(glow_backend *be, ref_temp *tmp, int n, int h, int w, int c, const char *op)
{
    size_t count = (size_t)n * h * w * c;
    tmp->buf = (glow_buffer){be, count * sizeof(float), calloc(count, sizeof(float))};
    if (tmp->buf.impl == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "ref %s: out of host memory for %zu floats", op, count);
    tmp->t = glow_tensor_make(&tmp->buf, 0, n, h, w, c);
    return GLOW_OK;
}

static void temp_free(ref_temp *tmp)
{
    free(tmp->buf.impl);
    tmp->buf.impl = NULL;
}

/* a = actnorm(x); y = W a; xa = y[..][0, Ca); ld += HW sum(logs) + HW sum(log_s). */
glow_status ref_actnorm_invconv_forward(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs,
                                        glow_tensor weight, glow_tensor log_s, glow_tensor y, glow_tensor xa,
                                        glow_tensor ld)
{
    ref_temp a;
    GLOW_TRY(temp_make(be, &a, x.n, x.h, x.w, x.c, "actnorm_invconv_forward"));
    glow_status st = ref_actnorm_forward(be, x, bias, logs, a.t);
    if (st == GLOW_OK)
        st = ref_conv2d_forward(be, a.t, weight, glow_tensor_none(), y, 0);
    temp_free(&a);
    GLOW_TRY(st);
    if (xa.buf)
        GLOW_TRY(ref_copy_channels(be, y, 0, xa, 0, xa.c, 0));
    const float hw = (float)(x.h * x.w);
    GLOW_TRY(ref_logdet_sum(be, logs, hw, ld));
    return ref_logdet_sum(be, log_s, hw, ld);
}

/* a = W^-1 y; x = actnorm_inverse(a). */
glow_status ref_actnorm_invconv_inverse(glow_backend *be, glow_tensor y, glow_tensor bias, glow_tensor logs,
                                        glow_tensor weight_inv, glow_tensor x, glow_tensor xa)
{
    ref_temp a;
    GLOW_TRY(temp_make(be, &a, y.n, y.h, y.w, y.c, "actnorm_invconv_inverse"));
    glow_status st = ref_conv2d_forward(be, y, weight_inv, glow_tensor_none(), a.t, 0);
    if (st == GLOW_OK)
        st = ref_actnorm_inverse(be, a.t, bias, logs, x);
    temp_free(&a);
    GLOW_TRY(st);
    return xa.buf ? ref_copy_channels(be, x, 0, xa, 0, xa.c, 0) : GLOW_OK;
}

/* g = dy (+ dxa on [0, Ca)); a = actnorm(x); dweight = sum_p g a^T; da = W^T g;
 * dx = actnorm backward of da (from zero); dlogs, dlog_s += ld_grad. */
glow_status ref_actnorm_invconv_backward(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor dxa,
                                         glow_tensor bias, glow_tensor logs, glow_tensor weight, float ld_grad,
                                         glow_tensor dx, glow_tensor dweight, glow_tensor dbias, glow_tensor dlogs,
                                         glow_tensor dlog_s)
{
    const char *op = "actnorm_invconv_backward";
    ref_temp g, a, da;
    GLOW_TRY(temp_make(be, &g, x.n, x.h, x.w, x.c, op));
    glow_status st = temp_make(be, &a, x.n, x.h, x.w, x.c, op);
    if (st != GLOW_OK) {
        temp_free(&g);
        return st;
    }
    st = temp_make(be, &da, x.n, x.h, x.w, x.c, op);
    if (st == GLOW_OK) {
        st = ref_copy_channels(be, dy, 0, g.t, 0, x.c, 0);
        if (st == GLOW_OK && dxa.buf)
            st = ref_copy_channels(be, dxa, 0, g.t, 0, dxa.c, 1);
        if (st == GLOW_OK)
            st = ref_actnorm_forward(be, x, bias, logs, a.t);
        if (st == GLOW_OK)
            st = ref_fill(be, dweight, 0.0f);
        if (st == GLOW_OK)
            st = ref_conv2d_backward_weight(be, a.t, g.t, dweight, glow_tensor_none());
        if (st == GLOW_OK)
            st = ref_conv2d_backward_data(be, g.t, weight, da.t);
        if (st == GLOW_OK)
            st = ref_fill(be, dx, 0.0f);
        if (st == GLOW_OK)
            st = ref_actnorm_backward(be, x, da.t, bias, logs, dx, dbias, dlogs);
        if (st == GLOW_OK)
            st = ref_add_scalar(be, dlogs, ld_grad);
        if (st == GLOW_OK)
            st = ref_add_scalar(be, dlog_s, ld_grad);
        temp_free(&da);
    }
    temp_free(&a);
    temp_free(&g);
    return st;
}

/* h = (conv(hin; w) + bias + edge) * exp(factor * logs). */
static glow_status zeroconv_stage(glow_backend *be, glow_tensor hin, glow_tensor w, glow_tensor bias, glow_tensor edge,
                                  glow_tensor logs, float factor, glow_tensor h)
{
    GLOW_TRY(ref_conv2d_forward(be, hin, w, bias, h, 0));
    if (edge.buf) {
        /* h[n][y][x][c] += edge[0][y][x][c] */
        size_t per_sample = (size_t)h.h * h.w * h.c;
        const float *e = ref_data(edge);
        float *hv = ref_data(h);
        for (int n = 0; n < h.n; n++)
            for (size_t i = 0; i < per_sample; i++)
                hv[(size_t)n * per_sample + i] += e[i];
    }
    return ref_channel_scale_forward(be, h, logs, factor);
}

glow_status ref_coupling_zeroconv_forward(glow_backend *be, glow_tensor hin, glow_tensor w, glow_tensor bias,
                                          glow_tensor edge, glow_tensor logs, float factor, glow_tensor x,
                                          glow_tensor h, glow_tensor y, glow_tensor ld)
{
    GLOW_TRY(zeroconv_stage(be, hin, w, bias, edge, logs, factor, h));
    return ref_coupling_forward(be, x, h, y, ld);
}

glow_status ref_coupling_zeroconv_inverse(glow_backend *be, glow_tensor hin, glow_tensor w, glow_tensor bias,
                                          glow_tensor edge, glow_tensor logs, float factor, glow_tensor y,
                                          glow_tensor h, glow_tensor x)
{
    GLOW_TRY(zeroconv_stage(be, hin, w, bias, edge, logs, factor, h));
    return ref_coupling_inverse(be, y, h, x);
}

glow_status ref_coupling_zeroconv_backward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor dy, float g,
                                           glow_tensor logs, float factor, glow_tensor dx, glow_tensor dhu,
                                           glow_tensor dlogs)
{
    GLOW_TRY(ref_fill(be, dx, 0.0f));
    GLOW_TRY(ref_fill(be, dhu, 0.0f));
    GLOW_TRY(ref_coupling_backward(be, x, h, dy, g, dx, dhu));
    return ref_channel_scale_backward(be, h, dhu, logs, factor, dlogs);
}

glow_status ref_conv2d_backward_data_relu(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor y,
                                          glow_tensor dx)
{
    GLOW_TRY(ref_fill(be, dx, 0.0f));
    GLOW_TRY(ref_conv2d_backward_data(be, dy, w, dx));
    return y.buf ? ref_relu_backward(be, y, dx) : GLOW_OK;
}

/* W and W^-1 of the same parameters: lu_weight twice. */
glow_status ref_lu_weight_pair(glow_backend *be, glow_tensor lower, glow_tensor upper, glow_tensor log_s,
                              glow_tensor sign, glow_tensor perm, glow_tensor weight, glow_tensor weight_inv)
{
    GLOW_TRY(ref_lu_weight(be, lower, upper, log_s, sign, perm, weight, 0));
    return ref_lu_weight(be, lower, upper, log_s, sign, perm, weight_inv, 1);
}
