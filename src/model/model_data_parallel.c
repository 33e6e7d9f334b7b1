/* Where a data-parallel training step meets the other ranks (glow/model.h,
 * glow_data_parallel). Both exchanges go through the host: the per-channel actnorm
 * statistics once per run, the gradient arena once per step. */
#include <math.h>
#include <stdlib.h>

#include "model_internal.h"

/* Per channel c of x (N,H,W,C), this rank's rows only:
 *   pass 1: s[c] = sum x, s[C] = row count   -> summed over ranks -> mean_c = s[c] / s[C]
 *   pass 2: q[c] = sum (x - mean_c)^2        -> summed over ranks -> std_c = sqrt(q[c] / rows)
 *   bias[c] = -mean_c, logs[c] = -log(std_c + 1e-6)   (backend.h actnorm_init, in double as ref) */
glow_status model_actnorm_init_global(glow_model *m, glow_tensor x, int bias_index, int logs_index)
{
    const int C = x.c;
    const size_t rows = glow_tensor_rows(x);
    float *xv = malloc(glow_tensor_count(x) * sizeof *xv);
    double *s = calloc((size_t)C + 1, sizeof *s), *q = calloc((size_t)C, sizeof *q);
    float *bias = malloc((size_t)C * sizeof *bias), *logs = malloc((size_t)C * sizeof *logs);
    glow_status st = GLOW_OK;
    if (xv == NULL || s == NULL || q == NULL || bias == NULL || logs == NULL)
        st = glow_error(GLOW_ERR_OUT_OF_MEMORY, "actnorm init over ranks: %zu x %d floats", rows, C);
    if (st == GLOW_OK)
        st = glow_tensor_download(x, xv);
    if (st == GLOW_OK) {
        for (size_t p = 0; p < rows; p++)
            for (int c = 0; c < C; c++)
                s[c] += xv[p * C + c];
        s[C] = (double)rows;
        st = m->dp->sum_doubles(m->dp->ctx, s, (size_t)C + 1, "actnorm init (sums)");
    }
    if (st == GLOW_OK) {
        for (int c = 0; c < C; c++)
            s[c] /= s[C];
        for (size_t p = 0; p < rows; p++)
            for (int c = 0; c < C; c++) {
                double d = xv[p * C + c] - s[c];
                q[c] += d * d;
            }
        st = m->dp->sum_doubles(m->dp->ctx, q, (size_t)C, "actnorm init (squares)");
    }
    if (st == GLOW_OK) {
        for (int c = 0; c < C; c++) {
            double std = sqrt(q[c] / s[C]);
            bias[c] = (float)-s[c];
            logs[c] = (float)-log(std + 1e-6);
        }
        st = glow_tensor_upload(model_param(m, GLOW_ARENA_PARAMS, bias_index), bias);
    }
    if (st == GLOW_OK)
        st = glow_tensor_upload(model_param(m, GLOW_ARENA_PARAMS, logs_index), logs);
    free(xv);
    free(s);
    free(q);
    free(bias);
    free(logs);
    return st;
}

glow_status model_sum_gradients(glow_model *m, int n, float *mean_bpd)
{
    const size_t total = m->table.total;
    /* the gradients, then this rank's share of the mean bpd and, with a classifier only, its
     * share of the mean bits_y and its count of correct class predictions */
    const size_t extra = m->cond.classifier ? 3 : 1;
    float *host = malloc((total + extra) * sizeof *host);
    float *sums = NULL;
    const float *logp = NULL, *ld = NULL;
    if (host == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "data-parallel step: %zu gradient floats", total + extra);
    glow_status st = model_read_sums(m, n, &sums, &logp, &ld, NULL);
    if (st == GLOW_OK)
        st = glow_download(m->arena[MODEL_ARENA_GRADS], 0, host, total * sizeof(float));
    if (st == GLOW_OK) {
        /* this rank's share of the global mean: sum of its bpd_n over the global batch */
        float local_mean = 0.0f;
        if (model_bpd_from_sums(m, n, logp, ld, NULL, NULL, &local_mean) != GLOW_OK)
            glow_clear_error(); /* a non-finite loss travels as NaN/Inf and is reported after the sum */
        host[total] = (float)((double)local_mean * n / m->dp->global_batch);
        if (m->cond.classifier) {
            model_cond_read_stats(m, n, sums); /* this rank's samples */
            host[total + 1] = (float)(m->cond.stats.bits_y * n / m->dp->global_batch);
            host[total + 2] = (float)m->cond.stats.correct;
        }
        st = m->dp->sum_floats(m->dp->ctx, host, total + extra, "gradients");
    }
    if (st == GLOW_OK)
        st = glow_upload(m->arena[MODEL_ARENA_GRADS], 0, host, total * sizeof(float));
    if (st == GLOW_OK) {
        *mean_bpd = host[total];
        if (m->cond.classifier) /* the global batch's classifier figures */
            m->cond.stats = (glow_class_stats){host[total + 1], (int)host[total + 2], m->dp->global_batch};
    }
    free(sums);
    free(host);
    return st;
}
