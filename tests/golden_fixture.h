/* Loader for tests/data/glow_golden.bin, glow_golden_edge.bin (--pad edge) and glow_golden_cond.bin
 * (the class-conditional model, version 2; format: tests/data/README.md) and the
 * golden comparison shared by test_model_golden (CPU) and test_backend_model
 * (every other backend). Header-only: each suite is linked with test_util.c only. */
#ifndef GLOW_GOLDEN_FIXTURE_H
#define GLOW_GOLDEN_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glow/model.h"
#include "test_util.h"

typedef struct {
    char name[96];
    size_t count;
    float *data;
} golden_tensor;

typedef struct {
    glow_model_config cfg;
    int batch, adam_steps;
    int labels[64]; /* version 2 (conditional): the batch's labels */
    float lr;
    int count;
    golden_tensor *tensors;
} golden_fixture;

static inline void golden_read(FILE *f, void *dst, size_t bytes, const char *path, const char *what)
{
    if (fread(dst, 1, bytes, f) != bytes)
        fail_msg("%s: truncated while reading %s at byte %ld", path, what, ftell(f));
}

static inline const golden_tensor *golden_get(const golden_fixture *g, const char *name, size_t count);

/* file: a fixture's name under $GLOW_TEST_DATA (default tests/data). */
static inline void golden_load(golden_fixture *g, const char *file)
{
    const char *dir = getenv("GLOW_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/data", file);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open the golden fixture %s (regenerate with tools/reference/glow_reference.py)", path);
    char magic[8];
    uint32_t version, hdr[9], count;
    golden_read(f, magic, 8, path, "magic");
    if (memcmp(magic, "GLOWGOLD", 8) != 0)
        fail_msg("%s: wrong magic", path);
    golden_read(f, &version, 4, path, "version");
    if (version != 1 && version != 2)
        fail_msg("%s: version %u, expected 1 or 2", path, version);
    golden_read(f, hdr, sizeof hdr, path, "config");
    golden_read(f, &g->lr, 4, path, "lr");
    uint32_t n_classes = 0;
    float class_weight = 0.0f;
    if (version == 2) { /* class-conditional */
        golden_read(f, &n_classes, 4, path, "n_classes");
        golden_read(f, &class_weight, 4, path, "class_weight");
    }
    golden_read(f, &count, 4, path, "tensor count");
    glow_model_config cfg = {(int)hdr[0], (int)hdr[1], (int)hdr[2], (int)hdr[3], (int)hdr[4], (int)hdr[5],
                             (int)hdr[6], GLOW_PAD_ZERO, (int)n_classes, class_weight}; /* pad: set below */
    g->cfg = cfg;
    g->batch = (int)hdr[7];
    g->adam_steps = (int)hdr[8];
    g->count = (int)count;
    g->tensors = calloc(count, sizeof *g->tensors);
    assert_non_null(g->tensors);
    for (uint32_t i = 0; i < count; i++) {
        golden_tensor *t = &g->tensors[i];
        uint32_t len;
        uint64_t n;
        golden_read(f, &len, 4, path, "name length");
        if (len >= sizeof t->name)
            fail_msg("%s: tensor %u has a %u-byte name", path, i, len);
        golden_read(f, t->name, len, path, "name");
        golden_read(f, &n, 8, path, t->name);
        t->count = (size_t)n;
        t->data = malloc(t->count * sizeof(float) + 1);
        assert_non_null(t->data);
        golden_read(f, t->data, t->count * sizeof(float), path, t->name);
    }
    fclose(f);
    /* The padding is not in the header: a fixture of a --pad edge model holds the
     * edge-indicator weights (param/top_prior.edge and the others), one of zero padding none. */
    g->cfg.pad = GLOW_PAD_ZERO;
    for (int i = 0; i < g->count; i++)
        if (strcmp(g->tensors[i].name, "param/top_prior.edge") == 0)
            g->cfg.pad = GLOW_PAD_EDGE;
    if (n_classes > 0) {
        if (g->batch > 64)
            fail_msg("%s: batch %d > 64", path, g->batch);
        const golden_tensor *lab = golden_get(g, "labels", (size_t)g->batch);
        for (int i = 0; i < g->batch; i++)
            g->labels[i] = (int)lab->data[i];
    }
}

/* A conditional fixture's labels before each call that runs the top prior. */
static inline void golden_labels(glow_model *m, const golden_fixture *g)
{
    if (g->cfg.n_classes > 0)
        TU_OK(glow_model_set_labels(m, g->labels, g->batch));
}

static inline void golden_free(golden_fixture *g)
{
    for (int i = 0; i < g->count; i++)
        free(g->tensors[i].data);
    free(g->tensors);
}

static inline const golden_tensor *golden_get(const golden_fixture *g, const char *name, size_t count)
{
    for (int i = 0; i < g->count; i++)
        if (strcmp(g->tensors[i].name, name) == 0) {
            if (count && g->tensors[i].count != count)
                fail_msg("golden tensor %s has %zu values, expected %zu", name, g->tensors[i].count, count);
            return &g->tensors[i];
        }
    fail_msg("golden tensor %s is missing", name);
    return NULL;
}

/* A model with the fixture's configuration and every parameter set by name. */
static inline glow_model *golden_model(glow_backend *be, const golden_fixture *g)
{
    glow_model *m = NULL;
    TU_OK(glow_model_create(be, &g->cfg, 1, g->batch, &m));
    const glow_param_table *t = glow_model_param_table(m);
    float *p = calloc(t->total, sizeof *p);
    assert_non_null(p);
    for (int i = 0; i < t->count; i++) {
        const glow_param_entry *e = &t->entries[i];
        char name[96];
        snprintf(name, sizeof name, "param/%s", e->name);
        const golden_tensor *gt = golden_get(g, name, (size_t)e->n * e->h * e->w * e->c);
        memcpy(p + e->off, gt->data, gt->count * sizeof(float));
    }
    TU_OK(glow_model_arena_upload(m, GLOW_ARENA_PARAMS, p));
    glow_model_set_actnorm_initialized(m, 1); /* the fixture's actnorm values are used as they are */
    free(p);
    return m;
}

static inline double golden_rel_err(const float *got, const float *ref, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * (double)ref[i];
    }
    return sqrt(num / (den > 0.0 ? den : 1.0));
}

/* Runs every golden comparison on `be`. Tolerances (fp32 engine against the
 * float64 PyTorch reference fed the same fp32 values):
 *   z:        5e-5 absolute; |z| <= ~3 after 4 flow steps of fp32 ops with
 *             ~1e-7 relative rounding each (observed ~1e-6).
 *   logp:     1e-3 + 1e-5 |ref|; fp32 sums of D = 192 terms of size ~1 (|logp| ~ 250).
 *   bpd:      2e-5 absolute; logp's error divided by D ln 2 = 133.
 *   grads:    per-tensor relative L2 error 1e-4; fp32 accumulation over up to
 *             N H W = 32 pixels x 9 taps per weight, through two levels of
 *             backward ops (observed 2e-7 on the CPU; GPU backends reduce in other
 *             orders and use other transcendentals). All-zero reference (the top prior's
 *             weights see a zero input): 1e-7 absolute.
 *   Adam bpd: 1e-4 absolute; the first Adam steps move each parameter by ~lr
 *             sign(g), so an element whose true gradient is at fp32 noise level may
 *             step differently; each such element changes bpd by at most
 *             lr |dbpd/dp| ~ 1e-3 * 1e-6. */
static inline void golden_check(glow_backend *be, glow_memory_mode memory, const char *file)
{
    golden_fixture g;
    golden_load(&g, file);
    glow_model *m = golden_model(be, &g);
    const glow_param_table *t = glow_model_param_table(m);
    const size_t d = glow_model_latent_size(m);
    const int n = g.batch;
    const golden_tensor *x = golden_get(&g, "x", (size_t)n * d);

    /* latents and log-likelihood */
    float *z = malloc((size_t)n * d * sizeof *z), *logp = malloc((size_t)n * sizeof *logp);
    golden_labels(m, &g);
    TU_OK(glow_model_encode(m, x->data, n, z, logp));
    size_t off = 0;
    for (int l = 0; l < g.cfg.levels; l++) {
        char name[32];
        snprintf(name, sizeof name, "z/%d", l);
        const golden_tensor *gz = golden_get(&g, name, 0);
        size_t per = gz->count / (size_t)n;
        for (int s = 0; s < n; s++)
            tu_assert_close(name, z + (size_t)s * d + off, gz->data + (size_t)s * per, per, 5e-5);
        off += per;
    }
    assert_int_equal(off, d);
    const golden_tensor *glogp = golden_get(&g, "logp", (size_t)n);
    for (int s = 0; s < n; s++)
        if (fabs((double)logp[s] - glogp->data[s]) > 1e-3 + 1e-5 * fabs(glogp->data[s]))
            fail_msg("logp[%d] = %.6f, reference %.6f", s, (double)logp[s], (double)glogp->data[s]);

    /* bpd and gradients */
    float mean_bpd, *grads = calloc(t->total, sizeof *grads);
    golden_labels(m, &g);
    TU_OK(glow_model_gradients_from_x(m, x->data, n, memory, &mean_bpd, logp, grads));
    if (g.cfg.class_weight > 0.0f) {
        /* the classifier's mean bits_y: CE of K = 4 logits of size ~1 in fp32 (observed ~1e-7) */
        glow_class_stats cs;
        TU_OK(glow_model_class_stats(m, &cs));
        const golden_tensor *gy = golden_get(&g, "mean_bits_y", 1);
        assert_int_equal(cs.count, n);
        if (fabs(cs.bits_y - gy->data[0]) > 1e-5)
            fail_msg("mean bits_y %.7f, reference %.7f", cs.bits_y, (double)gy->data[0]);
        print_message("%s: mean bits_y %.7f (reference %.7f), %d of %d correct\n", be->info.backend, cs.bits_y,
                      (double)gy->data[0], cs.correct, cs.count);
    }
    const golden_tensor *gbpd = golden_get(&g, "bpd", (size_t)n), *gmean = golden_get(&g, "mean_bpd", 1);
    const double dln2 = (double)d * log(2.0);
    for (int s = 0; s < n; s++) {
        double bpd = (-(double)logp[s] + dln2 * g.cfg.n_bits) / dln2;
        if (fabs(bpd - gbpd->data[s]) > 2e-5)
            fail_msg("bpd[%d] = %.7f, reference %.7f", s, bpd, (double)gbpd->data[s]);
    }
    if (fabs((double)mean_bpd - gmean->data[0]) > 2e-5)
        fail_msg("mean bpd %.7f, reference %.7f", (double)mean_bpd, (double)gmean->data[0]);
    double worst = 0.0;
    const char *worst_name = "";
    for (int i = 0; i < t->count; i++) {
        const glow_param_entry *e = &t->entries[i];
        if (!e->trainable)
            continue;
        char name[96];
        size_t count = (size_t)e->n * e->h * e->w * e->c;
        snprintf(name, sizeof name, "grad/%s", e->name);
        const golden_tensor *gg = golden_get(&g, name, count);
        double ref_norm = 0.0;
        for (size_t j = 0; j < count; j++)
            ref_norm += fabs(gg->data[j]);
        if (ref_norm == 0.0) {
            tu_assert_close(name, grads + e->off, gg->data, count, 1e-7);
            continue;
        }
        double err = golden_rel_err(grads + e->off, gg->data, count);
        if (err > worst) {
            worst = err;
            worst_name = e->name;
        }
        if (err > 1e-4)
            fail_msg("%s: relative error %.3g > 1e-4 against the reference", name, err);
    }
    print_message("%s %s: mean bpd %.7f (reference %.7f); worst gradient relative error %.3g (%s)\n", file,
                  be->info.backend, (double)mean_bpd, (double)gmean->data[0], worst, worst_name);

    /* Adam steps on the same input */
    const golden_tensor *adam = golden_get(&g, "adam_bpd", (size_t)g.adam_steps);
    glow_train_options opt = {{GLOW_OPT_ADAM, g.lr, 0.9f, 0.999f, 1e-8f, 1, 0.0f}, memory};
    float bpd_before;
    for (int s = 1; s <= g.adam_steps; s++) {
        opt.adam.step = s;
        golden_labels(m, &g);
        TU_OK(glow_model_train_step_from_x(m, x->data, n, &opt, &bpd_before));
        if (s > 1 && fabs((double)bpd_before - adam->data[s - 2]) > 1e-4)
            fail_msg("bpd after Adam step %d: %.7f, reference %.7f", s - 1, (double)bpd_before,
                     (double)adam->data[s - 2]);
    }
    float last;
    golden_labels(m, &g);
    TU_OK(glow_model_gradients_from_x(m, x->data, n, memory, &last, NULL, NULL));
    if (fabs((double)last - adam->data[g.adam_steps - 1]) > 1e-4)
        fail_msg("bpd after Adam step %d: %.7f, reference %.7f", g.adam_steps, (double)last,
                 (double)adam->data[g.adam_steps - 1]);
    print_message("%s: bpd after %d Adam steps %.7f (reference %.7f)\n", be->info.backend, g.adam_steps, (double)last,
                  (double)adam->data[g.adam_steps - 1]);

    free(z);
    free(logp);
    free(grads);
    glow_model_destroy(m);
    golden_free(&g);
}

#endif
