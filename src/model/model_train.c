/* Likelihood, gradients and training steps.
 * A training step: (actnorm data-dependent init folded into the first forward),
 * zero the gradient arena, forward, backward, read back only the N per-sample
 * logp and ld to form the loss (refusing a non-finite one before any update),
 * then optionally the global gradient norm and one optimiser step over the
 * whole arena (non-trainable entries and padding have zero gradients, so Adam
 * leaves them unchanged). */
#include <stdlib.h>

#include "model_internal.h"

static glow_status check_batch(const glow_model *m, int batch, const char *op)
{
    if (batch < 1 || batch > m->max_batch)
        return glow_error(GLOW_ERR_INVALID_ARG, "model %s: batch %d outside 1..%d (the model's max_batch)", op, batch,
                          m->max_batch);
    return GLOW_OK;
}

/* uint8 pixels (batch x H x W x C) -> x0 in [-0.5, 0.5] with dequantisation noise from rng. */
static glow_status load_pixels(glow_model *m, const uint8_t *pixels, int batch, glow_rng rng, const char *op)
{
    GLOW_TRY(check_batch(m, batch, op));
    if (pixels == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "model %s: no pixels", op);
    GLOW_TRY(glow_upload(m->pixels, 0, pixels, (size_t)batch * m->d));
    return glow_dequantize(m->be, m->pixels, 0, m->cfg.n_bits, rng, model_x0(m, batch));
}

static glow_status load_x(glow_model *m, const float *x, int batch, const char *op)
{
    GLOW_TRY(check_batch(m, batch, op));
    if (x == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "model %s: no input", op);
    return glow_tensor_upload(model_x0(m, batch), x);
}

static glow_tensor arena_tensor(const glow_model *m, int arena)
{
    return glow_tensor_make(m->arena[arena], 0, 1, 1, 1, (int)m->table.total);
}

/* Gradient arena = d(batch-mean bpd)/d(params) for the input already in x0. */
static glow_status forward_backward(glow_model *m, int n, glow_memory_mode mode, int init_actnorm, float *mean_bpd,
                                    float *logp)
{
    GLOW_TRY(glow_fill(m->be, arena_tensor(m, MODEL_ARENA_GRADS), 0.0f));
    GLOW_TRY(model_forward(m, mode, n, init_actnorm));
    GLOW_TRY(model_backward(m, mode, n));
    return model_read_bpd(m, n, NULL, logp, mean_bpd);
}

static glow_status gradients_loaded(glow_model *m, int n, glow_memory_mode memory, float *mean_bpd, float *logp,
                                    float *grads_host)
{
    float mean = 0.0f;
    GLOW_TRY(forward_backward(m, n, memory, 0, &mean, logp));
    if (mean_bpd)
        *mean_bpd = mean;
    if (grads_host)
        GLOW_TRY(glow_download(m->arena[MODEL_ARENA_GRADS], 0, grads_host, m->table.total * sizeof(float)));
    return GLOW_OK;
}

glow_status glow_model_gradients(glow_model *m, const uint8_t *pixels, int batch, glow_rng rng,
                                 glow_memory_mode memory, float *mean_bpd, float *grads_host)
{
    GLOW_TRY(load_pixels(m, pixels, batch, rng, "gradients"));
    return gradients_loaded(m, batch, memory, mean_bpd, NULL, grads_host);
}

glow_status glow_model_gradients_from_x(glow_model *m, const float *x, int batch, glow_memory_mode memory,
                                        float *mean_bpd, float *logp, float *grads_host)
{
    GLOW_TRY(load_x(m, x, batch, "gradients"));
    return gradients_loaded(m, batch, memory, mean_bpd, logp, grads_host);
}

static glow_status train_loaded(glow_model *m, int n, const glow_train_options *opt, float *mean_bpd)
{
    if (opt == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "model train step: no options");
    const int init = !m->actnorm_done;
    float mean = 0.0f;
    glow_status st = forward_backward(m, n, opt->memory, init, &mean, NULL);
    if (mean_bpd)
        *mean_bpd = mean;
    if (st != GLOW_OK)
        return glow_error_context(st, "model train step %d", opt->adam.step);
    if (init)
        m->actnorm_done = 1;

    glow_tensor sumsq = glow_tensor_none();
    if (opt->adam.max_grad_norm > 0.0f) {
        sumsq = glow_tensor_make(m->io, m->sumsq, 1, 1, 1, 1);
        GLOW_TRY(glow_sum_squares(m->be, arena_tensor(m, MODEL_ARENA_GRADS), sumsq));
    }
    return glow_optimizer_step(m->be, arena_tensor(m, GLOW_ARENA_PARAMS), arena_tensor(m, MODEL_ARENA_GRADS),
                               arena_tensor(m, GLOW_ARENA_ADAM_M), arena_tensor(m, GLOW_ARENA_ADAM_V), &opt->adam,
                               sumsq);
}

glow_status glow_model_train_step(glow_model *m, const uint8_t *pixels, int batch, glow_rng rng,
                                  const glow_train_options *opt, float *mean_bpd)
{
    GLOW_TRY(load_pixels(m, pixels, batch, rng, "train step"));
    return train_loaded(m, batch, opt, mean_bpd);
}

glow_status glow_model_train_step_from_x(glow_model *m, const float *x, int batch, const glow_train_options *opt,
                                         float *mean_bpd)
{
    GLOW_TRY(load_x(m, x, batch, "train step"));
    return train_loaded(m, batch, opt, mean_bpd);
}

glow_status glow_model_eval_bpd(glow_model *m, const uint8_t *pixels, int batch, glow_rng rng, float *bpd)
{
    glow_memory_mode mode;
    GLOW_TRY(load_pixels(m, pixels, batch, rng, "eval"));
    GLOW_TRY(model_any_workspace(m, &mode));
    GLOW_TRY(model_forward(m, mode, batch, 0));
    return model_read_bpd(m, batch, bpd, NULL, NULL);
}
