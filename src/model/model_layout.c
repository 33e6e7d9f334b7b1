/* The parameter table of the Glow model and its initial values.
 *
 * Names (l = level, k = step):
 *   l{l}.s{k}.actnorm.{bias,logs}                 (1,1,1,C_l)
 *   l{l}.s{k}.invconv.{lower,upper}               (C_l,1,1,C_l)
 *   l{l}.s{k}.invconv.log_s                       (1,1,1,C_l)
 *   l{l}.s{k}.invconv.{sign,perm}                 non-trainable: (1,1,1,C_l), (C_l,1,1,C_l)
 *   l{l}.s{k}.coupling.conv1.{w,b}                (F,3,3,Ca), (1,1,1,F)
 *   l{l}.s{k}.coupling.conv2.{w,b}                (F,1,1,F), (1,1,1,F)
 *   l{l}.s{k}.coupling.zeroconv.{w,b,logs}        (2Cb,3,3,F), (1,1,1,2Cb), (1,1,1,2Cb)
 *   l{l}.prior.{w,b,logs}          (l < L-1)      (C_l,3,3,C_l/2), (1,1,1,C_l) x2
 *   top_prior.{w,b,logs}                          (2C,3,3,C), (1,1,1,2C) x2 with C = C_{L-1}
 * With --pad edge (GLOW_PAD_EDGE) each padded 3x3 conv also has its edge-indicator
 * weights, right after its other entries: <conv>.edge (Co,3,3,1) for
 *   l{l}.s{k}.coupling.conv1.edge (F,3,3,1), l{l}.s{k}.coupling.zeroconv.edge (2Cb,3,3,1),
 *   l{l}.prior.edge (C_l,3,3,1), top_prior.edge (2C,3,3,1);
 * initialised as the conv's other input channels (conv1 N(0, 0.05^2), the zero convs 0).
 * Initial values: actnorm 0 (data-dependent init later), LU from a random
 * orthogonal matrix, conv1/conv2 weights N(0, 0.05^2), every bias, zeroconv
 * and prior 0. Every random draw uses stream GLOW_STREAM_INIT with the
 * entry's table index as the counter, so each tensor has its own stream. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "glow/lu_init.h"
#include "model_internal.h"

#define CONV_INIT_STD 0.05f

static glow_status add(glow_model *m, int *index, int trainable, int n, int h, int w, int c, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

static glow_status add(glow_model *m, int *index, int trainable, int n, int h, int w, int c, const char *fmt, ...)
{
    char name[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return glow_param_table_add(&m->table, name, n, h, w, c, trainable, index);
}

static glow_status add_step(glow_model *m, int l, int k)
{
    const model_level *lv = &m->levels[l];
    step_params *p = &m->steps[l * m->cfg.steps + k];
    const int c = lv->c, f = m->cfg.hidden, edge = m->cfg.pad == GLOW_PAD_EDGE;
    GLOW_TRY(add(m, &p->an_bias, 1, 1, 1, 1, c, "l%d.s%d.actnorm.bias", l, k));
    GLOW_TRY(add(m, &p->an_logs, 1, 1, 1, 1, c, "l%d.s%d.actnorm.logs", l, k));
    GLOW_TRY(add(m, &p->lu_lower, 1, c, 1, 1, c, "l%d.s%d.invconv.lower", l, k));
    GLOW_TRY(add(m, &p->lu_upper, 1, c, 1, 1, c, "l%d.s%d.invconv.upper", l, k));
    GLOW_TRY(add(m, &p->lu_log_s, 1, 1, 1, 1, c, "l%d.s%d.invconv.log_s", l, k));
    GLOW_TRY(add(m, &p->lu_sign, 0, 1, 1, 1, c, "l%d.s%d.invconv.sign", l, k));
    GLOW_TRY(add(m, &p->lu_perm, 0, c, 1, 1, c, "l%d.s%d.invconv.perm", l, k));
    GLOW_TRY(add(m, &p->c1_w, 1, f, 3, 3, lv->ca, "l%d.s%d.coupling.conv1.w", l, k));
    GLOW_TRY(add(m, &p->c1_b, 1, 1, 1, 1, f, "l%d.s%d.coupling.conv1.b", l, k));
    p->c1_edge = p->zc_edge = -1;
    if (edge)
        GLOW_TRY(add(m, &p->c1_edge, 1, f, 3, 3, 1, "l%d.s%d.coupling.conv1.edge", l, k));
    GLOW_TRY(add(m, &p->c2_w, 1, f, 1, 1, f, "l%d.s%d.coupling.conv2.w", l, k));
    GLOW_TRY(add(m, &p->c2_b, 1, 1, 1, 1, f, "l%d.s%d.coupling.conv2.b", l, k));
    GLOW_TRY(add(m, &p->zc_w, 1, 2 * lv->cb, 3, 3, f, "l%d.s%d.coupling.zeroconv.w", l, k));
    GLOW_TRY(add(m, &p->zc_b, 1, 1, 1, 1, 2 * lv->cb, "l%d.s%d.coupling.zeroconv.b", l, k));
    GLOW_TRY(add(m, &p->zc_logs, 1, 1, 1, 1, 2 * lv->cb, "l%d.s%d.coupling.zeroconv.logs", l, k));
    if (edge)
        GLOW_TRY(add(m, &p->zc_edge, 1, 2 * lv->cb, 3, 3, 1, "l%d.s%d.coupling.zeroconv.edge", l, k));
    return GLOW_OK;
}

glow_status model_build_table(glow_model *m)
{
    const int L = m->cfg.levels, K = m->cfg.steps;
    for (int l = 0; l < L; l++) {
        for (int k = 0; k < K; k++)
            GLOW_TRY(add_step(m, l, k));
        const model_level *lv = &m->levels[l];
        prior_params *p = &m->priors[l];
        p->edge = -1;
        if (l < L - 1) {
            /* prior of z_l (C_l/2 channels) from the kept half (C_l/2 channels): 2 * C_l/2 outputs */
            GLOW_TRY(add(m, &p->w, 1, lv->c, 3, 3, lv->c / 2, "l%d.prior.w", l));
            GLOW_TRY(add(m, &p->b, 1, 1, 1, 1, lv->c, "l%d.prior.b", l));
            GLOW_TRY(add(m, &p->logs, 1, 1, 1, 1, lv->c, "l%d.prior.logs", l));
            if (m->cfg.pad == GLOW_PAD_EDGE)
                GLOW_TRY(add(m, &p->edge, 1, lv->c, 3, 3, 1, "l%d.prior.edge", l));
        } else {
            GLOW_TRY(add(m, &p->w, 1, 2 * lv->c, 3, 3, lv->c, "top_prior.w"));
            GLOW_TRY(add(m, &p->b, 1, 1, 1, 1, 2 * lv->c, "top_prior.b"));
            GLOW_TRY(add(m, &p->logs, 1, 1, 1, 1, 2 * lv->c, "top_prior.logs"));
            if (m->cfg.pad == GLOW_PAD_EDGE)
                GLOW_TRY(add(m, &p->edge, 1, 2 * lv->c, 3, 3, 1, "top_prior.edge"));
        }
    }
    return model_cond_build_table(m); /* top_prior.class.*, classifier.* (zeros) when conditional */
}

static float *entry_ptr(const glow_model *m, float *host, int index)
{
    return host + m->table.entries[index].off;
}

static size_t entry_count(const glow_model *m, int index)
{
    const glow_param_entry *e = &m->table.entries[index];
    return (size_t)e->n * e->h * e->w * e->c;
}

static void fill_normal(const glow_model *m, float *host, int index, uint64_t seed, float std)
{
    glow_rng rng = {seed, GLOW_STREAM_INIT, (uint32_t)index, 0};
    float *p = entry_ptr(m, host, index);
    size_t count = entry_count(m, index);
    for (size_t i = 0; i < count; i++)
        p[i] = std * glow_rng_normal(rng, i);
}

glow_status model_initial_params(const glow_model *m, uint64_t seed, float *host)
{
    memset(host, 0, m->table.total * sizeof *host);
    const int L = m->cfg.levels, K = m->cfg.steps;
    for (int l = 0; l < L; l++) {
        for (int k = 0; k < K; k++) {
            const step_params *p = &m->steps[l * K + k];
            glow_rng rng = {seed, GLOW_STREAM_INIT, (uint32_t)p->lu_lower, 0};
            glow_status st = glow_lu_init_orthogonal(m->levels[l].c, rng, entry_ptr(m, host, p->lu_lower),
                                                     entry_ptr(m, host, p->lu_upper), entry_ptr(m, host, p->lu_log_s),
                                                     entry_ptr(m, host, p->lu_sign), entry_ptr(m, host, p->lu_perm));
            if (st != GLOW_OK)
                return glow_error_context(st, "model init: level %d step %d invconv", l, k);
            fill_normal(m, host, p->c1_w, seed, CONV_INIT_STD);
            if (p->c1_edge >= 0) /* the indicator channel is one more input channel of conv1 */
                fill_normal(m, host, p->c1_edge, seed, CONV_INIT_STD);
            fill_normal(m, host, p->c2_w, seed, CONV_INIT_STD);
        }
    }
    return GLOW_OK;
}
