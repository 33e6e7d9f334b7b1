/* The class-conditional parts of the model (openai/glow's ycond; glow/model.h,
 * glow_model_config.n_classes and class_weight). K classes; the top level has C
 * channels on Ht x Wt pixels. With y_n the label of sample n and t_n = one_hot(y_n):
 *   top prior:  h_top = zeroconv3x3(zeros) + broadcast_HW(e),  e = (W_e t_n + b_e) exp(3 logs_e)
 *   classifier: logits_n = (W_c mean_HW(z_top) + b_c) exp(3 logs_c),
 *               bits_y[n] = CE(logits_n, t_n) / ln 2;   objective += class_weight * mean_n bits_y[n]
 * Both linear maps are 1x1 zeroconvs on (N,1,1,*) tensors (glow_zeroconv_forward),
 * zero-initialised as openai's linear_zeros; broadcast and mean are spatial_broadcast_add
 * and spatial_sum (scale 1 / (Ht Wt)), softmax_xent gives CE in nats. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

static glow_tensor P(const glow_model *m, int index)
{
    return model_param(m, GLOW_ARENA_PARAMS, index);
}

static glow_tensor G(const glow_model *m, int index)
{
    return model_param(m, MODEL_ARENA_GRADS, index);
}

static const model_level *top(const glow_model *m)
{
    return &m->levels[m->cfg.levels - 1];
}

/* A per-sample vector (n,1,1,c) at `off` of buffer `buf`. */
static glow_tensor vec(glow_buffer *buf, size_t off, int n, int c)
{
    return glow_tensor_make(buf, off, n, 1, 1, c);
}

glow_status model_cond_build_table(glow_model *m)
{
    model_cond *cd = &m->cond;
    cd->n_classes = m->cfg.n_classes;
    cd->classifier = m->cfg.n_classes > 0 && m->cfg.class_weight > 0.0f;
    if (cd->n_classes == 0)
        return GLOW_OK;
    const int K = cd->n_classes, C = top(m)->c;
    glow_param_table *t = &m->table;
    GLOW_TRY(glow_param_table_add(t, "top_prior.class.w", 2 * C, 1, 1, K, 1, &cd->prior.w));
    GLOW_TRY(glow_param_table_add(t, "top_prior.class.b", 1, 1, 1, 2 * C, 1, &cd->prior.b));
    GLOW_TRY(glow_param_table_add(t, "top_prior.class.logs", 1, 1, 1, 2 * C, 1, &cd->prior.logs));
    if (cd->classifier) {
        GLOW_TRY(glow_param_table_add(t, "classifier.w", K, 1, 1, C, 1, &cd->head.w));
        GLOW_TRY(glow_param_table_add(t, "classifier.b", 1, 1, 1, K, 1, &cd->head.b));
        GLOW_TRY(glow_param_table_add(t, "classifier.logs", 1, 1, 1, K, 1, &cd->head.logs));
    }
    return GLOW_OK;
}

/* 16-float aligned reservation, as model_buffers.c's. */
static size_t reserve(size_t *used, size_t count)
{
    size_t off = (*used + 15u) / 16u * 16u;
    *used = off + count;
    return off;
}

void model_cond_plan_io(glow_model *m, size_t *used)
{
    if (!m->cond.classifier)
        return;
    m->cond.yloss = reserve(used, (size_t)m->max_batch);
    m->cond.logits = reserve(used, (size_t)m->max_batch * m->cond.n_classes);
}

glow_status model_cond_alloc(glow_model *m)
{
    model_cond *cd = &m->cond;
    if (cd->n_classes == 0)
        return GLOW_OK;
    const size_t N = (size_t)m->max_batch, K = (size_t)cd->n_classes, C = (size_t)top(m)->c;
    const size_t pixels = N * top(m)->h * top(m)->w;
    size_t used = 0;
    cd->onehot = reserve(&used, N * K);
    cd->e = reserve(&used, N * 2 * C);
    cd->de = reserve(&used, N * 2 * C);
    cd->hconv = reserve(&used, pixels * 2 * C);
    if (cd->classifier) {
        cd->mean = reserve(&used, N * C);
        cd->dmean = reserve(&used, N * C);
        cd->dlogits = reserve(&used, N * K);
    }
    cd->labels = calloc(N, sizeof *cd->labels);
    if (cd->labels == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "model: %zu labels", N);
    return model_buffer_create(m, used * sizeof(float), &cd->buf, "class-conditional buffers");
}

void model_cond_free(glow_model *m)
{
    glow_buffer_destroy(m->cond.buf);
    m->cond.buf = NULL;
    free(m->cond.labels);
    m->cond.labels = NULL;
}

glow_status glow_model_set_labels(glow_model *m, const int *labels, int batch)
{
    model_cond *cd = &m->cond;
    if (cd->n_classes == 0)
        return glow_error(GLOW_ERR_INVALID_ARG, "model: labels given to an unconditional model");
    if (batch < 1 || batch > m->max_batch || labels == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "model: labels for a batch of %d (1..%d)", batch, m->max_batch);
    const int K = cd->n_classes;
    float *onehot = calloc((size_t)batch * K, sizeof *onehot);
    if (onehot == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "model: one-hot labels of %d samples", batch);
    for (int i = 0; i < batch; i++) {
        if (labels[i] < 0 || labels[i] >= K) {
            free(onehot);
            return glow_error(GLOW_ERR_INVALID_ARG, "model: label %d of sample %d is outside 0..%d (%d classes)",
                              labels[i], i, K - 1, K);
        }
        onehot[(size_t)i * K + labels[i]] = 1.0f;
    }
    glow_status st = glow_tensor_upload(vec(cd->buf, cd->onehot, batch, K), onehot);
    free(onehot);
    GLOW_TRY(st);
    memcpy(cd->labels, labels, (size_t)batch * sizeof *labels);
    cd->labels_batch = batch;
    cd->labels_pending = 1;
    return GLOW_OK;
}

glow_status model_take_labels(glow_model *m, int n, const char *op)
{
    model_cond *cd = &m->cond;
    if (cd->n_classes == 0)
        return GLOW_OK;
    if (!cd->labels_pending || cd->labels_batch != n)
        return glow_error(GLOW_ERR_INVALID_ARG,
                          "model %s: a class-conditional model needs the labels of this batch of %d "
                          "(glow_model_set_labels%s)", op, n,
                          cd->labels_pending ? ", which were set for another batch size" : " before every call");
    cd->labels_pending = 0;
    return GLOW_OK;
}

glow_status model_top_prior_forward(glow_model *m, int n)
{
    glow_backend *be = m->be;
    const model_cond *cd = &m->cond;
    const prior_params *pp = &m->priors[m->cfg.levels - 1];
    const model_level *lv = top(m);
    glow_tensor zeros = model_top_zeros(m, n), h = model_prior_h(m, m->cfg.levels - 1, n);
    GLOW_TRY(glow_fill(be, zeros, 0.0f));
    if (cd->n_classes == 0)
        return model_zeroconv_forward(m, zeros, pp->w, pp->b, pp->logs, pp->edge, h);
    glow_tensor hconv = model_level_tensor(cd->buf, cd->hconv, n, lv, 2 * lv->c);
    glow_tensor e = vec(cd->buf, cd->e, n, 2 * lv->c);
    GLOW_TRY(model_zeroconv_forward(m, zeros, pp->w, pp->b, pp->logs, pp->edge, hconv));
    GLOW_TRY(glow_zeroconv_forward(be, vec(cd->buf, cd->onehot, n, cd->n_classes), P(m, cd->prior.w),
                                   P(m, cd->prior.b), P(m, cd->prior.logs), e));
    GLOW_TRY(glow_copy_channels(be, hconv, 0, h, 0, 2 * lv->c, 0));
    return glow_spatial_broadcast_add(be, e, 1.0f, h);
}

glow_status model_classifier_forward(glow_model *m, int n)
{
    const model_cond *cd = &m->cond;
    if (!cd->classifier)
        return GLOW_OK;
    glow_backend *be = m->be;
    const model_level *lv = top(m);
    const int K = cd->n_classes;
    glow_tensor mean = vec(cd->buf, cd->mean, n, lv->c), logits = vec(m->io, cd->logits, n, K);
    GLOW_TRY(glow_spatial_sum(be, model_out(m, m->cfg.levels - 1, n), 1.0f / (float)(lv->h * lv->w), mean, 0));
    GLOW_TRY(glow_zeroconv_forward(be, mean, P(m, cd->head.w), P(m, cd->head.b), P(m, cd->head.logs), logits));
    return glow_softmax_xent(be, logits, vec(cd->buf, cd->onehot, n, K), glow_tensor_make(m->io, cd->yloss, 1, 1, 1, n));
}

float model_class_loss_grad(const glow_model *m, int n)
{
    const int batch = m->dp != NULL ? m->dp->global_batch : n;
    return (float)((double)m->cfg.class_weight / ((double)batch * log(2.0)));
}

glow_status model_top_backward(glow_model *m, int n, glow_tensor dhp, glow_tensor dout)
{
    glow_backend *be = m->be;
    const model_cond *cd = &m->cond;
    const prior_params *pp = &m->priors[m->cfg.levels - 1];
    const model_level *lv = top(m);
    const int K = cd->n_classes;
    glow_tensor zeros = model_top_zeros(m, n);
    if (cd->n_classes == 0)
        return model_zeroconv_backward(m, zeros, model_prior_h(m, m->cfg.levels - 1, n), dhp, glow_tensor_none(), pp->w,
                                       pp->b, pp->logs, pp->edge);
    glow_tensor onehot = vec(cd->buf, cd->onehot, n, K);
    /* h = hconv + broadcast(e): de = sum_HW dh, taken before the zeroconv backward scales dhp */
    glow_tensor de = vec(cd->buf, cd->de, n, 2 * lv->c);
    GLOW_TRY(glow_spatial_sum(be, dhp, 1.0f, de, 0));
    GLOW_TRY(glow_zeroconv_backward(be, onehot, P(m, cd->prior.w), P(m, cd->prior.logs), vec(cd->buf, cd->e, n, 2 * lv->c),
                                    de, glow_tensor_none(), G(m, cd->prior.w), G(m, cd->prior.b),
                                    G(m, cd->prior.logs)));
    GLOW_TRY(model_zeroconv_backward(m, zeros, model_level_tensor(cd->buf, cd->hconv, n, lv, 2 * lv->c), dhp,
                                     glow_tensor_none(), pp->w, pp->b, pp->logs, pp->edge));
    if (!cd->classifier)
        return GLOW_OK;
    /* classifier: dlogits = gy (softmax - t); dmean = W_c^T (dlogits exp(3 logs_c)); dz += dmean / (Ht Wt) */
    glow_tensor logits = vec(m->io, cd->logits, n, K), dlogits = vec(cd->buf, cd->dlogits, n, K);
    glow_tensor mean = vec(cd->buf, cd->mean, n, lv->c), dmean = vec(cd->buf, cd->dmean, n, lv->c);
    GLOW_TRY(glow_fill(be, dlogits, 0.0f));
    GLOW_TRY(glow_fill(be, dmean, 0.0f));
    GLOW_TRY(glow_softmax_xent_backward(be, logits, onehot, model_class_loss_grad(m, n), dlogits));
    GLOW_TRY(glow_zeroconv_backward(be, mean, P(m, cd->head.w), P(m, cd->head.logs), logits, dlogits, dmean,
                                    G(m, cd->head.w), G(m, cd->head.b), G(m, cd->head.logs)));
    return glow_spatial_broadcast_add(be, dmean, 1.0f / (float)(lv->h * lv->w), dout);
}

double model_cond_read_stats(glow_model *m, int n, const float *io_from_logp)
{
    model_cond *cd = &m->cond;
    const int K = cd->n_classes;
    const float *yloss = io_from_logp + (cd->yloss - m->logp), *logits = io_from_logp + (cd->logits - m->logp);
    double sum = 0.0;
    int correct = 0;
    for (int i = 0; i < n; i++) {
        sum += (double)yloss[i] / log(2.0);
        int best = 0;
        for (int k = 1; k < K; k++)
            if (logits[(size_t)i * K + k] > logits[(size_t)i * K + best])
                best = k;
        correct += best == cd->labels[i];
    }
    cd->stats.bits_y = sum / n;
    cd->stats.correct = correct;
    cd->stats.count = n;
    return cd->stats.bits_y;
}

glow_status glow_model_class_stats(const glow_model *m, glow_class_stats *out)
{
    if (!m->cond.classifier)
        return glow_error(GLOW_ERR_INVALID_ARG, "model: no classifier (class_weight is 0 or the model is "
                                                "unconditional)");
    *out = m->cond.stats;
    return GLOW_OK;
}
