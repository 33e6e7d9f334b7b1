/* The whole backward pass of the batch-mean bpd, from the top level down.
 * g = dLoss/dlogp_n = dLoss/dld_n = -1 / (N D ln 2) for every sample.
 *   top:   d out_{L-1} = dlogN/dz (gaussian_logp_backward) + the classifier's; top prior conv
 *          gradients (model_top_backward, model_cond.c)
 *   level l < L-1: d out_l = concat(unsqueeze(d u_{l+1}) + d kept from the prior conv, dlogN/dz_l)
 *   each level: back through its steps, K-1 .. 0, gA carrying d(step output) -> d(step input).
 * Reversible mode: before a step's backward, its input and internal activations are
 * rebuilt from its output with the inverse ops (flow_step_inverse), starting from the
 * stored level output, so only one step's activations exist at a time. */
#include "model_internal.h"

/* Reversible mode: each inverse also writes the coupling input (xa) of the step inverted
 * next, so only a level's first inverse copies it. The top level's last step is not
 * inverted at all: the forward pass ended with it, and its activations (and step K-2's
 * xa, in the other xa slot) are still in the workspace (the top prior touches none of it). */
static glow_status level_backward(glow_model *m, glow_memory_mode mode, int l, int n, float g)
{
    const int K = m->cfg.steps;
    const int top = l == m->cfg.levels - 1;
    for (int k = K - 1; k >= 0; k--) {
        step_tensors t = model_step_tensors(m, mode, l, k, n);
        if (mode == GLOW_MEMORY_REVERSIBLE && !(top && k == K - 1)) {
            glow_tensor xa_next = k > 0 ? model_step_tensors(m, mode, l, k - 1, n).xa : glow_tensor_none();
            GLOW_TRY(flow_step_inverse(m, l, k, &t, k < K - 1, xa_next));
        }
        GLOW_TRY(flow_step_backward(m, l, k, &t, n, g));
    }
    return GLOW_OK;
}

glow_status model_backward(glow_model *m, glow_memory_mode mode, int n)
{
    glow_backend *be = m->be;
    const int L = m->cfg.levels;
    const float g = model_loss_grad(m, n);
    GLOW_TRY(model_ensure_workspace(m, mode));

    /* top prior: d out_{L-1} into gA */
    {
        const int l = L - 1;
        const model_level *lv = &m->levels[l];
        glow_tensor dout = model_level_tensor(m->gr.buf, m->gr.ga, n, lv, lv->c);
        glow_tensor dhp = model_level_tensor(m->gr.buf, m->gr.dhp, n, lv, 2 * lv->c);
        GLOW_TRY(glow_fill(be, dout, 0.0f));
        GLOW_TRY(glow_fill(be, dhp, 0.0f));
        GLOW_TRY(glow_gaussian_logp_backward(be, model_out(m, l, n), model_prior_h(m, l, n), g, dout, dhp));
        GLOW_TRY(model_top_backward(m, n, dhp, dout)); /* top prior (+ class term), classifier into dout */
        GLOW_TRY(level_backward(m, mode, l, n, g));
    }

    for (int l = L - 2; l >= 0; l--) {
        const model_level *lv = &m->levels[l], *next = &m->levels[l + 1];
        const prior_params *pp = &m->priors[l];
        const int half = lv->c / 2;
        glow_tensor du_next = model_level_tensor(m->gr.buf, m->gr.ga, n, next, next->c);
        glow_tensor dkept = model_level_tensor(m->gr.buf, m->gr.dkept, n, lv, half);
        glow_tensor dz = model_level_tensor(m->gr.buf, m->gr.gc, n, lv, half);
        glow_tensor dhp = model_level_tensor(m->gr.buf, m->gr.dhp, n, lv, lv->c);
        glow_tensor dout = model_level_tensor(m->gr.buf, m->gr.ga, n, lv, lv->c);
        glow_tensor kept = model_kept(m, l, n), hp = model_prior_h(m, l, n);

        GLOW_TRY(glow_unsqueeze(be, du_next, dkept, 0));
        GLOW_TRY(glow_fill(be, dz, 0.0f));
        GLOW_TRY(glow_fill(be, dhp, 0.0f));
        GLOW_TRY(glow_gaussian_logp_backward(be, model_z(m, l, n), hp, g, dz, dhp));
        GLOW_TRY(model_zeroconv_backward(m, kept, hp, dhp, dkept, pp->w, pp->b, pp->logs, pp->edge));
        GLOW_TRY(glow_concat_channels(be, dkept, dz, dout, 0));
        GLOW_TRY(level_backward(m, mode, l, n, g));
    }
    return GLOW_OK;
}
