/* Likelihood, gradients and training steps.
 *
 * A training step is recorded as one sequence of ops with no host readback inside it,
 * so the Vulkan backend submits it once and the CUDA backend replays it as one CUDA graph
 * (glow_step_begin/end in glow/backend.h; backend.h: ops run in program order and may be
 * recorded; only a download waits):
 *   (upload pixels) dequantize -> x0;  fill(grads, 0);  forward (the data-dependent
 *   actnorm init folded into the first one);  backward;  sumsq = sum_squares(grads);
 *   optimizer_step(params, grads, m, v, sumsq);  ONE download of logp, ld, sumsq.
 * The optimiser guards itself on the device: a non-finite sumsq (a NaN/Inf gradient)
 * leaves params, m and v unchanged. The host then forms the loss from logp and ld:
 *   - gradients non-finite: the update was skipped, GLOW_ERR_NONFINITE;
 *   - loss non-finite but gradients finite: the update was applied (the host learns
 *     of the loss only after the one submission), GLOW_ERR_NONFINITE. The trainer
 *     stops on that error without writing a checkpoint (src/app/trainer.c,
 *     stop_nonfinite), so the last good checkpoint on disk is intact.
 * Non-trainable entries and padding of the arena have zero gradients, so Adam leaves
 * them unchanged.
 * Data-parallel (glow_model_set_data_parallel): the sequence is cut after the backward pass, where the
 * gradients and the loss are summed over ranks (model_sum_gradients: one download, one
 * exchange, one upload); sum_squares and the optimiser then run on the summed gradients,
 * so every rank takes the same step. */
#include <math.h>
#include <stdlib.h>

#include "model_internal.h"

static glow_status check_batch(const glow_model *m, int batch, const char *op)
{
    if (batch < 1 || batch > m->max_batch)
        return glow_error(GLOW_ERR_INVALID_ARG, "model %s: batch %d outside 1..%d (the model's max_batch)", op, batch,
                          m->max_batch);
    return GLOW_OK;
}

/* uint8 pixels (batch x H x W x C) -> m->pixels. */
static glow_status upload_pixels(glow_model *m, const uint8_t *pixels, int batch, const char *op)
{
    GLOW_TRY(check_batch(m, batch, op));
    if (pixels == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "model %s: no pixels", op);
    return glow_upload(m->pixels, 0, pixels, (size_t)batch * m->d);
}

/* uint8 pixels (batch x H x W x C) -> x0 in [-0.5, 0.5] with dequantisation noise from rng. */
static glow_status load_pixels(glow_model *m, const uint8_t *pixels, int batch, glow_rng rng, const char *op)
{
    GLOW_TRY(upload_pixels(m, pixels, batch, op));
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
    GLOW_TRY(model_take_labels(m, batch, "gradients"));
    return gradients_loaded(m, batch, memory, mean_bpd, NULL, grads_host);
}

glow_status glow_model_gradients_from_x(glow_model *m, const float *x, int batch, glow_memory_mode memory,
                                        float *mean_bpd, float *logp, float *grads_host)
{
    GLOW_TRY(load_x(m, x, batch, "gradients"));
    GLOW_TRY(model_take_labels(m, batch, "gradients"));
    return gradients_loaded(m, batch, memory, mean_bpd, logp, grads_host);
}

/* The ops of one step, from the dequantisation (when `dequant` is given: the pixels are
 * in m->pixels) to the optimiser; data-parallel steps also exchange the gradients. */
static glow_status record_step_ops(glow_model *m, int n, const glow_train_options *opt, glow_memory_mode memory,
                                   int init, const glow_rng *dequant, float *global_mean)
{
    glow_tensor grads = arena_tensor(m, MODEL_ARENA_GRADS);
    glow_tensor sumsq = glow_tensor_make(m->io, m->sumsq, 1, 1, 1, 1);
    glow_status st = GLOW_OK;
    if (dequant != NULL)
        st = glow_dequantize(m->be, m->pixels, 0, m->cfg.n_bits, *dequant, model_x0(m, n));
    if (st == GLOW_OK)
        st = glow_fill(m->be, grads, 0.0f);
    if (st == GLOW_OK)
        st = model_forward(m, memory, n, init);
    if (st == GLOW_OK)
        st = model_backward(m, memory, n);
    if (st == GLOW_OK && m->dp != NULL)
        st = model_sum_gradients(m, n, global_mean);
    if (st == GLOW_OK)
        st = glow_sum_squares(m->be, grads, sumsq);
    if (st == GLOW_OK)
        st = glow_optimizer_step(m->be, arena_tensor(m, GLOW_ARENA_PARAMS), grads, arena_tensor(m, GLOW_ARENA_ADAM_M),
                                 arena_tensor(m, GLOW_ARENA_ADAM_V), &opt->adam, sumsq);
    return st;
}

/* The op sequence of a step, for glow_step_begin: what decides which ops run on which
 * tensors (the backend checks every op's signature as well). */
static uint64_t step_key(int n, const glow_train_options *opt, glow_memory_mode memory, int init,
                         const glow_rng *dequant)
{
    uint64_t key = (uint64_t)(uint32_t)n;
    key = key << 2 | (uint64_t)(memory & 3);
    key = key << 1 | (uint64_t)(init != 0);
    key = key << 1 | (uint64_t)(dequant != NULL);
    key = key << 1 | (uint64_t)(opt->adam.kind == GLOW_OPT_ADAMAX);
    return key;
}

/* Records the whole step (see the top of this file), then reads back logp, ld and sumsq once.
 * A single-process step is bracketed by glow_step_begin/end, so that a backend with step
 * graphs (CUDA) runs it as one graph launch; when the backend answers rerun (its capture or
 * replay failed, nothing ran), the same ops are recorded again and run one by one.
 * *grads_finite tells whether the update was applied (the optimiser skips it on the device
 * when the gradients' sum of squares is not finite). */
static glow_status record_and_run_step(glow_model *m, int n, const glow_train_options *opt, glow_memory_mode memory,
                                       int init, const glow_rng *dequant, float *mean_bpd, int *grads_finite,
                                       double *grad_sumsq)
{
    float global_mean = NAN;
    glow_status st;
    if (m->dp != NULL) {
        st = record_step_ops(m, n, opt, memory, init, dequant, &global_mean); /* downloads inside: no bracket */
    } else {
        st = glow_step_begin(m->be, step_key(n, opt, memory, init, dequant));
        if (st == GLOW_OK) {
            st = record_step_ops(m, n, opt, memory, init, dequant, &global_mean);
            int rerun = 0;
            glow_status end = glow_step_end(m->be, &rerun);
            if (st == GLOW_OK)
                st = end;
            if (st == GLOW_OK && rerun)
                st = record_step_ops(m, n, opt, memory, init, dequant, &global_mean);
        }
    }
    float *host = NULL;
    const float *logp = NULL, *ld = NULL, *ss = NULL;
    if (st == GLOW_OK)
        st = model_read_sums(m, n, &host, &logp, &ld, &ss);
    if (st != GLOW_OK)
        return st;
    *grads_finite = isfinite(*ss);
    *grad_sumsq = *ss;
    /* A non-finite mean is reported by the caller, which knows whether the update ran. */
    if (m->dp != NULL)
        *mean_bpd = global_mean;
    else if (model_bpd_from_sums(m, n, logp, ld, NULL, NULL, mean_bpd) != GLOW_OK)
        glow_clear_error();
    free(host);
    return GLOW_OK;
}

static glow_status train_loaded(glow_model *m, int n, const glow_train_options *opt, const glow_rng *dequant,
                                float *mean_bpd)
{
    if (opt == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "model train step: no options");
    const glow_data_parallel *dp = m->dp_config;
    if (dp != NULL && (dp->global_batch < n || dp->sum_floats == NULL || dp->sum_doubles == NULL))
        return glow_error(GLOW_ERR_INVALID_ARG, "model train step: data-parallel global batch %d < this rank's %d, "
                          "or no sum functions", dp->global_batch, n);
    const int init = !m->actnorm_done;
    float mean = 0.0f;
    int grads_finite = 0;
    double grad_sumsq = 0.0;
    m->dp = dp;
    glow_status st = record_and_run_step(m, n, opt, opt->memory, init, dequant, &mean, &grads_finite, &grad_sumsq);
    /* Rebuilding a coupling's input divides by its scale s = sigmoid(raw + 2); once a
     * trained model drives some s below the smallest float, y_b = (x_b + shift) * s
     * no longer holds x_b and the rebuilt activations are NaN although the loss (whose
     * log s is evaluated stably) is finite. The device skipped the update, so the same
     * step is redone exactly with stored activations. Actnorm init is not redone: it
     * ran in the first attempt. */
    if (st == GLOW_OK && !grads_finite && isfinite(mean) && opt->memory == GLOW_MEMORY_REVERSIBLE) {
        m->reversible_fallbacks++;
        st = record_and_run_step(m, n, opt, GLOW_MEMORY_STORE, 0, dequant, &mean, &grads_finite, &grad_sumsq);
    }
    m->dp = NULL;
    if (st != GLOW_OK)
        return glow_error_context(st, "model train step %d", opt->adam.step);
    if (mean_bpd)
        *mean_bpd = mean;
    if (!isfinite(mean) || !grads_finite) {
        if (isfinite(mean))
            st = glow_error(GLOW_ERR_NONFINITE, "model: the gradient's sum of squares is not finite (%g)", grad_sumsq);
        else
            st = glow_error(GLOW_ERR_NONFINITE, "model: the loss is not finite (%g)", (double)mean);
        return glow_error_context(st, "model train step %d (%s)", opt->adam.step,
                                  grads_finite ? "the update was applied: gradients were finite"
                                               : "parameters unchanged: the update was skipped");
    }
    if (init)
        m->actnorm_done = 1;
    return GLOW_OK;
}

glow_status glow_model_train_step(glow_model *m, const uint8_t *pixels, int batch, glow_rng rng,
                                  const glow_train_options *opt, float *mean_bpd)
{
    GLOW_TRY(upload_pixels(m, pixels, batch, "train step"));
    GLOW_TRY(model_take_labels(m, batch, "train step"));
    return train_loaded(m, batch, opt, &rng, mean_bpd); /* dequantised inside the step */
}

glow_status glow_model_train_step_from_x(glow_model *m, const float *x, int batch, const glow_train_options *opt,
                                         float *mean_bpd)
{
    GLOW_TRY(load_x(m, x, batch, "train step"));
    GLOW_TRY(model_take_labels(m, batch, "train step"));
    return train_loaded(m, batch, opt, NULL, mean_bpd);
}

glow_status glow_model_eval_bpd(glow_model *m, const uint8_t *pixels, int batch, glow_rng rng, float *bpd)
{
    glow_memory_mode mode;
    GLOW_TRY(load_pixels(m, pixels, batch, rng, "eval"));
    GLOW_TRY(model_take_labels(m, batch, "eval"));
    GLOW_TRY(model_any_workspace(m, &mode));
    GLOW_TRY(model_forward(m, mode, batch, 0));
    return model_read_bpd(m, batch, bpd, NULL, NULL);
}

void glow_model_set_data_parallel(glow_model *m, const glow_data_parallel *dp)
{
    m->dp_config = dp;
}
