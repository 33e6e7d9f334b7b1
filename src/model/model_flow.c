/* One flow step of level l: actnorm -> LU 1x1 conv -> affine coupling.
 * Shapes per level: x, a, b, y (N,H,W,C); xa (N,H,W,Ca); h1, h2 (N,H,W,F); h (N,H,W,2Cb).
 *   a = (x + bias) * exp(logs)                       ld += H W sum(logs)
 *   b_p = W a_p,  W = P L U                          ld += H W sum(log_s)
 *   h = zeroconv3x3(relu(conv1x1(relu(conv3x3(b_a)))))   (3x3 convs padded as cfg.pad: model_pad.c)
 *   y = (b_a, (b_b + shift) * sigmoid(raw + 2))      ld += sum log s   (glow_coupling_forward) */
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

/* h = NN(b_a) via xa, h1, h2. */
static glow_status coupling_nn_forward(glow_model *m, const step_params *p, const step_tensors *t, glow_tensor src)
{
    glow_backend *be = m->be;
    GLOW_TRY(glow_copy_channels(be, src, 0, t->xa, 0, t->xa.c, 0));
    GLOW_TRY(model_conv1_forward(m, t->xa, p->c1_w, p->c1_b, p->c1_edge, t->h1));
    GLOW_TRY(glow_conv2d_forward(be, t->h1, P(m, p->c2_w), P(m, p->c2_b), t->h2, 1));
    return model_zeroconv_forward(m, t->h2, p->zc_w, p->zc_b, p->zc_logs, p->zc_edge, t->h);
}

glow_status flow_step_forward(glow_model *m, int l, int k, const step_tensors *t, glow_tensor ld, int init_actnorm)
{
    glow_backend *be = m->be;
    const int step = l * m->cfg.steps + k;
    const step_params *p = &m->steps[step];
    const float hw = (float)(m->levels[l].h * m->levels[l].w);
    if (init_actnorm && m->dp != NULL)
        GLOW_TRY(model_actnorm_init_global(m, t->x, p->an_bias, p->an_logs));
    else if (init_actnorm)
        GLOW_TRY(glow_actnorm_init(be, t->x, P(m, p->an_bias), P(m, p->an_logs)));
    GLOW_TRY(glow_actnorm_forward(be, t->x, P(m, p->an_bias), P(m, p->an_logs), t->a));
    GLOW_TRY(glow_logdet_sum(be, P(m, p->an_logs), hw, ld));
    GLOW_TRY(glow_conv2d_forward(be, t->a, model_weight(m, step, 0), glow_tensor_none(), t->b, 0));
    GLOW_TRY(glow_logdet_sum(be, P(m, p->lu_log_s), hw, ld));
    GLOW_TRY(coupling_nn_forward(m, p, t, t->b));
    return glow_coupling_forward(be, t->b, t->h, t->y, ld);
}

glow_status flow_step_inverse(glow_model *m, int l, int k, const step_tensors *t)
{
    glow_backend *be = m->be;
    const int step = l * m->cfg.steps + k;
    const step_params *p = &m->steps[step];
    /* y_a = b_a, so the coupling network sees the same input as in the forward pass */
    GLOW_TRY(coupling_nn_forward(m, p, t, t->y));
    GLOW_TRY(glow_coupling_inverse(be, t->y, t->h, t->b));
    GLOW_TRY(glow_conv2d_forward(be, t->b, model_weight(m, step, 1), glow_tensor_none(), t->a, 0));
    return glow_actnorm_inverse(be, t->a, P(m, p->an_bias), P(m, p->an_logs), t->x);
}

/* dh (consumed) -> parameter gradients of the coupling network and db_a += d(NN input). */
static glow_status coupling_nn_backward(glow_model *m, const step_params *p, const step_tensors *t, int n,
                                        const model_level *lv, glow_tensor dh, glow_tensor db)
{
    glow_backend *be = m->be;
    const int f = m->cfg.hidden;
    glow_tensor dh2 = scratch(m, m->gr.dh2, n, lv, f);
    glow_tensor dh1 = scratch(m, m->gr.dh1, n, lv, f);
    glow_tensor dxa = scratch(m, m->gr.dxa, n, lv, lv->ca);
    GLOW_TRY(glow_fill(be, dh2, 0.0f));
    GLOW_TRY(model_zeroconv_backward(m, t->h2, t->h, dh, dh2, p->zc_w, p->zc_b, p->zc_logs, p->zc_edge));
    GLOW_TRY(glow_relu_backward(be, t->h2, dh2));
    GLOW_TRY(glow_conv2d_backward_weight(be, t->h1, dh2, G(m, p->c2_w), G(m, p->c2_b)));
    GLOW_TRY(glow_fill(be, dh1, 0.0f));
    GLOW_TRY(glow_conv2d_backward_data(be, dh2, P(m, p->c2_w), dh1));
    GLOW_TRY(glow_relu_backward(be, t->h1, dh1));
    GLOW_TRY(glow_conv2d_backward_weight(be, t->xa, dh1, G(m, p->c1_w), G(m, p->c1_b)));
    if (p->c1_edge >= 0)
        GLOW_TRY(glow_conv2d_edge_backward_weight(be, dh1, G(m, p->c1_edge)));
    GLOW_TRY(glow_fill(be, dxa, 0.0f));
    GLOW_TRY(glow_conv2d_backward_data(be, dh1, P(m, p->c1_w), dxa));
    return glow_copy_channels(be, dxa, 0, db, 0, lv->ca, 1);
}

/* Buffers: dy arrives in gA; db in gB, da in gC, dx leaves in gA. */
glow_status flow_step_backward(glow_model *m, int l, int k, const step_tensors *t, int n, float g)
{
    glow_backend *be = m->be;
    const int step = l * m->cfg.steps + k;
    const step_params *p = &m->steps[step];
    const model_level *lv = &m->levels[l];
    /* d ld_n / d logs_c = H W for each sample, so the batch gradient is N H W g */
    const float ld_param_grad = (float)n * (float)(lv->h * lv->w) * g;
    glow_tensor dy = scratch(m, m->gr.ga, n, lv, lv->c);
    glow_tensor db = scratch(m, m->gr.gb, n, lv, lv->c);
    glow_tensor da = scratch(m, m->gr.gc, n, lv, lv->c);
    glow_tensor dh = scratch(m, m->gr.dh, n, lv, 2 * lv->cb);
    glow_tensor dw = glow_tensor_make(m->gr.buf, m->gr.dw, lv->c, 1, 1, lv->c);

    /* coupling */
    GLOW_TRY(glow_fill(be, db, 0.0f));
    GLOW_TRY(glow_fill(be, dh, 0.0f));
    GLOW_TRY(glow_coupling_backward(be, t->b, t->h, dy, g, db, dh));
    GLOW_TRY(coupling_nn_backward(m, p, t, n, lv, dh, db));

    /* LU 1x1 conv: b_p = W a_p */
    GLOW_TRY(glow_fill(be, dw, 0.0f));
    GLOW_TRY(glow_conv2d_backward_weight(be, t->a, db, dw, glow_tensor_none()));
    GLOW_TRY(glow_fill(be, da, 0.0f));
    GLOW_TRY(glow_conv2d_backward_data(be, db, model_weight(m, step, 0), da));
    GLOW_TRY(glow_lu_weight_backward(be, dw, P(m, p->lu_lower), P(m, p->lu_upper), P(m, p->lu_log_s),
                                     P(m, p->lu_sign), P(m, p->lu_perm), G(m, p->lu_lower), G(m, p->lu_upper),
                                     G(m, p->lu_log_s)));
    GLOW_TRY(glow_add_scalar(be, G(m, p->lu_log_s), ld_param_grad));

    /* actnorm */
    GLOW_TRY(glow_fill(be, dy, 0.0f));
    GLOW_TRY(glow_actnorm_backward(be, t->x, da, P(m, p->an_bias), P(m, p->an_logs), dy, G(m, p->an_bias),
                                   G(m, p->an_logs)));
    return glow_add_scalar(be, G(m, p->an_logs), ld_param_grad);
}
