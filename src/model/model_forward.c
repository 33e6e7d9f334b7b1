/* The whole forward pass: x0 -> per-level latents, log p(z) and log-dets.
 *   u_0 = squeeze(x0)
 *   level l: out_l = flow steps(u_l);
 *     l < L-1: (kept_l, z_l) = split(out_l); hp_l = zeroconv(kept_l) = (mean, logsd);
 *              logp += log N(z_l; hp_l); u_{l+1} = squeeze(kept_l)
 *     l = L-1: htop = zeroconv(zeros) (+ the class term); logp += log N(out_l; htop);
 *              classifier logits and CE from out_l (conditional models, model_cond.c)
 * bpd_n = (-(logp_n + ld_n) + D n_bits ln 2) / (D ln 2). */
#include <math.h>
#include <stdlib.h>

#include "model_internal.h"

static glow_tensor P(const glow_model *m, int index)
{
    return model_param(m, GLOW_ARENA_PARAMS, index);
}

glow_status model_compute_weights(glow_model *m)
{
    const int steps = m->cfg.levels * m->cfg.steps;
    for (int s = 0; s < steps; s++) {
        const step_params *p = &m->steps[s];
        GLOW_TRY(glow_lu_weight_pair(m->be, P(m, p->lu_lower), P(m, p->lu_upper), P(m, p->lu_log_s),
                                     P(m, p->lu_sign), P(m, p->lu_perm), model_weight(m, s, 0), model_weight(m, s, 1)));
    }
    return GLOW_OK;
}

glow_status model_forward(glow_model *m, glow_memory_mode mode, int n, int init_actnorm)
{
    glow_backend *be = m->be;
    const int L = m->cfg.levels, K = m->cfg.steps;
    glow_tensor logp = model_logp(m, n), ld = model_ld(m, n);
    GLOW_TRY(model_ensure_workspace(m, mode));
    GLOW_TRY(model_compute_weights(m));
    GLOW_TRY(glow_fill(be, logp, 0.0f));
    GLOW_TRY(glow_fill(be, ld, 0.0f));
    GLOW_TRY(glow_squeeze(be, model_x0(m, n), model_step_tensors(m, mode, 0, 0, n).x, 0));
    for (int l = 0; l < L; l++) {
        for (int k = 0; k < K; k++) {
            step_tensors t = model_step_tensors(m, mode, l, k, n);
            GLOW_TRY(flow_step_forward(m, l, k, &t, ld, init_actnorm));
        }
        const prior_params *pp = &m->priors[l];
        glow_tensor hp = model_prior_h(m, l, n);
        if (l < L - 1) {
            glow_tensor kept = model_kept(m, l, n), z = model_z(m, l, n);
            GLOW_TRY(glow_split_channels(be, model_out(m, l, n), kept, z));
            GLOW_TRY(model_zeroconv_forward(m, kept, pp->w, pp->b, pp->logs, pp->edge, hp));
            GLOW_TRY(glow_gaussian_logp(be, z, hp, logp));
            GLOW_TRY(glow_squeeze(be, kept, model_step_tensors(m, mode, l + 1, 0, n).x, 0));
        } else {
            GLOW_TRY(model_top_prior_forward(m, n)); /* into hp; with the class term when conditional */
            GLOW_TRY(glow_gaussian_logp(be, model_out(m, l, n), hp, logp));
            GLOW_TRY(model_classifier_forward(m, n));
        }
    }
    return GLOW_OK;
}

float model_loss_grad(const glow_model *m, int n)
{
    const int batch = m->dp != NULL ? m->dp->global_batch : n;
    return (float)(-1.0 / ((double)batch * (double)m->d * log(2.0)));
}

glow_status model_bpd_from_sums(const glow_model *m, int n, const float *logp, const float *ld, float *bpd,
                                float *logp_out, float *mean_bpd)
{
    const double dln2 = (double)m->d * log(2.0);
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        double logpx = (double)logp[i] + (double)ld[i];
        double b = (-logpx + dln2 * m->cfg.n_bits) / dln2;
        if (bpd)
            bpd[i] = (float)b;
        if (logp_out)
            logp_out[i] = (float)logpx;
        sum += b;
    }
    double mean = sum / n;
    if (mean_bpd)
        *mean_bpd = (float)mean;
    if (!isfinite(mean))
        return glow_error(GLOW_ERR_NONFINITE, "model: the batch bpd is not finite (%g) over %d samples", mean, n);
    return GLOW_OK;
}

glow_status model_read_sums(glow_model *m, int n, float **host, const float **logp, const float **ld,
                            const float **sumsq)
{
    /* logp, ld and sumsq (then the classifier's yloss and logits) lie in this order in the io
     * buffer (model_alloc_fixed): one download */
    const size_t first = m->logp;
    const size_t count = (m->cond.classifier ? m->cond.logits + (size_t)n * m->cond.n_classes : m->sumsq + 1) - first;
    float *h = malloc(count * sizeof *h);
    if (h == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "model: reading %d log-densities", n);
    glow_status st = glow_download(m->io, first * sizeof(float), h, count * sizeof(float));
    if (st != GLOW_OK) {
        free(h);
        return st;
    }
    if (m->cond.classifier && m->dp == NULL) /* a data-parallel step sums them (model_sum_gradients) */
        model_cond_read_stats(m, n, h);
    *host = h;
    *logp = h;
    *ld = h + (m->ld - first);
    if (sumsq)
        *sumsq = h + (m->sumsq - first);
    return GLOW_OK;
}

glow_status model_read_bpd(glow_model *m, int n, float *bpd, float *logp_out, float *mean_bpd)
{
    float *host = NULL;
    const float *logp = NULL, *ld = NULL;
    GLOW_TRY(model_read_sums(m, n, &host, &logp, &ld, NULL));
    glow_status st = model_bpd_from_sums(m, n, logp, ld, bpd, logp_out, mean_bpd);
    free(host);
    return st;
}
