/* Whole-model gradients of the batch-mean bpd.
 *  - store and reversible memory modes give the same gradient tensors
 *    (relative error <= 1e-4 per tensor, the bound);
 *  - every trainable tensor's largest gradient element agrees with a central
 *    finite difference of the model's own bpd;
 *  - gradients of non-trainable entries (LU perm and sign) are exactly zero;
 *  - the first training step initialises actnorm from the data, once;
 *  - a non-finite loss is refused with GLOW_ERR_NONFINITE before any update.
 * Both with zero padding and with --pad edge (whose top prior's edge-indicator weights,
 * unlike its conv weights, must get a gradient).
 *  - the class-conditional model (3 classes, classifier weight 0.7): store equals
 *    reversible, and every trainable tensor (the class term of the top prior and the
 *    classifier included) agrees with finite differences of its objective
 *    mean(bpd) + 0.7 mean(bits_y).
 * Model: 1x8x8 input, L = 2, K = 3, F = 8, batch 2, all layers perturbed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_test_util.h"

enum { BATCH = 2, C = 1, H = 8, W = 8 };

static double tensor_rel_err(const float *got, const float *ref, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * (double)ref[i];
    }
    return den > 0.0 ? sqrt(num / den) : sqrt(num);
}

static void check_store_equals_reversible(int pad)
{
    glow_backend *be = tu_open_cpu();
    glow_model *m = mt_create_pad(be, C, H, W, 2, 3, 8, BATCH, 21, pad);
    mt_perturb_params(m, 2100, 1);
    const glow_param_table *t = glow_model_param_table(m);
    const size_t d = glow_model_latent_size(m);
    float *x = tu_random(BATCH * d, 5, -0.5f, 0.5f);
    float *gs = calloc(t->total, sizeof *gs), *gr = calloc(t->total, sizeof *gr);
    float bpd_s, bpd_r;
    TU_OK(glow_model_gradients_from_x(m, x, BATCH, GLOW_MEMORY_STORE, &bpd_s, NULL, gs));
    TU_OK(glow_model_gradients_from_x(m, x, BATCH, GLOW_MEMORY_REVERSIBLE, &bpd_r, NULL, gr));
    tu_assert_finite("store gradients", gs, t->total);
    tu_assert_finite("reversible gradients", gr, t->total);
    assert_float_equal(bpd_s, bpd_r, 0.0f); /* same forward ops in the same order */
    double worst = 0.0;
    for (int i = 0; i < t->count; i++) {
        const glow_param_entry *e = &t->entries[i];
        size_t n = (size_t)e->n * e->h * e->w * e->c;
        double err = tensor_rel_err(gr + e->off, gs + e->off, n);
        if (err > worst)
            worst = err;
        if (err > 1e-4)
            fail_msg("%s: reversible vs store relative error %.3g > 1e-4", e->name, err);
        if (!e->trainable) {
            for (size_t j = 0; j < n; j++)
                if (gs[e->off + j] != 0.0f)
                    fail_msg("%s is not trainable but has gradient %g", e->name, (double)gs[e->off + j]);
        }
    }
    print_message("bpd %.6f; worst per-tensor relative error reversible vs store %.3g\n", (double)bpd_s, worst);
    free(x);
    free(gs);
    free(gr);
    glow_model_destroy(m);
    glow_backend_close(be);
}

static void test_store_equals_reversible(void **state)
{
    (void)state;
    check_store_equals_reversible(GLOW_PAD_ZERO);
    check_store_equals_reversible(GLOW_PAD_EDGE);
}

/* (bpd(p + eps e_at) - bpd(p - eps e_at)) / 2 eps with the model's own fp32 forward; restores p.
 * one_sided (may be NULL): the forward and backward differences (bpd(p +- eps e_at) against
 * bpd0 = bpd(p)) / eps, which differ by a ReLU kink's jump when one lies within eps. */
static double central_difference(glow_model *m, const float *x, float *p, size_t at, float eps, float bpd0,
                                 double one_sided[2])
{
    const float saved = p[at];
    float plus, minus;
    p[at] = saved + eps;
    TU_OK(glow_model_arena_upload(m, GLOW_ARENA_PARAMS, p));
    TU_OK(glow_model_gradients_from_x(m, x, BATCH, GLOW_MEMORY_REVERSIBLE, &plus, NULL, NULL));
    p[at] = saved - eps;
    TU_OK(glow_model_arena_upload(m, GLOW_ARENA_PARAMS, p));
    TU_OK(glow_model_gradients_from_x(m, x, BATCH, GLOW_MEMORY_REVERSIBLE, &minus, NULL, NULL));
    p[at] = saved;
    TU_OK(glow_model_arena_upload(m, GLOW_ARENA_PARAMS, p));
    if (one_sided) {
        one_sided[0] = ((double)plus - (double)bpd0) / ((double)(saved + eps) - (double)saved);
        one_sided[1] = ((double)bpd0 - (double)minus) / ((double)saved - (double)(saved - eps));
    }
    return ((double)plus - (double)minus) / ((double)(saved + eps) - (double)(saved - eps));
}

/* Element `at` (index idx of tensor `name`) of the analytic gradient g against central
 * differences of the model's bpd (bpd0 at p): 1 when compared, 0 when skipped at a kink.
 * ReLU kinks in the coupling networks make the loss only piecewise smooth: when a step
 * of eps crosses one, the two step sizes disagree; a kink closer than both steps is seen
 * by the one-sided differences, which then differ by its jump (the analytic gradient is
 * one of them), where on a smooth loss they differ by ~eps |f''| plus rounding (~4e-4
 * at eps = 5e-3). Such elements are skipped (counted) rather than compared. */
static int check_element(glow_model *m, const float *x, float *p, const float *g, float bpd0, size_t at,
                         const char *name, size_t idx)
{
    double sides[2];
    double fd_big = central_difference(m, x, p, at, 1e-2f, bpd0, NULL);
    double fd = central_difference(m, x, p, at, 5e-3f, bpd0, sides);
    if (fabs(fd_big - fd) > 3e-4 + 0.02 * fabs(fd) || fabs(sides[0] - sides[1]) > 1e-3 + 0.05 * fabs(fd))
        return 0;
    /* bpd ~ 5 in fp32 carries ~1e-6 rounding, i.e. ~2e-4 in fd at eps = 5e-3; the
     * O(eps^2) truncation is ~1e-4 relative. Tolerance 5e-4 + 2% of |fd|: a
     * missing or mis-scaled term (e.g. a log-det gradient H*W*N*g) is off by
     * far more than that. */
    if (fabs(fd - (double)g[at]) > 5e-4 + 0.02 * fabs(fd))
        fail_msg("%s[%zu]: analytic %.6g vs finite difference %.6g (eps 1e-2: %.6g; one-sided %.6g, %.6g)", name, idx,
                 (double)g[at], fd, fd_big, sides[0], sides[1]);
    return 1;
}

/* pad: GLOW_PAD_ZERO or GLOW_PAD_EDGE; returns the number of edge-indicator tensors checked.
 * Each trainable tensor's largest gradient element is checked; of an edge-indicator tensor
 * (Co,3,3,1), every tap of that element's output channel (the centre tap, never outside
 * the image, must have exactly zero gradient). */
static int check_finite_differences(int pad)
{
    glow_backend *be = tu_open_cpu();
    glow_model *m = mt_create_pad(be, C, H, W, 2, 3, 8, BATCH, 22, pad);
    mt_perturb_params(m, 2200, 1);
    const glow_param_table *t = glow_model_param_table(m);
    const size_t d = glow_model_latent_size(m);
    float *x = tu_random(BATCH * d, 6, -0.5f, 0.5f);
    float *g = calloc(t->total, sizeof *g), *p = malloc(t->total * sizeof *p);
    float bpd;
    TU_OK(glow_model_gradients_from_x(m, x, BATCH, GLOW_MEMORY_REVERSIBLE, &bpd, NULL, g));
    TU_OK(glow_model_arena_download(m, GLOW_ARENA_PARAMS, p));
    int checked = 0, skipped = 0, edges = 0, edge_taps = 0;
    for (int i = 0; i < t->count; i++) {
        const glow_param_entry *e = &t->entries[i];
        size_t n = (size_t)e->n * e->h * e->w * e->c, best = 0;
        if (!e->trainable)
            continue;
        for (size_t j = 1; j < n; j++)
            if (fabsf(g[e->off + j]) > fabsf(g[e->off + best]))
                best = j;
        const int edge = strstr(e->name, ".edge") != NULL;
        /* The top prior's conv sees a zero input: its weights have no gradient at all
         * (with --pad edge its edge-indicator weights do, and are checked). */
        if (g[e->off + best] == 0.0f) {
            if (edge)
                fail_msg("%s: an edge-indicator weight has no gradient at all", e->name);
            continue;
        }
        if (!check_element(m, x, p, g, bpd, e->off + best, e->name, best)) {
            skipped++;
            continue;
        }
        checked++;
        if (!edge)
            continue;
        edges++;
        const size_t row = best / 9 * 9;
        if (g[e->off + row + 4] != 0.0f)
            fail_msg("%s[%zu]: the centre tap has gradient %g", e->name, row + 4, (double)g[e->off + row + 4]);
        for (size_t tap = 0; tap < 9; tap++)
            if (tap != 4 && row + tap != best)
                edge_taps += check_element(m, x, p, g, bpd, e->off + row + tap, e->name, row + tap);
    }
    print_message("pad %s: checked %d tensors (%d edge-indicator, %d more of their taps) against finite differences, "
                  "%d skipped at a ReLU kink\n",
                  pad == GLOW_PAD_EDGE ? "edge" : "zero", checked, edges, edge_taps, skipped);
    assert_true(checked >= 3 * skipped && checked > 30);
    assert_true(edge_taps >= edges * 6);
    free(x);
    free(g);
    free(p);
    glow_model_destroy(m);
    glow_backend_close(be);
    return edges;
}

static void test_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(check_finite_differences(GLOW_PAD_ZERO), 0);
}

/* --pad edge: 2 levels x 3 steps x (conv1, zeroconv) + split prior + top prior = 14
 * edge-indicator tensors; at most a few may sit behind a ReLU kink. The top prior's
 * edge weights must be among them: they are what lets it learn a spatial pattern. */
static void test_finite_differences_edge(void **state)
{
    (void)state;
    assert_true(check_finite_differences(GLOW_PAD_EDGE) >= 11);
}

/* ---- the class-conditional model ---- */

enum { COND_CLASSES = 3 };
#define COND_WEIGHT 0.7f
static const int cond_labels[BATCH] = {2, 0};

/* The conditional objective mean(bpd) + w mean(bits_y) and (grads != NULL) its gradients. */
static double cond_objective(glow_model *m, const float *x, glow_memory_mode mode, float *grads)
{
    float bpd;
    glow_class_stats cs;
    TU_OK(glow_model_set_labels(m, cond_labels, BATCH));
    TU_OK(glow_model_gradients_from_x(m, x, BATCH, mode, &bpd, NULL, grads));
    TU_OK(glow_model_class_stats(m, &cs));
    return (double)bpd + (double)COND_WEIGHT * cs.bits_y;
}

static glow_model *cond_model(glow_backend *be, uint64_t seed)
{
    glow_model_config cfg = {C, H, W, 2, 3, 8, 5, GLOW_PAD_ZERO, COND_CLASSES, COND_WEIGHT};
    glow_model *m = NULL;
    TU_OK(glow_model_create(be, &cfg, seed, BATCH, &m));
    mt_perturb_params(m, (uint32_t)seed * 100u, 1); /* top_prior.class.* as priors */
    /* the classifier (zero-initialised) away from zero, so that its input gradient is not 0; the
     * coupling networks' hidden biases at 0.3 (pre-activations ~1e-3 otherwise): every ReLU unit
     * is then far from its kink and the objective is smooth in every parameter */
    const glow_param_table *t = glow_model_param_table(m);
    float *p = malloc(t->total * sizeof *p);
    assert_non_null(p);
    TU_OK(glow_model_arena_download(m, GLOW_ARENA_PARAMS, p));
    for (int i = 0; i < t->count; i++) {
        const glow_param_entry *e = &t->entries[i];
        size_t n = (size_t)e->n * e->h * e->w * e->c;
        if (strstr(e->name, "coupling.conv1.b") || strstr(e->name, "coupling.conv2.b"))
            for (size_t j = 0; j < n; j++)
                p[e->off + j] = 0.3f;
        if (strncmp(e->name, "classifier.", 11) != 0)
            continue;
        float *noise = tu_random(n, 700u + (uint32_t)i, -0.5f, 0.5f);
        memcpy(p + e->off, noise, n * sizeof *p);
        free(noise);
    }
    TU_OK(glow_model_arena_upload(m, GLOW_ARENA_PARAMS, p));
    free(p);
    return m;
}

static void test_conditional_gradients(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    glow_model *m = cond_model(be, 23);
    const glow_param_table *t = glow_model_param_table(m);
    const size_t d = glow_model_latent_size(m);
    float *x = tu_random(BATCH * d, 7, -0.5f, 0.5f);
    float *gs = calloc(t->total, sizeof *gs), *gr = calloc(t->total, sizeof *gr), *p = malloc(t->total * sizeof *p);
    double obj_s = cond_objective(m, x, GLOW_MEMORY_STORE, gs);
    double obj_r = cond_objective(m, x, GLOW_MEMORY_REVERSIBLE, gr);
    assert_true(obj_s == obj_r);
    TU_OK(glow_model_arena_download(m, GLOW_ARENA_PARAMS, p));
    int checked = 0, skipped = 0, class_tensors = 0;
    for (int i = 0; i < t->count; i++) {
        const glow_param_entry *e = &t->entries[i];
        size_t n = (size_t)e->n * e->h * e->w * e->c, best = 0;
        if (tensor_rel_err(gr + e->off, gs + e->off, n) > 1e-4)
            fail_msg("%s: reversible vs store relative error %.3g > 1e-4", e->name,
                     tensor_rel_err(gr + e->off, gs + e->off, n));
        if (!e->trainable)
            continue;
        for (size_t j = 1; j < n; j++)
            if (fabsf(gs[e->off + j]) > fabsf(gs[e->off + best]))
                best = j;
        const size_t at = e->off + best;
        if (gs[at] == 0.0f)
            continue; /* the top prior's conv weights (zero input) */
        /* central differences with two step sizes (ReLU kinks: as test_finite_differences) */
        double fd2[2];
        const float eps[2] = {1e-2f, 5e-3f};
        for (int k = 0; k < 2; k++) {
            const float saved = p[at];
            p[at] = saved + eps[k];
            TU_OK(glow_model_arena_upload(m, GLOW_ARENA_PARAMS, p));
            double plus = cond_objective(m, x, GLOW_MEMORY_REVERSIBLE, NULL);
            p[at] = saved - eps[k];
            TU_OK(glow_model_arena_upload(m, GLOW_ARENA_PARAMS, p));
            double minus = cond_objective(m, x, GLOW_MEMORY_REVERSIBLE, NULL);
            p[at] = saved;
            TU_OK(glow_model_arena_upload(m, GLOW_ARENA_PARAMS, p));
            fd2[k] = (plus - minus) / ((double)(saved + eps[k]) - (double)(saved - eps[k]));
        }
        if (fabs(fd2[0] - fd2[1]) > 3e-4 + 0.02 * fabs(fd2[1])) {
            skipped++;
            continue;
        }
        /* tolerance as test_finite_differences (bits_y ~ 1.6 in fp32 adds ~1e-7 of rounding) */
        if (fabs(fd2[1] - (double)gs[at]) > 5e-4 + 0.02 * fabs(fd2[1]))
            fail_msg("%s[%zu]: analytic %.6g vs finite difference %.6g (%.6g at eps 1e-2)", e->name, best, (double)gs[at], fd2[1], fd2[0]);
        checked++;
        class_tensors += strstr(e->name, "class") != NULL;
    }
    print_message("conditional: objective %.6f; checked %d tensors (%d of the class term and classifier) against "
                  "finite differences, %d skipped at a ReLU kink\n", obj_s, checked, class_tensors, skipped);
    assert_int_equal(class_tensors, 6);
    assert_true(checked >= 3 * skipped && checked > 30);
    free(x);
    free(gs);
    free(gr);
    free(p);
    glow_model_destroy(m);
    glow_backend_close(be);
}

static float *download_params(glow_model *m)
{
    float *p = malloc(glow_model_param_table(m)->total * sizeof *p);
    assert_non_null(p);
    TU_OK(glow_model_arena_download(m, GLOW_ARENA_PARAMS, p));
    return p;
}

/* With lr = 0 a train step changes nothing but the actnorm init. The first
 * actnorm sees squeeze(x): channel c*4 + dy*2 + dx of level 0 holds
 * x[n][2i+dy][2j+dx][c], so bias = -mean and logs = -log(std + 1e-6) of those. */
static void test_actnorm_init_once(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    glow_model *m = mt_create(be, C, H, W, 2, 3, 8, BATCH, 23);
    const glow_param_table *t = glow_model_param_table(m);
    const size_t d = glow_model_latent_size(m);
    float *x = tu_random(BATCH * d, 8, -0.5f, 0.5f);
    glow_train_options opt = {{GLOW_OPT_ADAM, 0.0f, 0.9f, 0.999f, 1e-8f, 1, 0.0f}, GLOW_MEMORY_REVERSIBLE};
    float bpd;
    assert_false(glow_model_actnorm_initialized(m));
    TU_OK(glow_model_train_step_from_x(m, x, BATCH, &opt, &bpd));
    assert_true(glow_model_actnorm_initialized(m));
    float *p = download_params(m);
    const glow_param_entry *bias = glow_param_table_find(t, "l0.s0.actnorm.bias");
    const glow_param_entry *logs = glow_param_table_find(t, "l0.s0.actnorm.logs");
    assert_non_null(bias);
    assert_non_null(logs);
    for (int ch = 0; ch < 4 * C; ch++) {
        int c = ch / 4, dy = (ch / 2) % 2, dx = ch % 2;
        double sum = 0.0, sq = 0.0;
        int count = 0;
        for (int n = 0; n < BATCH; n++)
            for (int i = 0; i < H / 2; i++)
                for (int j = 0; j < W / 2; j++) {
                    double v = x[((n * H + 2 * i + dy) * W + 2 * j + dx) * C + c];
                    sum += v;
                    sq += v * v;
                    count++;
                }
        double mean = sum / count, sd = sqrt(sq / count - mean * mean);
        /* fp32 reductions over 32 values: 1e-5 */
        assert_true(fabs(p[bias->off + ch] + mean) <= 1e-5);
        assert_true(fabs(p[logs->off + ch] + log(sd + 1e-6)) <= 1e-4);
    }
    /* every actnorm was initialised (logs moved away from 0) */
    for (int i = 0; i < t->count; i++)
        if (strstr(t->entries[i].name, "actnorm.logs"))
            assert_true(fabsf(p[t->entries[i].off]) > 1e-3f);
    /* a second step on other data must not re-initialise */
    float *x2 = tu_random(BATCH * d, 9, -0.3f, 0.1f);
    opt.adam.step = 2;
    TU_OK(glow_model_train_step_from_x(m, x2, BATCH, &opt, &bpd));
    float *p2 = download_params(m);
    tu_assert_close("parameters after a second lr=0 step", p2, p, t->total, 0.0);
    free(x);
    free(x2);
    free(p);
    free(p2);
    glow_model_destroy(m);
    glow_backend_close(be);
}

static void test_nonfinite_loss_refused(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    glow_model *m = mt_create(be, C, H, W, 2, 3, 8, BATCH, 24);
    glow_model_set_actnorm_initialized(m, 1);
    const glow_param_table *t = glow_model_param_table(m);
    const size_t d = glow_model_latent_size(m);
    float *x = tu_random(BATCH * d, 10, -0.5f, 0.5f);
    float *p = download_params(m);
    p[glow_param_table_find(t, "top_prior.b")->off] = NAN;
    TU_OK(glow_model_arena_upload(m, GLOW_ARENA_PARAMS, p));
    glow_train_options opt = {{GLOW_OPT_ADAM, 1e-3f, 0.9f, 0.999f, 1e-8f, 1, 0.0f}, GLOW_MEMORY_STORE};
    float bpd;
    assert_int_equal(glow_model_train_step_from_x(m, x, BATCH, &opt, &bpd), GLOW_ERR_NONFINITE);
    float *after = download_params(m);
    /* no update happened: every other parameter is bit-identical */
    for (size_t i = 0; i < t->total; i++)
        if (!isnan(p[i]) && after[i] != p[i])
            fail_msg("parameter %zu changed after a refused step", i);
    free(x);
    free(p);
    free(after);
    glow_model_destroy(m);
    glow_backend_close(be);
}

/* A coupling scale that underflows float (raw = -150: s = sigmoid(-148) ~ 1e-64) keeps the loss
 * finite (log s is evaluated stably) but makes y_b = (x_b + shift) * s = 0, so the reversible
 * pass cannot rebuild x_b (0/0). The step must then be redone with stored activations: it
 * succeeds, counts one fallback, and updates the parameters exactly as a store-mode step does. */
static void test_reversible_falls_back_when_scale_underflows(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    glow_model *rev = mt_create(be, C, H, W, 2, 2, 8, BATCH, 24);
    glow_model *sto = mt_create(be, C, H, W, 2, 2, 8, BATCH, 24);
    glow_model_set_actnorm_initialized(rev, 1);
    glow_model_set_actnorm_initialized(sto, 1);
    const glow_param_table *t = glow_model_param_table(rev);
    const size_t d = glow_model_latent_size(rev);
    float *x = tu_random(BATCH * d, 11, -0.5f, 0.5f);
    float *p = download_params(rev);
    const glow_param_entry *b = glow_param_table_find(t, "l0.s1.coupling.zeroconv.b");
    assert_non_null(b);
    for (int k = b->c / 2; k < b->c; k++) /* the raw (scale) half of h */
        p[b->off + (size_t)k] = -150.0f;
    TU_OK(glow_model_arena_upload(rev, GLOW_ARENA_PARAMS, p));
    TU_OK(glow_model_arena_upload(sto, GLOW_ARENA_PARAMS, p));

    float *g = malloc(t->total * sizeof(float));
    float bpd_rev, bpd_sto;
    assert_non_null(g);
    TU_OK(glow_model_gradients_from_x(rev, x, BATCH, GLOW_MEMORY_REVERSIBLE, &bpd_rev, NULL, g));
    int nonfinite = 0;
    for (size_t i = 0; i < t->total; i++)
        nonfinite += !isfinite(g[i]);
    assert_true(isfinite(bpd_rev));
    assert_true(nonfinite > 0); /* the premise: reversible gradients are lost here */

    glow_train_options opt = {{GLOW_OPT_ADAM, 1e-3f, 0.9f, 0.999f, 1e-8f, 1, 0.0f}, GLOW_MEMORY_REVERSIBLE};
    TU_OK(glow_model_train_step_from_x(rev, x, BATCH, &opt, &bpd_rev));
    assert_int_equal(glow_model_reversible_fallbacks(rev), 1);
    opt.memory = GLOW_MEMORY_STORE;
    TU_OK(glow_model_train_step_from_x(sto, x, BATCH, &opt, &bpd_sto));
    assert_int_equal(glow_model_reversible_fallbacks(sto), 0);
    assert_true(bpd_rev == bpd_sto);
    float *after_rev = download_params(rev), *after_sto = download_params(sto);
    /* the redo is the store-mode computation itself: bit-identical parameters */
    assert_memory_equal(after_rev, after_sto, t->total * sizeof(float));
    free(after_rev);
    free(after_sto);
    free(g);
    free(x);
    free(p);
    glow_model_destroy(rev);
    glow_model_destroy(sto);
    glow_backend_close(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_equals_reversible),
        cmocka_unit_test(test_finite_differences),
        cmocka_unit_test(test_finite_differences_edge),
        cmocka_unit_test(test_conditional_gradients),
        cmocka_unit_test(test_actnorm_init_once),
        cmocka_unit_test(test_nonfinite_loss_refused),
        cmocka_unit_test(test_reversible_falls_back_when_scale_underflows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
