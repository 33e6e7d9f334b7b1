/* Activation and scratch buffers of the model, and the tensor views into them.
 * Every buffer is sized for max_batch; a view takes the batch of the call.
 * Sizes: S_l = max_batch * H_l * W_l * C_l floats, P_l = max_batch * H_l * W_l pixels. */
#include <stdlib.h>

#include "model_internal.h"

/* Reserves `count` floats at the end of a buffer being planned (16-float aligned). */
static size_t reserve(size_t *used, size_t count)
{
    size_t off = (*used + 15u) / 16u * 16u;
    *used = off + count;
    return off;
}

static size_t level_count(const glow_model *m, const model_level *lv, int c)
{
    return (size_t)m->max_batch * lv->h * lv->w * c;
}

glow_status model_buffer_create(glow_model *m, size_t bytes, glow_buffer **out, const char *what)
{
    if (m->be == NULL) {
        *out = NULL;
        m->planned_bytes += (bytes + 15u) & ~(size_t)15u; /* glow_buffer_create's rounding */
        return GLOW_OK;
    }
    glow_status st = glow_buffer_create(m->be, bytes, out);
    if (st != GLOW_OK)
        return glow_error_context(st, "model: allocating %s (%zu bytes)", what, bytes);
    return GLOW_OK;
}

static glow_status create(glow_model *m, size_t floats, glow_buffer **out, const char *what)
{
    return model_buffer_create(m, (floats ? floats : 1) * sizeof(float), out, what);
}

static step_layout plan_step(const glow_model *m, const model_level *lv, size_t *used)
{
    step_layout s;
    s.a = reserve(used, level_count(m, lv, lv->c));
    s.b = reserve(used, level_count(m, lv, lv->c));
    s.y = reserve(used, level_count(m, lv, lv->c));
    s.xa = reserve(used, level_count(m, lv, lv->ca));
    s.h1 = reserve(used, level_count(m, lv, m->cfg.hidden));
    s.h2 = reserve(used, level_count(m, lv, m->cfg.hidden));
    s.h = reserve(used, level_count(m, lv, 2 * lv->cb));
    return s;
}

glow_status model_alloc_fixed(glow_model *m)
{
    const int L = m->cfg.levels, K = m->cfg.steps;
    const model_level *l0 = &m->levels[0], *top = &m->levels[L - 1];
    size_t used;

    /* LU weights: W and W^-1 per step */
    m->w_off = calloc((size_t)L * K, sizeof *m->w_off);
    m->winv_off = calloc((size_t)L * K, sizeof *m->winv_off);
    m->lv.out = calloc((size_t)L, sizeof(size_t));
    m->lv.kept = calloc((size_t)L, sizeof(size_t));
    m->lv.z = calloc((size_t)L, sizeof(size_t));
    m->lv.hp = calloc((size_t)L, sizeof(size_t));
    if (!m->w_off || !m->winv_off || !m->lv.out || !m->lv.kept || !m->lv.z || !m->lv.hp)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "model: offset tables");
    used = 0;
    for (int l = 0; l < L; l++)
        for (int k = 0; k < K; k++) {
            size_t cc = (size_t)m->levels[l].c * m->levels[l].c;
            m->w_off[l * K + k] = reserve(&used, cc);
            m->winv_off[l * K + k] = reserve(&used, cc);
        }
    GLOW_TRY(create(m, used, &m->weights, "LU weights"));

    /* input, per-sample sums; logp, ld, sumsq stay in this order (one download: model_read_sums) */
    used = 0;
    m->x0 = reserve(&used, (size_t)m->max_batch * m->d);
    m->logp = reserve(&used, (size_t)m->max_batch);
    m->ld = reserve(&used, (size_t)m->max_batch);
    m->sumsq = reserve(&used, 1);
    model_cond_plan_io(m, &used); /* classifier: yloss, logits */
    GLOW_TRY(create(m, used, &m->io, "input"));
    GLOW_TRY(model_buffer_create(m, (size_t)m->max_batch * m->d, &m->pixels, "input pixels"));

    /* per level outputs and priors */
    used = 0;
    for (int l = 0; l < L; l++) {
        const model_level *lv = &m->levels[l];
        m->lv.out[l] = reserve(&used, level_count(m, lv, lv->c));
        if (l < L - 1) {
            m->lv.kept[l] = reserve(&used, level_count(m, lv, lv->c / 2));
            m->lv.z[l] = reserve(&used, level_count(m, lv, lv->c / 2));
            m->lv.hp[l] = reserve(&used, level_count(m, lv, lv->c));
        }
    }
    m->lv.zeros = reserve(&used, level_count(m, top, top->c));
    m->lv.htop = reserve(&used, level_count(m, top, 2 * top->c));
    GLOW_TRY(create(m, used, &m->lv.buf, "level outputs"));
    GLOW_TRY(model_cond_alloc(m));

    /* backward scratch at level-0 size (the largest level) */
    size_t s0 = level_count(m, l0, l0->c);
    size_t dhp = s0 > 2 * level_count(m, top, top->c) ? s0 : 2 * level_count(m, top, top->c);
    size_t cmax = (size_t)top->c; /* C_l grows with l */
    used = 0;
    m->gr.ga = reserve(&used, s0);
    m->gr.gb = reserve(&used, s0);
    m->gr.gc = reserve(&used, s0);
    m->gr.dh = reserve(&used, level_count(m, l0, 2 * l0->cb));
    m->gr.dh1 = reserve(&used, level_count(m, l0, m->cfg.hidden));
    m->gr.dh2 = reserve(&used, level_count(m, l0, m->cfg.hidden));
    m->gr.dxa = reserve(&used, level_count(m, l0, l0->ca));
    m->gr.dkept = reserve(&used, s0 / 2);
    m->gr.dhp = reserve(&used, dhp);
    m->gr.dw = reserve(&used, cmax * cmax);
    GLOW_TRY(create(m, used, &m->gr.buf, "gradient scratch"));
    return GLOW_OK;
}

static void free_store(glow_model *m)
{
    store_buffers *s = m->store;
    if (s == NULL)
        return;
    const int L = m->cfg.levels, K = m->cfg.steps;
    if (s->step_buf)
        for (int i = 0; i < L * K; i++)
            glow_buffer_destroy(s->step_buf[i]);
    if (s->input_buf)
        for (int l = 0; l < L; l++)
            glow_buffer_destroy(s->input_buf[l]);
    free(s->step_buf);
    free(s->input_buf);
    free(s->layout);
    free(s);
    m->store = NULL;
}

static void free_rev(glow_model *m)
{
    if (m->rev == NULL)
        return;
    glow_buffer_destroy(m->rev->buf);
    free(m->rev);
    m->rev = NULL;
}

void model_free_buffers(glow_model *m)
{
    free_store(m);
    free_rev(m);
    glow_buffer_destroy(m->weights);
    glow_buffer_destroy(m->io);
    glow_buffer_destroy(m->pixels);
    glow_buffer_destroy(m->lv.buf);
    glow_buffer_destroy(m->gr.buf);
    model_cond_free(m);
    free(m->w_off);
    free(m->winv_off);
    free(m->lv.out);
    free(m->lv.kept);
    free(m->lv.z);
    free(m->lv.hp);
}

static glow_status alloc_store(glow_model *m)
{
    const int L = m->cfg.levels, K = m->cfg.steps;
    store_buffers *s = calloc(1, sizeof *s);
    if (s == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "model: store workspace");
    m->store = s;
    s->step_buf = calloc((size_t)L * K, sizeof *s->step_buf);
    s->input_buf = calloc((size_t)L, sizeof *s->input_buf);
    s->layout = calloc((size_t)L, sizeof *s->layout);
    if (!s->step_buf || !s->input_buf || !s->layout) {
        free_store(m);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "model: store workspace tables");
    }
    for (int l = 0; l < L; l++) {
        const model_level *lv = &m->levels[l];
        size_t used = 0;
        s->layout[l] = plan_step(m, lv, &used);
        for (int k = 0; k < K; k++) {
            glow_status st = create(m, used, &s->step_buf[l * K + k], "stored step activations");
            if (st != GLOW_OK) {
                free_store(m);
                return st;
            }
        }
        glow_status st = create(m, level_count(m, lv, lv->c), &s->input_buf[l], "stored level input");
        if (st != GLOW_OK) {
            free_store(m);
            return st;
        }
    }
    return GLOW_OK;
}

static glow_status alloc_rev(glow_model *m)
{
    rev_buffers *r = calloc(1, sizeof *r);
    if (r == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "model: reversible workspace");
    const model_level *l0 = &m->levels[0];
    size_t used = 0;
    r->layout = plan_step(m, l0, &used);
    r->ping[0] = reserve(&used, level_count(m, l0, l0->c));
    r->ping[1] = reserve(&used, level_count(m, l0, l0->c));
    glow_status st = create(m, used, &r->buf, "reversible step workspace");
    if (st != GLOW_OK) {
        free(r);
        return st;
    }
    m->rev = r;
    return GLOW_OK;
}

glow_status model_ensure_workspace(glow_model *m, glow_memory_mode mode)
{
    if (mode == GLOW_MEMORY_STORE)
        return m->store ? GLOW_OK : alloc_store(m);
    if (mode == GLOW_MEMORY_REVERSIBLE)
        return m->rev ? GLOW_OK : alloc_rev(m);
    return glow_error(GLOW_ERR_INVALID_ARG, "model: unknown memory mode %d", (int)mode);
}

glow_status model_any_workspace(glow_model *m, glow_memory_mode *mode)
{
    *mode = (m->store && !m->rev) ? GLOW_MEMORY_STORE : GLOW_MEMORY_REVERSIBLE;
    return model_ensure_workspace(m, *mode);
}

/* ---- views ---- */

glow_tensor model_param(const glow_model *m, int arena, int index)
{
    const glow_param_entry *e = &m->table.entries[index];
    return glow_tensor_make(m->arena[arena], e->off, e->n, e->h, e->w, e->c);
}

glow_tensor model_level_tensor(glow_buffer *buf, size_t off, int n, const model_level *lv, int c)
{
    return glow_tensor_make(buf, off, n, lv->h, lv->w, c);
}

step_tensors model_step_tensors(const glow_model *m, glow_memory_mode mode, int l, int k, int n)
{
    const int K = m->cfg.steps;
    const model_level *lv = &m->levels[l];
    step_tensors t;
    glow_buffer *buf;
    step_layout s;
    if (mode == GLOW_MEMORY_STORE) {
        buf = m->store->step_buf[l * K + k];
        s = m->store->layout[l];
        t.x = k == 0 ? model_level_tensor(m->store->input_buf[l], 0, n, lv, lv->c)
                     : model_level_tensor(m->store->step_buf[l * K + k - 1], s.y, n, lv, lv->c);
        t.y = model_level_tensor(buf, s.y, n, lv, lv->c);
    } else {
        buf = m->rev->buf;
        s = m->rev->layout;
        t.x = model_level_tensor(buf, m->rev->ping[k % 2], n, lv, lv->c);
        t.y = model_level_tensor(buf, m->rev->ping[(k + 1) % 2], n, lv, lv->c);
    }
    if (k == K - 1)
        t.y = model_out(m, l, n);
    t.a = model_level_tensor(buf, s.a, n, lv, lv->c);
    t.b = model_level_tensor(buf, s.b, n, lv, lv->c);
    /* Reversible: steps alternate between two xa slots (the second is the a slot, which the
     * fused actnorm_invconv ops leave unused), so that inverting step k can write step
     * k-1's xa while step k's own is still needed by its backward pass. */
    size_t xa_off = mode == GLOW_MEMORY_REVERSIBLE && k % 2 == 1 ? s.a : s.xa;
    t.xa = model_level_tensor(buf, xa_off, n, lv, lv->ca);
    t.h1 = model_level_tensor(buf, s.h1, n, lv, m->cfg.hidden);
    t.h2 = model_level_tensor(buf, s.h2, n, lv, m->cfg.hidden);
    t.h = model_level_tensor(buf, s.h, n, lv, 2 * lv->cb);
    return t;
}

glow_tensor model_weight(const glow_model *m, int step, int inverse)
{
    int c = m->levels[step / m->cfg.steps].c;
    return glow_tensor_make(m->weights, inverse ? m->winv_off[step] : m->w_off[step], c, 1, 1, c);
}

glow_tensor model_out(const glow_model *m, int l, int n)
{
    return model_level_tensor(m->lv.buf, m->lv.out[l], n, &m->levels[l], m->levels[l].c);
}

glow_tensor model_kept(const glow_model *m, int l, int n)
{
    return model_level_tensor(m->lv.buf, m->lv.kept[l], n, &m->levels[l], m->levels[l].c / 2);
}

glow_tensor model_z(const glow_model *m, int l, int n)
{
    if (l == m->cfg.levels - 1)
        return model_out(m, l, n);
    return model_level_tensor(m->lv.buf, m->lv.z[l], n, &m->levels[l], m->levels[l].c / 2);
}

glow_tensor model_prior_h(const glow_model *m, int l, int n)
{
    const model_level *lv = &m->levels[l];
    if (l == m->cfg.levels - 1)
        return model_level_tensor(m->lv.buf, m->lv.htop, n, lv, 2 * lv->c);
    return model_level_tensor(m->lv.buf, m->lv.hp[l], n, lv, lv->c);
}

glow_tensor model_top_zeros(const glow_model *m, int n)
{
    const model_level *top = &m->levels[m->cfg.levels - 1];
    return model_level_tensor(m->lv.buf, m->lv.zeros, n, top, top->c);
}

glow_tensor model_x0(const glow_model *m, int n)
{
    return glow_tensor_make(m->io, m->x0, n, m->cfg.in_h, m->cfg.in_w, m->cfg.in_c);
}

glow_tensor model_logp(const glow_model *m, int n)
{
    return glow_tensor_make(m->io, m->logp, 1, 1, 1, n);
}

glow_tensor model_ld(const glow_model *m, int n)
{
    return glow_tensor_make(m->io, m->ld, 1, 1, 1, n);
}
