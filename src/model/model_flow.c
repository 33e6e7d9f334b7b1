/* One flow step of level l: actnorm -> LU 1x1 conv -> affine coupling.
 * Shapes per level: x, a, b, y (N,H,W,C); xa (N,H,W,Ca); h1, h2 (N,H,W,F); h (N,H,W,2Cb).
 *   a = (x + bias) * exp(logs)                       ld += H W sum(logs)
 *   b_p = W a_p,  W = P L U                          ld += H W sum(log_s)
 *   h = zeroconv3x3(relu(conv1x1(relu(conv3x3(b_a)))))   (3x3 convs padded as cfg.pad: model_pad.c)
 *   y = (b_a, (b_b + shift) * sigmoid(raw + 2))      ld += sum log s   (glow_coupling_forward)
 * run as the fused ops of glow/ops.def: actnorm_invconv_* (the first two lines and xa = b_a),
 * the two hidden convs, coupling_zeroconv_* (the zero-conv and the coupling). With --pad edge
 * the zero-conv's edge term (a weight tensor, not the op's precomputed `edge` map) takes the
 * primitives instead: model_zeroconv_forward, then glow_coupling_forward/inverse; the fused
 * backward is the same for both, as the edge term's gradient needs only d(unscaled output). */
#include "model_internal.h"

static glow_tensor P(const glow_model *m, int index)
{
    return model_param(m, GLOW_ARENA_PARAMS, index);
}

static glow_tensor G(const glow_model *m, int index)
{
    return model_param(m, MODEL_ARENA_GRADS, index);
}

static glow_tensor scratch(const glow_model *m, size_t off, int n, const model_level *lv, int c)
{
    return model_level_tensor(m->gr.buf, off, n, lv, c);
}

/* h1 = relu(conv3x3(xa)), h2 = relu(conv1x1(h1)): the coupling network up to its zero-conv
 * (bias and ReLU in the convolutions' epilogues). xa already holds b_a. */
static glow_status coupling_hidden_forward(glow_model *m, const step_params *p, const step_tensors *t)
{
    glow_backend *be = m->be;
    GLOW_TRY(model_conv1_forward(m, t->xa, p->c1_w, p->c1_b, p->c1_edge, t->h1));
    return glow_conv2d_forward(be, t->h1, P(m, p->c2_w), P(m, p->c2_b), t->h2, 1);
}

/* The fused ops (glow/ops.def, "fused flow-step ops"):
 *   actnorm_invconv_forward:   a, b = W a, xa = b_a and both log-dets in one op;
 *   coupling_zeroconv_forward: h = zeroconv(h2) and the coupling (y, sum log s) in one op.
 * An additive term on the zero-conv's output (before its scale) is the op's optional
 * `edge` operand (absent here). */
glow_status flow_step_forward(glow_model *m, int l, int k, const step_tensors *t, glow_tensor ld, int init_actnorm)
{
    glow_backend *be = m->be;
    const int step = l * m->cfg.steps + k;
    const step_params *p = &m->steps[step];
    if (init_actnorm && m->dp != NULL)
        GLOW_TRY(model_actnorm_init_global(m, t->x, p->an_bias, p->an_logs));
    else if (init_actnorm)
        GLOW_TRY(glow_actnorm_init(be, t->x, P(m, p->an_bias), P(m, p->an_logs)));
    GLOW_TRY(glow_actnorm_invconv_forward(be, t->x, P(m, p->an_bias), P(m, p->an_logs), model_weight(m, step, 0),
                                          P(m, p->lu_log_s), t->b, t->xa, ld));
    GLOW_TRY(coupling_hidden_forward(m, p, t));
    if (p->zc_edge >= 0) {
        GLOW_TRY(model_zeroconv_forward(m, t->h2, p->zc_w, p->zc_b, p->zc_logs, p->zc_edge, t->h));
        return glow_coupling_forward(be, t->b, t->h, t->y, ld);
    }
    return glow_coupling_zeroconv_forward(be, t->h2, P(m, p->zc_w), P(m, p->zc_b), glow_tensor_none(),
                                          P(m, p->zc_logs), GLOW_ZEROCONV_LOGSCALE_FACTOR, t->b, t->h, t->y, ld);
}

/* xa_ready: t->xa already holds y_a (written by the previous inverse as its xa_next);
 * xa_next (optional): receives x_a, the coupling input of the step inverted next (k-1). */
glow_status flow_step_inverse(glow_model *m, int l, int k, const step_tensors *t, int xa_ready, glow_tensor xa_next)
{
    glow_backend *be = m->be;
    const int step = l * m->cfg.steps + k;
    const step_params *p = &m->steps[step];
    /* y_a = b_a, so the coupling network sees the same input as in the forward pass */
    if (!xa_ready)
        GLOW_TRY(glow_copy_channels(be, t->y, 0, t->xa, 0, t->xa.c, 0));
    GLOW_TRY(coupling_hidden_forward(m, p, t));
    if (p->zc_edge >= 0) {
        GLOW_TRY(model_zeroconv_forward(m, t->h2, p->zc_w, p->zc_b, p->zc_logs, p->zc_edge, t->h));
        GLOW_TRY(glow_coupling_inverse(be, t->y, t->h, t->b));
    } else
        GLOW_TRY(glow_coupling_zeroconv_inverse(be, t->h2, P(m, p->zc_w), P(m, p->zc_b), glow_tensor_none(),
                                                P(m, p->zc_logs), GLOW_ZEROCONV_LOGSCALE_FACTOR, t->y, t->h, t->b));
    return glow_actnorm_invconv_inverse(be, t->b, P(m, p->an_bias), P(m, p->an_logs), model_weight(m, step, 1), t->x,
                                        xa_next);
}

/* Buffers: dy arrives in gA; db in gB, dx leaves in gA. The fused backward ops
 * overwrite their outputs, so no gradient scratch is zeroed first:
 *   coupling_zeroconv_backward: db = d(coupling input), dh = d(unscaled zero-conv output)
 *   conv2d_backward_data_relu:  each hidden layer's input gradient with the ReLU backward folded in
 *   actnorm_invconv_backward:   dx, dW and the actnorm gradients, with d(xa) added to db's first half. */
glow_status flow_step_backward(glow_model *m, int l, int k, const step_tensors *t, int n, float g)
{
    glow_backend *be = m->be;
    const int step = l * m->cfg.steps + k;
    const step_params *p = &m->steps[step];
    const model_level *lv = &m->levels[l];
    const int f = m->cfg.hidden;
    /* d ld_n / d logs_c = H W for each sample, so the batch gradient is N H W g */
    const float ld_param_grad = (float)n * (float)(lv->h * lv->w) * g;
    glow_tensor dy = scratch(m, m->gr.ga, n, lv, lv->c);
    glow_tensor db = scratch(m, m->gr.gb, n, lv, lv->c);
    glow_tensor dh = scratch(m, m->gr.dh, n, lv, 2 * lv->cb);
    glow_tensor dh2 = scratch(m, m->gr.dh2, n, lv, f);
    glow_tensor dh1 = scratch(m, m->gr.dh1, n, lv, f);
    glow_tensor dxa = scratch(m, m->gr.dxa, n, lv, lv->ca);
    glow_tensor dw = glow_tensor_make(m->gr.buf, m->gr.dw, lv->c, 1, 1, lv->c);

    /* coupling and its network */
    GLOW_TRY(glow_coupling_zeroconv_backward(be, t->b, t->h, dy, g, P(m, p->zc_logs), GLOW_ZEROCONV_LOGSCALE_FACTOR,
                                             db, dh, G(m, p->zc_logs)));
    if (p->zc_edge >= 0) /* the edge term shares the unscaled output's gradient dh */
        GLOW_TRY(glow_conv2d_edge_backward_weight(be, dh, G(m, p->zc_edge)));
    GLOW_TRY(glow_conv2d_backward_weight(be, t->h2, dh, G(m, p->zc_w), G(m, p->zc_b)));
    GLOW_TRY(glow_conv2d_backward_data_relu(be, dh, P(m, p->zc_w), t->h2, dh2));
    GLOW_TRY(glow_conv2d_backward_weight(be, t->h1, dh2, G(m, p->c2_w), G(m, p->c2_b)));
    GLOW_TRY(glow_conv2d_backward_data_relu(be, dh2, P(m, p->c2_w), t->h1, dh1));
    GLOW_TRY(glow_conv2d_backward_weight(be, t->xa, dh1, G(m, p->c1_w), G(m, p->c1_b)));
    if (p->c1_edge >= 0) /* added before conv1's ReLU: dh1 is the gradient there */
        GLOW_TRY(glow_conv2d_edge_backward_weight(be, dh1, G(m, p->c1_edge)));
    GLOW_TRY(glow_conv2d_backward_data_relu(be, dh1, P(m, p->c1_w), glow_tensor_none(), dxa));

    /* actnorm + LU 1x1 conv: b_p = W a_p, a = actnorm(x); both log-det terms included */
    GLOW_TRY(glow_actnorm_invconv_backward(be, t->x, db, dxa, P(m, p->an_bias), P(m, p->an_logs),
                                           model_weight(m, step, 0), ld_param_grad, dy, dw, G(m, p->an_bias),
                                           G(m, p->an_logs), G(m, p->lu_log_s)));
    return glow_lu_weight_backward(be, dw, P(m, p->lu_lower), P(m, p->lu_upper), P(m, p->lu_log_s), P(m, p->lu_sign),
                                   P(m, p->lu_perm), G(m, p->lu_lower), G(m, p->lu_upper), G(m, p->lu_log_s));
}
