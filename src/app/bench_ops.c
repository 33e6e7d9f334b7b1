/* GEMM ceiling probe and per-op table (see bench_ops.h).
 * Level geometry as in the model (glow/model.h): level 0 is (H/2, W/2, 4C); each later level
 * halves H and W and doubles C. Ca = C/2 conditioning channels, Cb = C - Ca transformed ones. */
#include "bench_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_timer.h"
#include "glow/ops.h"

/* ---- tensors, each in a buffer of its own ---------------------------------- */

enum { POOL_MAX = 48 };

typedef struct {
    glow_backend *be;
    glow_buffer *bufs[POOL_MAX];
    int count;
    uint32_t next_stream_counter;
} tensor_pool;

typedef enum { INIT_NORMAL, INIT_CONST } tensor_init;

static glow_status pool_tensor(tensor_pool *p, int n, int h, int w, int c, tensor_init init, float value,
                               glow_tensor *out)
{
    if (p->count == POOL_MAX)
        return glow_error(GLOW_ERR_INVALID_ARG, "bench: more than %d tensors in one benchmark", POOL_MAX);
    glow_buffer *buf = NULL;
    size_t count = (size_t)n * h * w * c;
    GLOW_TRY(glow_buffer_create(p->be, count * sizeof(float), &buf));
    p->bufs[p->count++] = buf;
    *out = glow_tensor_make(buf, 0, n, h, w, c);
    if (init == INIT_CONST)
        return glow_fill(p->be, *out, value);
    glow_rng rng = {0xb3c4, GLOW_STREAM_INIT, p->next_stream_counter++, 0};
    return glow_rng_fill_normal(p->be, rng, *out);
}

static void pool_free(tensor_pool *p)
{
    for (int i = 0; i < p->count; i++)
        glow_buffer_destroy(p->bufs[i]);
    p->count = 0;
}

typedef struct {
    int h, w, c, ca, cb;
} level_shape;

static level_shape level_at(const glow_model_config *cfg, int l)
{
    level_shape s = {cfg->in_h >> (l + 1), cfg->in_w >> (l + 1), (4 * cfg->in_c) << l, 0, 0};
    s.ca = s.c / 2;
    s.cb = s.c - s.ca;
    return s;
}

/* ---- convolution kernels ------------------------------------------------------ */

typedef struct {
    glow_backend *be;
    glow_tensor x, w, b, y, dy, dx, dw, db;
    int relu;
    bench_conv_kernel kernel;
} conv_ctx;

static glow_status conv_run(void *p)
{
    conv_ctx *c = p;
    switch (c->kernel) {
    case BENCH_CONV_FORWARD:
        return glow_conv2d_forward(c->be, c->x, c->w, c->b, c->y, c->relu);
    case BENCH_CONV_BACKWARD_DATA:
        return glow_conv2d_backward_data(c->be, c->dy, c->w, c->dx);
    case BENCH_CONV_BACKWARD_WEIGHT:
        return glow_conv2d_backward_weight(c->be, c->x, c->dy, c->dw, c->db);
    }
    return glow_error(GLOW_ERR_INVALID_ARG, "bench: unknown conv kernel %d", (int)c->kernel);
}

typedef struct {
    const char *name;
    int k, ci, co;
    int bias, relu, with_data_grad;
} conv_shape;

/* The convolutions of level l: up to 5 shapes. */
static int level_convs(const glow_model_config *cfg, int l, conv_shape *out)
{
    level_shape s = level_at(cfg, l);
    const int f = cfg->hidden;
    int n = 0;
    out[n++] = (conv_shape){"invconv", 1, s.c, s.c, 0, 0, 1};
    out[n++] = (conv_shape){"conv1", 3, s.ca, f, 1, 1, 1};
    out[n++] = (conv_shape){"conv2", 1, f, f, 1, 1, 1};
    out[n++] = (conv_shape){"zeroconv", 3, f, 2 * s.cb, 1, 0, 1};
    if (l < cfg->levels - 1)
        out[n++] = (conv_shape){"prior", 3, s.c / 2, s.c, 1, 0, 1};
    else /* the top prior's input is constant: no data gradient in the model */
        out[n++] = (conv_shape){"top_prior", 3, s.c, 2 * s.c, 1, 0, 0};
    return n;
}

static glow_status probe_shape(glow_backend *be, bench_record *rec, int l, const conv_shape *cs)
{
    level_shape s = level_at(&rec->cfg, l);
    const int n = rec->batch;
    const double pixels = (double)n * s.h * s.w;
    tensor_pool pool = {be, {0}, 0, (uint32_t)(l * 64)};
    conv_ctx c = {be, glow_tensor_none(), glow_tensor_none(), glow_tensor_none(), glow_tensor_none(),
                  glow_tensor_none(), glow_tensor_none(), glow_tensor_none(), glow_tensor_none(), cs->relu,
                  BENCH_CONV_FORWARD};
    glow_status st = pool_tensor(&pool, n, s.h, s.w, cs->ci, INIT_NORMAL, 0, &c.x);
    if (st == GLOW_OK)
        st = pool_tensor(&pool, cs->co, cs->k, cs->k, cs->ci, INIT_NORMAL, 0, &c.w);
    if (st == GLOW_OK)
        st = pool_tensor(&pool, n, s.h, s.w, cs->co, INIT_CONST, 0, &c.y);
    if (st == GLOW_OK)
        st = pool_tensor(&pool, n, s.h, s.w, cs->co, INIT_NORMAL, 0, &c.dy);
    if (st == GLOW_OK)
        st = pool_tensor(&pool, n, s.h, s.w, cs->ci, INIT_CONST, 0, &c.dx);
    if (st == GLOW_OK)
        st = pool_tensor(&pool, cs->co, cs->k, cs->k, cs->ci, INIT_CONST, 0, &c.dw);
    if (st == GLOW_OK && cs->bias)
        st = pool_tensor(&pool, 1, 1, 1, cs->co, INIT_NORMAL, 0, &c.b);
    if (st == GLOW_OK && cs->bias)
        st = pool_tensor(&pool, 1, 1, 1, cs->co, INIT_CONST, 0, &c.db);
    for (int kernel = 0; kernel < 3 && st == GLOW_OK; kernel++) {
        if (kernel == BENCH_CONV_BACKWARD_DATA && !cs->with_data_grad)
            continue;
        bench_gemm_entry *e = &rec->gemm[rec->gemm_count];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "l%d.%s", l, cs->name);
        e->level = l;
        e->k = cs->k;
        e->ci = cs->ci;
        e->co = cs->co;
        e->kernel = (bench_conv_kernel)kernel;
        const double kk = (double)cs->k * cs->k;
        if (kernel == BENCH_CONV_FORWARD) {
            e->m = pixels, e->n = cs->co, e->kdim = kk * cs->ci;
        } else if (kernel == BENCH_CONV_BACKWARD_DATA) {
            e->m = pixels, e->n = cs->ci, e->kdim = kk * cs->co;
        } else {
            e->m = cs->co, e->n = kk * cs->ci, e->kdim = pixels;
        }
        e->flops = glow_conv_flops(pixels, cs->k, cs->ci, cs->co);
        c.kernel = (bench_conv_kernel)kernel;
        bench_time t;
        st = bench_measure(be, conv_run, &c, rec->warmup, rec->reps, &t);
        if (st == GLOW_OK) {
            e->seconds = t.seconds;
            rec->gemm_count++;
        } else {
            glow_error_context(st, "bench %s %s", e->name, bench_conv_kernel_name(e->kernel));
        }
    }
    pool_free(&pool);
    return st;
}

glow_status bench_gemm_probe(glow_backend *be, bench_record *rec)
{
    const int max_entries = rec->cfg.levels * 5 * 3;
    rec->gemm = calloc((size_t)max_entries, sizeof *rec->gemm);
    if (rec->gemm == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "bench: GEMM probe table");
    rec->gemm_count = 0;
    rec->ceiling_index = -1;
    rec->ceiling_gflops = 0.0;
    for (int l = 0; l < rec->cfg.levels; l++) {
        conv_shape shapes[5];
        int count = level_convs(&rec->cfg, l, shapes);
        for (int i = 0; i < count; i++)
            GLOW_TRY(probe_shape(be, rec, l, &shapes[i]));
    }
    for (int i = 0; i < rec->gemm_count; i++) {
        double g = bench_gemm_gflops(&rec->gemm[i]);
        if (g > rec->ceiling_gflops) {
            rec->ceiling_gflops = g;
            rec->ceiling_index = i;
        }
    }
    return GLOW_OK;
}

/* ---- the per-op table ------------------------------------------------------------ */

/* Level-0 tensors shared by the memory-bound ops. P = N H W pixels, C channels, F hidden. */
typedef struct {
    glow_backend *be;
    const bench_record *rec;
    level_shape s;
    glow_tensor x, y, dx, dy;          /* (N,H,W,C) */
    glow_tensor half_a, half_b;        /* (N,H,W,C/2) each: split outputs, concat inputs */
    glow_tensor h, dh;                 /* (N,H,W,2Cb): coupling network output */
    glow_tensor hp, dhp, dz;           /* prior: (N,H,W,C) mean/logsd of z = x[..][0, C/2), dz (N,H,W,C/2) */
    glow_tensor act, dact;             /* (N,H,W,F): a ReLU output and its gradient */
    glow_tensor bias, logs, dbias, dlogs, hlogs, dhlogs; /* (1,1,1,C) and (1,1,1,2Cb) */
    glow_tensor ld;                    /* (1,1,1,N) */
    glow_tensor input;                 /* view of x's buffer as (N, in_h, in_w, in_c) */
    glow_buffer *pixels;               /* N D uint8 */
    glow_tensor lower, upper, perm, weight, dweight, dlower, dupper; /* (C,1,1,C) */
    glow_tensor log_s, sign, dlog_s;   /* (1,1,1,C) */
    glow_tensor params, grads, m, v, sumsq; /* the optimiser arena (1,1,1,T), sumsq (1,1,1,1) */
} op_ctx;

typedef glow_status (*op_fn)(op_ctx *c);

static glow_status actnorm_fwd(op_ctx *c) { return glow_actnorm_forward(c->be, c->x, c->bias, c->logs, c->y); }
static glow_status actnorm_bwd(op_ctx *c)
{
    return glow_actnorm_backward(c->be, c->x, c->dy, c->bias, c->logs, c->dx, c->dbias, c->dlogs);
}
static glow_status lu_fwd(op_ctx *c)
{
    return glow_lu_weight(c->be, c->lower, c->upper, c->log_s, c->sign, c->perm, c->weight, 0);
}
static glow_status lu_bwd(op_ctx *c)
{
    return glow_lu_weight_backward(c->be, c->dweight, c->lower, c->upper, c->log_s, c->sign, c->perm, c->dlower,
                                   c->dupper, c->dlog_s);
}
static glow_status coupling_fwd(op_ctx *c) { return glow_coupling_forward(c->be, c->x, c->h, c->y, c->ld); }
static glow_status coupling_bwd(op_ctx *c)
{
    return glow_coupling_backward(c->be, c->x, c->h, c->dy, -1e-4f, c->dx, c->dh);
}
static glow_status relu_bwd(op_ctx *c) { return glow_relu_backward(c->be, c->act, c->dact); }
static glow_status chscale_fwd(op_ctx *c)
{
    return glow_channel_scale_forward(c->be, c->h, c->hlogs, GLOW_ZEROCONV_LOGSCALE_FACTOR);
}
static glow_status chscale_bwd(op_ctx *c)
{
    return glow_channel_scale_backward(c->be, c->h, c->dh, c->hlogs, GLOW_ZEROCONV_LOGSCALE_FACTOR, c->dhlogs);
}
static glow_status gauss_fwd(op_ctx *c) { return glow_gaussian_logp(c->be, c->half_a, c->hp, c->ld); }
static glow_status gauss_bwd(op_ctx *c)
{
    return glow_gaussian_logp_backward(c->be, c->half_a, c->hp, -1e-4f, c->dz, c->dhp);
}
static glow_status squeeze_fwd(op_ctx *c) { return glow_squeeze(c->be, c->input, c->y, 0); }
static glow_status squeeze_bwd(op_ctx *c) { return glow_unsqueeze(c->be, c->y, c->input, 0); }
static glow_status split_fwd(op_ctx *c) { return glow_split_channels(c->be, c->x, c->half_a, c->half_b); }
static glow_status concat_bwd(op_ctx *c) { return glow_concat_channels(c->be, c->half_a, c->half_b, c->dx, 0); }
static glow_status dequant_fwd(op_ctx *c)
{
    glow_rng rng = {1, GLOW_STREAM_DEQUANT, 0, 0};
    return glow_dequantize(c->be, c->pixels, 0, c->rec->cfg.n_bits, rng, c->input);
}
static glow_status sumsq_fwd(op_ctx *c) { return glow_sum_squares(c->be, c->grads, c->sumsq); }
static glow_status adam_fwd(op_ctx *c)
{
    glow_adam_params hp = {GLOW_OPT_ADAM, 1e-4f, 0.9f, 0.999f, 1e-8f, 1, 0.0f};
    return glow_optimizer_step(c->be, c->params, c->grads, c->m, c->v, &hp, glow_tensor_none());
}

typedef struct {
    op_ctx *ctx;
    op_fn fn;
} op_closure;

static glow_status op_closure_run(void *p)
{
    op_closure *c = p;
    return c->fn(c->ctx);
}

static glow_status alloc_op_ctx(op_ctx *c, tensor_pool *pool)
{
    const bench_record *rec = c->rec;
    const level_shape s = c->s;
    const int n = rec->batch, f = rec->cfg.hidden, cz = s.c / 2;
    glow_status st = GLOW_OK;
#define T(dst, N, H, W, C, init, value)                                   \
    if (st == GLOW_OK)                                                    \
    st = pool_tensor(pool, N, H, W, C, init, value, &c->dst)
    T(x, n, s.h, s.w, s.c, INIT_NORMAL, 0);
    T(y, n, s.h, s.w, s.c, INIT_CONST, 0);
    T(dx, n, s.h, s.w, s.c, INIT_CONST, 0);
    T(dy, n, s.h, s.w, s.c, INIT_NORMAL, 0);
    T(half_a, n, s.h, s.w, cz, INIT_NORMAL, 0);
    T(half_b, n, s.h, s.w, s.c - cz, INIT_NORMAL, 0);
    T(h, n, s.h, s.w, 2 * s.cb, INIT_NORMAL, 0);
    T(dh, n, s.h, s.w, 2 * s.cb, INIT_NORMAL, 0);
    T(hp, n, s.h, s.w, 2 * cz, INIT_NORMAL, 0);
    T(dhp, n, s.h, s.w, 2 * cz, INIT_CONST, 0);
    T(dz, n, s.h, s.w, cz, INIT_CONST, 0);
    T(act, n, s.h, s.w, f, INIT_NORMAL, 0);
    T(dact, n, s.h, s.w, f, INIT_NORMAL, 0);
    T(bias, 1, 1, 1, s.c, INIT_NORMAL, 0);
    T(logs, 1, 1, 1, s.c, INIT_CONST, 0);
    T(dbias, 1, 1, 1, s.c, INIT_CONST, 0);
    T(dlogs, 1, 1, 1, s.c, INIT_CONST, 0);
    T(hlogs, 1, 1, 1, 2 * s.cb, INIT_CONST, 0);
    T(dhlogs, 1, 1, 1, 2 * s.cb, INIT_CONST, 0);
    T(ld, 1, 1, 1, n, INIT_CONST, 0);
    T(lower, s.c, 1, 1, s.c, INIT_CONST, 0.01f);
    T(upper, s.c, 1, 1, s.c, INIT_CONST, 0.01f);
    T(perm, s.c, 1, 1, s.c, INIT_CONST, 0.01f);
    T(weight, s.c, 1, 1, s.c, INIT_CONST, 0);
    T(dweight, s.c, 1, 1, s.c, INIT_NORMAL, 0);
    T(dlower, s.c, 1, 1, s.c, INIT_CONST, 0);
    T(dupper, s.c, 1, 1, s.c, INIT_CONST, 0);
    T(log_s, 1, 1, 1, s.c, INIT_CONST, 0);
    T(sign, 1, 1, 1, s.c, INIT_CONST, 1);
    T(dlog_s, 1, 1, 1, s.c, INIT_CONST, 0);
    const int arena = (int)rec->param_count;
    T(params, 1, 1, 1, arena, INIT_NORMAL, 0);
    T(grads, 1, 1, 1, arena, INIT_NORMAL, 0);
    T(m, 1, 1, 1, arena, INIT_CONST, 0);
    T(v, 1, 1, 1, arena, INIT_CONST, 0);
    T(sumsq, 1, 1, 1, 1, INIT_CONST, 0);
#undef T
    if (st != GLOW_OK)
        return st;
    c->input = glow_tensor_make(c->x.buf, 0, n, rec->cfg.in_h, rec->cfg.in_w, rec->cfg.in_c);
    const size_t pixel_bytes = glow_tensor_count(c->input);
    GLOW_TRY(glow_buffer_create(c->be, pixel_bytes, &c->pixels));
    unsigned char *host = malloc(pixel_bytes);
    if (host == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "bench: %zu pixels", pixel_bytes);
    for (size_t i = 0; i < pixel_bytes; i++)
        host[i] = (unsigned char)((i * 2654435761u) >> 24);
    st = glow_upload(c->pixels, 0, host, pixel_bytes);
    free(host);
    return st;
}

static bench_op_entry *new_op(bench_record *rec, const char *name, const char *unit, double fwd_work,
                              double bwd_work)
{
    bench_op_entry *e = &rec->ops[rec->op_count];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->unit, sizeof e->unit, "%s", unit);
    e->fwd_work = fwd_work;
    e->bwd_work = bwd_work;
    e->bwd_s = -1.0;
    return e;
}

static glow_status time_op(op_ctx *c, op_fn fn, double *seconds)
{
    op_closure cl = {c, fn};
    bench_time t;
    GLOW_TRY(bench_measure(c->be, op_closure_run, &cl, c->rec->warmup, c->rec->reps, &t));
    *seconds = t.seconds;
    return GLOW_OK;
}

/* A memory-bound or small op: times fwd (and bwd when given). */
static glow_status add_op(op_ctx *c, bench_record *rec, const char *name, const char *shape, const char *unit,
                          op_fn fwd, double fwd_work, op_fn bwd, double bwd_work)
{
    bench_op_entry *e = new_op(rec, name, unit, fwd_work, bwd_work);
    snprintf(e->shape, sizeof e->shape, "%s", shape);
    glow_status st = time_op(c, fwd, &e->fwd_s);
    if (st == GLOW_OK && bwd)
        st = time_op(c, bwd, &e->bwd_s);
    if (st != GLOW_OK)
        return glow_error_context(st, "bench op %s", name);
    rec->op_count++;
    return GLOW_OK;
}

/* Convolution rows from the level-0 probe: fwd = forward, bwd = backward data + backward weight. */
static void add_conv_rows(bench_record *rec)
{
    for (int i = 0; i < rec->gemm_count; i++) {
        const bench_gemm_entry *g = &rec->gemm[i];
        if (g->level != 0 || g->kernel != BENCH_CONV_FORWARD)
            continue;
        bench_op_entry *e = new_op(rec, strchr(g->name, '.') + 1, "GFLOP/s", g->flops, 0.0);
        snprintf(e->shape, sizeof e->shape, "%dx%d %d->%d, M=%.0f", g->k, g->k, g->ci, g->co, g->m);
        e->fwd_s = g->seconds;
        e->bwd_s = 0.0;
        for (int j = 0; j < rec->gemm_count; j++) {
            const bench_gemm_entry *b = &rec->gemm[j];
            if (b->kernel != BENCH_CONV_FORWARD && strcmp(b->name, g->name) == 0) {
                e->bwd_s += b->seconds;
                e->bwd_work += b->flops;
            }
        }
        rec->op_count++;
    }
}

glow_status bench_op_table(glow_backend *be, bench_record *rec)
{
    enum { MAX_OPS = 24 };
    rec->ops = calloc(MAX_OPS, sizeof *rec->ops);
    if (rec->ops == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "bench: op table");
    rec->op_count = 0;
    add_conv_rows(rec);

    tensor_pool pool = {be, {0}, 0, 1000};
    op_ctx c;
    memset(&c, 0, sizeof c);
    c.be = be;
    c.rec = rec;
    c.s = level_at(&rec->cfg, 0);
    glow_status st = alloc_op_ctx(&c, &pool);

    const level_shape s = c.s;
    const double p = (double)rec->batch * s.h * s.w, f4 = 4.0; /* pixels, bytes per float */
    const double pc = p * s.c, pcb = p * s.cb, pz = p * (s.c / 2), pf = p * rec->cfg.hidden;
    const double arena = (double)rec->param_count;
    char shape[48], shape_f[48], shape_h[48], shape_z[48], shape_in[48], shape_w[48], shape_t[48];
    snprintf(shape, sizeof shape, "%dx%dx%dx%d", rec->batch, s.h, s.w, s.c);
    snprintf(shape_f, sizeof shape_f, "%dx%dx%dx%d", rec->batch, s.h, s.w, rec->cfg.hidden);
    snprintf(shape_h, sizeof shape_h, "%dx%dx%dx%d", rec->batch, s.h, s.w, 2 * s.cb);
    snprintf(shape_z, sizeof shape_z, "%dx%dx%dx%d", rec->batch, s.h, s.w, s.c / 2);
    snprintf(shape_in, sizeof shape_in, "%dx%dx%dx%d", rec->batch, rec->cfg.in_h, rec->cfg.in_w, rec->cfg.in_c);
    snprintf(shape_w, sizeof shape_w, "%dx%d", s.c, s.c);
    snprintf(shape_t, sizeof shape_t, "%.0f", arena);

    /* Bytes moved, counting each tensor read once, each output written once and each
     * accumulated (+=) or in-place output read and written; per-channel vectors are left out. */
    if (st == GLOW_OK) /* fwd: read x, write y; bwd: read x, dy, read+write dx */
        st = add_op(&c, rec, "actnorm", shape, "GB/s", actnorm_fwd, 2 * pc * f4, actnorm_bwd, 4 * pc * f4);
    if (st == GLOW_OK) /* W = P L U and its backward: O(C^3), independent of the batch; no rate */
        st = add_op(&c, rec, "lu_weight", shape_w, "", lu_fwd, 0, lu_bwd, 0);
    if (st == GLOW_OK) /* fwd: read x (C), h (2Cb), write y (C); bwd: read x, h, dy, read+write dx, dh */
        st = add_op(&c, rec, "coupling", shape, "GB/s", coupling_fwd, (2 * pc + 2 * pcb) * f4, coupling_bwd,
                    (4 * pc + 6 * pcb) * f4);
    if (st == GLOW_OK) /* read+write h in place; bwd: read y, read+write dy */
        st = add_op(&c, rec, "channel_scale", shape_h, "GB/s", chscale_fwd, 4 * pcb * f4, chscale_bwd,
                    6 * pcb * f4);
    if (st == GLOW_OK) /* read y, read+write dy in place */
        st = add_op(&c, rec, "relu_backward", shape_f, "GB/s", relu_bwd, 3 * pf * f4, NULL, 0);
    if (st == GLOW_OK) /* fwd: read z (C/2), h (C); bwd: read z, h, read+write dz, dh */
        st = add_op(&c, rec, "gaussian_logp", shape_z, "GB/s", gauss_fwd, 3 * pz * f4, gauss_bwd, 9 * pz * f4);
    if (st == GLOW_OK) /* read + write every element, both ways */
        st = add_op(&c, rec, "squeeze", shape_in, "GB/s", squeeze_fwd, 2 * pc * f4, squeeze_bwd, 2 * pc * f4);
    if (st == GLOW_OK) /* split: read x, write halves; concat: read halves, write x */
        st = add_op(&c, rec, "split", shape, "GB/s", split_fwd, 2 * pc * f4, concat_bwd, 2 * pc * f4);
    if (st == GLOW_OK) /* read uint8 pixels, write floats */
        st = add_op(&c, rec, "dequantize", shape_in, "GB/s", dequant_fwd, pc * (1 + f4), NULL, 0);
    if (st == GLOW_OK) /* read g */
        st = add_op(&c, rec, "sum_squares", shape_t, "GB/s", sumsq_fwd, arena * f4, NULL, 0);
    if (st == GLOW_OK) /* read p, g, m, v; write p, m, v */
        st = add_op(&c, rec, "adam", shape_t, "GB/s", adam_fwd, 7 * arena * f4, NULL, 0);
    if (c.pixels)
        glow_buffer_destroy(c.pixels);
    pool_free(&pool);
    return st;
}
