/* Encode, decode and sample.
 * A sample's latent is [z_0, z_1, ..., z_{L-2}, z_{L-1}] with z_l (H_l, W_l, C_l/2)
 * flattened NHWC for l < L-1 and z_{L-1} = out_{L-1} (H_{L-1}, W_{L-1}, C_{L-1}):
 * D floats in all. Decoding runs the network backwards:
 *   level l from L-1 down to 0: u_l = inverse steps K-1 .. 0 of out_l;
 *     l > 0: kept_{l-1} = unsqueeze(u_l); out_{l-1} = concat(kept_{l-1}, z_{l-1})
 *   x0 = unsqueeze(u_0).
 * Sampling draws z_l = mean + exp(logsd) T eps from the priors on the way down;
 * level l's noise uses rng with its seed mixed with l (seed ^ (l+1) * 0x9E3779B97F4A7C15),
 * so the levels draw independent streams for the same (seed, stream, counter). */
#include <stdlib.h>

#include "model_internal.h"

static size_t latent_size(const glow_model *m, int l)
{
    return (size_t)glow_tensor_count(model_z(m, l, 1));
}

/* Copies between the batch-major latent (batch x D) and level l's z tensor (batch x size_l). */
static void gather(const glow_model *m, int l, int batch, const float *latent, float *level)
{
    size_t off = 0, size = latent_size(m, l);
    for (int i = 0; i < l; i++)
        off += latent_size(m, i);
    for (int n = 0; n < batch; n++)
        for (size_t i = 0; i < size; i++)
            level[(size_t)n * size + i] = latent[(size_t)n * m->d + off + i];
}

static void scatter(const glow_model *m, int l, int batch, const float *level, float *latent)
{
    size_t off = 0, size = latent_size(m, l);
    for (int i = 0; i < l; i++)
        off += latent_size(m, i);
    for (int n = 0; n < batch; n++)
        for (size_t i = 0; i < size; i++)
            latent[(size_t)n * m->d + off + i] = level[(size_t)n * size + i];
}

static glow_status check_batch(const glow_model *m, int batch, const char *op)
{
    if (batch < 1 || batch > m->max_batch)
        return glow_error(GLOW_ERR_INVALID_ARG, "model %s: batch %d outside 1..%d (the model's max_batch)", op, batch,
                          m->max_batch);
    return GLOW_OK;
}

glow_status glow_model_encode(glow_model *m, const float *x, int batch, float *z, float *logp)
{
    glow_memory_mode mode;
    GLOW_TRY(check_batch(m, batch, "encode"));
    if (x == NULL || z == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "model encode: missing x or z");
    GLOW_TRY(model_take_labels(m, batch, "encode"));
    GLOW_TRY(model_any_workspace(m, &mode));
    GLOW_TRY(glow_tensor_upload(model_x0(m, batch), x));
    GLOW_TRY(model_forward(m, mode, batch, 0));
    float *level = malloc((size_t)batch * m->d * sizeof *level);
    if (level == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "model encode: %d latents", batch);
    glow_status st = GLOW_OK;
    for (int l = 0; l < m->cfg.levels && st == GLOW_OK; l++) {
        st = glow_tensor_download(model_z(m, l, batch), level);
        if (st == GLOW_OK)
            scatter(m, l, batch, level, z);
    }
    free(level);
    GLOW_TRY(st);
    float *tmp = malloc((size_t)batch * sizeof *tmp);
    if (tmp == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "model encode: %d log-densities", batch);
    st = model_read_bpd(m, batch, NULL, logp ? logp : tmp, NULL);
    free(tmp);
    return st;
}

typedef struct {
    const float *latent; /* decode: the latents to upload; NULL when sampling */
    float temperature;
    glow_rng rng;
} z_source;

/* Fills z_l (level l's latent, out_{L-1} at the top) from the source; for sampling,
 * the prior's (mean, logsd) are computed first from kept_l (or from zeros at the top). */
static glow_status fill_z(glow_model *m, int l, int n, const z_source *src, float *scratch)
{
    glow_tensor z = model_z(m, l, n);
    if (src->latent) {
        gather(m, l, n, src->latent, scratch);
        return glow_tensor_upload(z, scratch);
    }
    const prior_params *pp = &m->priors[l];
    glow_tensor hp = model_prior_h(m, l, n);
    if (l == m->cfg.levels - 1)
        GLOW_TRY(model_top_prior_forward(m, n)); /* zeroconv(zeros), plus the class term */
    else
        GLOW_TRY(model_zeroconv_forward(m, model_kept(m, l, n), pp->w, pp->b, pp->logs, pp->edge, hp));
    glow_rng rng = src->rng;
    rng.seed ^= (uint64_t)(l + 1) * 0x9E3779B97F4A7C15ull;
    return glow_gaussian_sample(m->be, hp, src->temperature, rng, z);
}

static glow_status generate(glow_model *m, int n, const z_source *src, float *x)
{
    glow_backend *be = m->be;
    glow_memory_mode mode;
    GLOW_TRY(model_any_workspace(m, &mode));
    GLOW_TRY(model_compute_weights(m));
    float *scratch = malloc((size_t)n * m->d * sizeof *scratch);
    if (scratch == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "model decode: %d latents", n);
    glow_status st = fill_z(m, m->cfg.levels - 1, n, src, scratch);
    for (int l = m->cfg.levels - 1; l >= 0 && st == GLOW_OK; l--) {
        for (int k = m->cfg.steps - 1; k >= 0 && st == GLOW_OK; k--) {
            step_tensors t = model_step_tensors(m, mode, l, k, n);
            glow_tensor xa_next = k > 0 ? model_step_tensors(m, mode, l, k - 1, n).xa : glow_tensor_none();
            st = flow_step_inverse(m, l, k, &t, k < m->cfg.steps - 1, xa_next);
        }
        glow_tensor u = model_step_tensors(m, mode, l, 0, n).x;
        if (st != GLOW_OK)
            break;
        if (l > 0) {
            st = glow_unsqueeze(be, u, model_kept(m, l - 1, n), 0);
            if (st == GLOW_OK)
                st = fill_z(m, l - 1, n, src, scratch);
            if (st == GLOW_OK)
                st = glow_concat_channels(be, model_kept(m, l - 1, n), model_z(m, l - 1, n), model_out(m, l - 1, n),
                                          0);
        } else {
            st = glow_unsqueeze(be, u, model_x0(m, n), 0);
        }
    }
    free(scratch);
    GLOW_TRY(st);
    return glow_tensor_download(model_x0(m, n), x);
}

glow_status glow_model_decode(glow_model *m, const float *z, int batch, float *x)
{
    GLOW_TRY(check_batch(m, batch, "decode"));
    if (x == NULL || z == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "model decode: missing z or x");
    z_source src = {z, 0.0f, {0, 0, 0, 0}};
    return generate(m, batch, &src, x);
}

glow_status glow_model_sample(glow_model *m, int batch, float temperature, glow_rng rng, float *x)
{
    GLOW_TRY(check_batch(m, batch, "sample"));
    if (x == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "model sample: no output");
    if (!(temperature >= 0.0f))
        return glow_error(GLOW_ERR_INVALID_ARG, "model sample: temperature %g must be >= 0", (double)temperature);
    GLOW_TRY(model_take_labels(m, batch, "sample"));
    z_source src = {NULL, temperature, rng};
    return generate(m, batch, &src, x);
}
