/* Model lifetime, configuration checks, arenas and small accessors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

static glow_status check_config(const glow_model_config *cfg, int max_batch)
{
    if (cfg == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "model: no configuration");
    if (cfg->in_c < 1 || cfg->in_h < 1 || cfg->in_w < 1)
        return glow_error(GLOW_ERR_INVALID_ARG, "model: input %dx%dx%d (C x H x W) must be positive", cfg->in_c,
                          cfg->in_h, cfg->in_w);
    if (cfg->levels < 1 || cfg->levels > 16)
        return glow_error(GLOW_ERR_INVALID_ARG, "model: levels L=%d must be in 1..16", cfg->levels);
    if (cfg->steps < 1)
        return glow_error(GLOW_ERR_INVALID_ARG, "model: steps per level K=%d must be at least 1", cfg->steps);
    if (cfg->hidden < 1)
        return glow_error(GLOW_ERR_INVALID_ARG, "model: hidden width F=%d must be at least 1", cfg->hidden);
    if (cfg->n_bits < 1 || cfg->n_bits > 8)
        return glow_error(GLOW_ERR_INVALID_ARG, "model: n_bits=%d must be in 1..8", cfg->n_bits);
    if (cfg->pad != GLOW_PAD_ZERO && cfg->pad != GLOW_PAD_EDGE)
        return glow_error(GLOW_ERR_INVALID_ARG, "model: pad=%d must be 0 (zero) or 1 (edge)", cfg->pad);
    if (cfg->n_classes < 0 || cfg->n_classes > GLOW_MODEL_MAX_CLASSES)
        return glow_error(GLOW_ERR_INVALID_ARG, "model: n_classes=%d must be in 0..%d (0: unconditional)",
                          cfg->n_classes, GLOW_MODEL_MAX_CLASSES);
    if (!(cfg->class_weight >= 0.0f) || !isfinite(cfg->class_weight))
        return glow_error(GLOW_ERR_INVALID_ARG, "model: class_weight=%g must be finite and >= 0",
                          (double)cfg->class_weight);
    if (cfg->class_weight > 0.0f && cfg->n_classes == 0)
        return glow_error(GLOW_ERR_INVALID_ARG, "model: class_weight=%g needs a conditional model (n_classes > 0)",
                          (double)cfg->class_weight);
    if (max_batch < 1)
        return glow_error(GLOW_ERR_INVALID_ARG, "model: max_batch=%d must be at least 1", max_batch);
    /* one squeeze before level 0 and one after every level but the last: L squeezes */
    int div = 1 << cfg->levels;
    if (cfg->in_h % div != 0 || cfg->in_w % div != 0)
        return glow_error(GLOW_ERR_SHAPE,
                          "model: input %dx%d must be divisible by 2^L = %d for L=%d levels of 2x2 squeezes",
                          cfg->in_h, cfg->in_w, div, cfg->levels);
    return GLOW_OK;
}

/* Level shapes and the parameter table: everything but the buffers. */
static glow_status plan(glow_model *m)
{
    const int L = m->cfg.levels, K = m->cfg.steps;
    m->levels = calloc((size_t)L, sizeof *m->levels);
    m->steps = calloc((size_t)L * K, sizeof *m->steps);
    m->priors = calloc((size_t)L, sizeof *m->priors);
    if (!m->levels || !m->steps || !m->priors)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "model: level tables");
    int h = m->cfg.in_h / 2, w = m->cfg.in_w / 2, c = 4 * m->cfg.in_c;
    for (int l = 0; l < L; l++) {
        m->levels[l] = (model_level){h, w, c, c / 2, c - c / 2};
        h /= 2;
        w /= 2;
        c *= 2; /* keep C/2, squeeze x4 */
    }
    return model_build_table(m);
}

static glow_status alloc_arenas(glow_model *m)
{
    for (int a = 0; a < 4; a++)
        GLOW_TRY(model_buffer_create(m, m->table.total * sizeof(float), &m->arena[a], "a parameter arena"));
    return GLOW_OK;
}

static glow_status build(glow_model *m, uint64_t seed)
{
    GLOW_TRY(plan(m));
    GLOW_TRY(alloc_arenas(m));
    GLOW_TRY(model_alloc_fixed(m));

    float *host = malloc(m->table.total * sizeof *host);
    if (host == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "model: %zu initial parameters", m->table.total);
    glow_status st = model_initial_params(m, seed, host);
    if (st == GLOW_OK)
        st = glow_model_arena_upload(m, GLOW_ARENA_PARAMS, host);
    free(host);
    GLOW_TRY(st);
    for (int a = 1; a < 4; a++)
        GLOW_TRY(glow_fill(m->be, glow_tensor_make(m->arena[a], 0, 1, 1, 1, (int)m->table.total), 0.0f));
    return GLOW_OK;
}

/* A model with its configuration set and nothing built; be may be NULL (a plan). */
static glow_status new_model(glow_backend *be, const glow_model_config *cfg, int max_batch, glow_model **out)
{
    *out = NULL;
    GLOW_TRY(check_config(cfg, max_batch));
    glow_model *m = calloc(1, sizeof *m);
    if (m == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "model: out of host memory");
    m->be = be;
    m->cfg = *cfg;
    m->max_batch = max_batch;
    m->d = (size_t)cfg->in_c * cfg->in_h * cfg->in_w;
    glow_param_table_init(&m->table);
    *out = m;
    return GLOW_OK;
}

glow_status glow_model_memory_need(const glow_model_config *cfg, int max_batch, glow_memory_mode mode,
                                   glow_model_memory *out)
{
    memset(out, 0, sizeof *out);
    glow_model *m;
    GLOW_TRY(new_model(NULL, cfg, max_batch, &m));
    glow_status st = plan(m);
    if (st == GLOW_OK)
        st = alloc_arenas(m);
    out->arenas = m->planned_bytes;
    if (st == GLOW_OK)
        st = model_alloc_fixed(m);
    out->fixed = m->planned_bytes - out->arenas;
    if (st == GLOW_OK)
        st = model_ensure_workspace(m, mode);
    out->workspace = m->planned_bytes - out->arenas - out->fixed;
    out->total = m->planned_bytes;
    glow_model_destroy(m);
    return st;
}

glow_status glow_model_create(glow_backend *be, const glow_model_config *cfg, uint64_t seed, int max_batch,
                              glow_model **out)
{
    *out = NULL;
    if (be == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "model: no backend");
    glow_model *m;
    GLOW_TRY(new_model(be, cfg, max_batch, &m));
    glow_status st = build(m, seed);
    if (st != GLOW_OK) {
        glow_model_destroy(m);
        return st;
    }
    *out = m;
    return GLOW_OK;
}

void glow_model_destroy(glow_model *m)
{
    if (m == NULL)
        return;
    if (m->w_off)
        model_free_buffers(m);
    for (int a = 0; a < 4; a++)
        glow_buffer_destroy(m->arena[a]);
    glow_param_table_free(&m->table);
    free(m->levels);
    free(m->steps);
    free(m->priors);
    free(m);
}

const glow_model_config *glow_model_get_config(const glow_model *m)
{
    return &m->cfg;
}

const glow_param_table *glow_model_param_table(const glow_model *m)
{
    return &m->table;
}

size_t glow_model_param_count(const glow_model *m)
{
    return glow_param_table_trainable_count(&m->table);
}

size_t glow_model_latent_size(const glow_model *m)
{
    return m->d;
}

long glow_model_reversible_fallbacks(const glow_model *m)
{
    return m->reversible_fallbacks;
}

int glow_model_actnorm_initialized(const glow_model *m)
{
    return m->actnorm_done;
}

void glow_model_set_actnorm_initialized(glow_model *m, int done)
{
    m->actnorm_done = done != 0;
}

static glow_status check_arena_kind(glow_arena_kind kind)
{
    if (kind != GLOW_ARENA_PARAMS && kind != GLOW_ARENA_ADAM_M && kind != GLOW_ARENA_ADAM_V)
        return glow_error(GLOW_ERR_INVALID_ARG, "model: unknown arena kind %d", (int)kind);
    return GLOW_OK;
}

glow_status glow_model_arena_download(glow_model *m, glow_arena_kind kind, float *host)
{
    GLOW_TRY(check_arena_kind(kind));
    return glow_download(m->arena[kind], 0, host, m->table.total * sizeof(float));
}

glow_status glow_model_arena_upload(glow_model *m, glow_arena_kind kind, const float *host)
{
    GLOW_TRY(check_arena_kind(kind));
    return glow_upload(m->arena[kind], 0, host, m->table.total * sizeof(float));
}

uint8_t glow_model_to_pixel(const glow_model *m, float x)
{
    /* bin k of 2^n_bits covers [k / 2^n_bits - 0.5, (k+1) / 2^n_bits - 0.5); pixel = k * 2^(8 - n_bits) */
    const int bins = 1 << m->cfg.n_bits;
    float scaled = floorf((x + 0.5f) * (float)bins);
    int k = isnan(scaled) ? 0 : scaled < 0.0f ? 0 : scaled > (float)(bins - 1) ? bins - 1 : (int)scaled;
    return (uint8_t)(k << (8 - m->cfg.n_bits));
}
