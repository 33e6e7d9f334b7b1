#include "trainer.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "app_common.h"
#include "app_data.h"
#include "batch_prefetch.h"
#include "cli_args.h"
#include "dist.h"
#include "dist_backend.h"
#include "glow/checkpoint.h"
#include "glow/data.h"
#include "memory_check.h"
#include "metrics_log.h"
#include "progress.h"

/* Set by SIGINT/SIGTERM; the loop polls it after every step. */
static volatile sig_atomic_t g_stop_signal = 0;

static void on_stop_signal(int sig)
{
    g_stop_signal = sig;
}

typedef struct {
    const train_config *cfg;
    glow_backend *be;
    glow_model *model;
    glow_dataset train, test;
    uint32_t *perm;           /* order of the training images in epoch perm_epoch */
    int64_t perm_epoch;
    batch_prefetch *prefetch; /* fills the batches of the coming steps on its own thread */
    double data_wait_s;       /* time the training thread waited for batches this session */
    double step_s;            /* wall time of the training steps this session (waits included) */
    size_t image_bytes;
    int64_t steps_per_epoch;
    uint64_t train_fingerprint; /* glow_dataset_fingerprint of the training images used */
    int64_t stop_step;        /* the loop ends when step reaches this */
    int64_t step;             /* optimiser steps taken so far */
    int64_t saved_step;       /* step of the newest checkpoint on disk, -1 if none */
    metrics_log log;
    progress prog;
    char ckpt_path[4096], loss_path[4096];
    char plot_title[128];
    double session_start;
    /* data parallelism (src/dist): rank of ranks, each taking local_batch = batch / ranks */
    int rank, ranks, local_batch;
    int same_devices;       /* 0: rank 0's parameters are broadcast after every step */
    glow_data_parallel dp;  /* the model's view of the rank-ordered sums */
    FILE *quiet;            /* /dev/null: the progress output of ranks other than 0 */
} trainer;


void trainer_write_config(FILE *f, const train_config *c)
{
    fprintf(f, "preset = %s\n", c->preset ? c->preset : "report");
    fprintf(f, "dataset = %s\n", c->dataset);
    const char *default_dir = glow_dataset_default_dir(c->dataset);
    fprintf(f, "data_dir = %s\n", c->data_dir ? c->data_dir : default_dir ? default_dir : "(none)");
    if (strcmp(c->dataset, "folder") == 0)
        fprintf(f, "test_dir = %s\ntest_fraction = %g\nsize = %d\nchannels = %d\nstrict_data = %d\n",
                c->folder.test_dir ? c->folder.test_dir : "(held out)", c->folder.test_fraction, c->folder.size,
                c->folder.channels, c->folder.strict);
    fprintf(f, "backend = %s\n", c->backend);
    fprintf(f, "device = %s\n", c->devices ? c->devices : "preferred");
    fprintf(f, "ranks = %d\n", dist_size());
    fprintf(f, "L = %d\nK = %d\nhidden = %d\nn_bits = %d\n", c->levels, c->steps, c->hidden, c->n_bits);
    fprintf(f, "pad = %s\n", c->pad == GLOW_PAD_EDGE ? "edge" : "zero");
    fprintf(f, "conditional = %s\n", c->conditional ? "yes" : "no");
    if (c->conditional)
        fprintf(f, "class_weight = %g\n", c->class_weight);
    fprintf(f, "batch = %d\nlr = %g\nwarmup_epochs = %g\nepochs = %d\n", c->batch, c->lr, c->warmup_epochs,
            c->epochs);
    fprintf(f, "max_steps = %lld\n", (long long)c->max_steps);
    fprintf(f, "seed = %llu\n", (unsigned long long)c->seed);
    fprintf(f, "memory = %s\n", c->memory == GLOW_MEMORY_REVERSIBLE ? "reversible" : "store");
    fprintf(f, "precision = %s\n", glow_precision_name(c->precision));
    fprintf(f, "optimizer = %s\n", c->optimizer == GLOW_OPT_ADAMAX ? "adamax" : "adam");
    fprintf(f, "max_grad_norm = %g\n", c->max_grad_norm);
    fprintf(f, "temperature = %g\nsamples = %d\n", c->temperature, c->sample_count);
    fprintf(f, "train_limit = %d\ntest_limit = %d\n", c->train_limit, c->test_limit);
    fprintf(f, "out = %s\n", c->out_dir);
    fprintf(f, "resume = %s\n", c->resume_path ? c->resume_path : "no");
}

/* Fisher-Yates shuffle of 0..n-1 with j = floor(bits(i) * (i + 1) / 2^32). */
static void shuffle_epoch(trainer *tr, int64_t epoch)
{
    const int n = tr->train.count;
    glow_rng rng = {tr->cfg->seed, GLOW_STREAM_DATA_ORDER, (uint32_t)epoch, 0};
    for (int i = 0; i < n; i++)
        tr->perm[i] = (uint32_t)i;
    for (int i = n - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(((uint64_t)glow_rng_bits(rng, (uint64_t)i) * (uint64_t)(i + 1)) >> 32);
        uint32_t t = tr->perm[i];
        tr->perm[i] = tr->perm[j];
        tr->perm[j] = t;
    }
    tr->perm_epoch = epoch;
}

static double lr_at(const train_config *c, int64_t s, int64_t steps_per_epoch)
{
    double warm_steps = (double)c->warmup_epochs * (double)steps_per_epoch;
    if (warm_steps <= 0.0)
        return c->lr;
    double f = (double)(s + 1) / warm_steps;
    return f < 1.0 ? c->lr * f : c->lr;
}

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* Every rank must hold rank 0's parameters bit for bit (they took the same steps from the
 * same summed gradients): compares FNV-1a hashes of the parameter arenas over ranks. */
static glow_status check_ranks_agree(trainer *tr)
{
    const size_t total = glow_model_param_table(tr->model)->total;
    float *p = malloc(total * sizeof *p);
    uint64_t *hashes = calloc((size_t)tr->ranks, sizeof *hashes);
    glow_status st = GLOW_OK;
    if (p == NULL || hashes == NULL)
        st = glow_error(GLOW_ERR_OUT_OF_MEMORY, "parameter check: %zu floats", total);
    if (st == GLOW_OK)
        st = glow_model_arena_download(tr->model, GLOW_ARENA_PARAMS, p);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; st == GLOW_OK && i < total * sizeof *p; i++)
        h = (h ^ ((const unsigned char *)p)[i]) * 0x100000001b3ull;
    if (st == GLOW_OK)
        st = dist_gather_all(&h, hashes, sizeof h, "parameter hashes");
    for (int r = 1; st == GLOW_OK && r < tr->ranks; r++)
        if (hashes[r] != hashes[0])
            st = glow_error(GLOW_ERR_INVALID_ARG, "step %lld: rank %d's parameters differ from rank 0's (FNV-1a "
                            "%016llx against %016llx)", (long long)tr->step, r, (unsigned long long)hashes[r],
                            (unsigned long long)hashes[0]);
    if (st == GLOW_OK && tr->rank == 0)
        progress_message(&tr->prog, "parameters identical on all %d ranks at step %lld (FNV-1a %016llx)", tr->ranks,
                         (long long)tr->step, (unsigned long long)h);
    free(p);
    free(hashes);
    return st;
}

/* Writes out/checkpoint.glow for the current step. Parameters that are no
 * longer finite are refused so that the previous checkpoint stays intact. */
static glow_status save_checkpoint(trainer *tr)
{
    const train_config *c = tr->cfg;
    if (tr->ranks > 1)
        GLOW_TRY(check_ranks_agree(tr));
    if (tr->rank != 0) { /* rank 0 alone writes; its parameters are every rank's */
        tr->saved_step = tr->step;
        return GLOW_OK;
    }
    const glow_param_table *table = glow_model_param_table(tr->model);
    float *p = malloc(table->total * sizeof *p);
    float *m = malloc(table->total * sizeof *m);
    float *v = malloc(table->total * sizeof *v);
    glow_status st = GLOW_OK;
    if (p == NULL || m == NULL || v == NULL)
        st = glow_error(GLOW_ERR_OUT_OF_MEMORY, "checkpoint: 3 x %zu floats", table->total);
    if (st == GLOW_OK)
        st = glow_model_arena_download(tr->model, GLOW_ARENA_PARAMS, p);
    if (st == GLOW_OK)
        st = glow_model_arena_download(tr->model, GLOW_ARENA_ADAM_M, m);
    if (st == GLOW_OK)
        st = glow_model_arena_download(tr->model, GLOW_ARENA_ADAM_V, v);
    if (st == GLOW_OK && !(all_finite(p, table->total) && all_finite(m, table->total) &&
                           all_finite(v, table->total)))
        st = glow_error(GLOW_ERR_NONFINITE, "parameters or optimiser state are not finite at step %lld; "
                                            "%s was not overwritten", (long long)tr->step, tr->ckpt_path);
    if (st == GLOW_OK) {
        glow_checkpoint_state s;
        memset(&s, 0, sizeof s);
        s.config = *glow_model_get_config(tr->model);
        snprintf(s.dataset, sizeof s.dataset, "%s", c->dataset);
        s.batch = c->batch;
        s.lr = c->lr;
        s.warmup_epochs = c->warmup_epochs;
        s.epochs = c->epochs;
        s.seed = c->seed;
        s.memory = c->memory;
        s.step = tr->step;
        s.epoch = (int)(tr->step / tr->steps_per_epoch);
        s.position = (tr->step % tr->steps_per_epoch) * c->batch;
        s.actnorm_initialized = glow_model_actnorm_initialized(tr->model);
        s.optimizer = c->optimizer;
        s.beta1 = 0.9f;
        s.beta2 = 0.999f;
        s.eps = 1e-8f;
        s.max_grad_norm = c->max_grad_norm;
        s.train_limit = c->train_limit;
        s.train_count = tr->train.count;
        s.train_fingerprint = tr->train_fingerprint;
        s.precision = c->precision;
        st = glow_checkpoint_save(tr->ckpt_path, &s, table, p, m, v);
    }
    free(p);
    free(m);
    free(v);
    if (st == GLOW_OK)
        tr->saved_step = tr->step;
    return st;
}

static glow_status write_samples(trainer *tr, const char *name)
{
    char path[4096];
    if (tr->rank != 0)
        return GLOW_OK;
    GLOW_TRY(app_path_join(path, sizeof path, tr->cfg->out_dir, name));
    /* Counter 0 for every grid: the same noise each epoch shows how the model evolves. */
    /* a conditional model: one row per class */
    return app_write_samples(tr->model, tr->local_batch, tr->cfg->sample_count, tr->cfg->temperature, tr->cfg->seed,
                             0, -1, path);
}

/* Test bpd and sample grid after an epoch and/or at the end (the caller logs
 * the step, then saves the checkpoint). *test_bpd receives the test figure
 * (NAN if interrupted) and *cls the classifier's test figures (a conditional model). */
static glow_status end_of_period(trainer *tr, int epoch_done, int is_final, double *test_bpd, glow_class_stats *cls)
{
    *test_bpd = NAN;
    glow_status st = app_test_bpd(tr->model, &tr->test, tr->cfg->test_limit, tr->cfg->batch, tr->cfg->seed,
                                  &g_stop_signal, test_bpd, cls);
    if (st == GLOW_ERR_INTERRUPTED) {
        *test_bpd = NAN;
        return GLOW_OK; /* the caller sees the signal and saves */
    }
    if (st != GLOW_OK)
        return glow_error_context(st, "test evaluation at step %lld", (long long)tr->step);
    char name[64];
    if (epoch_done > 0) {
        snprintf(name, sizeof name, "samples_epoch%03d.png", epoch_done);
        GLOW_TRY(write_samples(tr, name));
    }
    if (is_final)
        GLOW_TRY(write_samples(tr, "samples_final.png"));
    return GLOW_OK;
}

static glow_status load_data(trainer *tr)
{
    const train_config *c = tr->cfg;
    GLOW_TRY(app_load_data(c->dataset, c->data_dir, &c->folder, &tr->train, &tr->test));
    if (c->train_limit > 0 && c->train_limit < tr->train.count)
        tr->train.count = c->train_limit; /* the images past it stay allocated and are freed as usual */
    if (tr->train.count < c->batch)
        return glow_error(GLOW_ERR_INVALID_ARG, "--batch %d is larger than the %d training images of %s", c->batch,
                          tr->train.count, c->dataset);
    tr->image_bytes = (size_t)tr->train.h * tr->train.w * tr->train.c;
    tr->steps_per_epoch = tr->train.count / c->batch;
    tr->train_fingerprint = glow_dataset_fingerprint(&tr->train, tr->train.count);
    tr->perm = malloc((size_t)tr->train.count * sizeof *tr->perm);
    if (tr->perm == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "training buffers for %d images", tr->train.count);
    tr->perm_epoch = -1;
    return GLOW_OK;
}

static glow_status load_model_state(trainer *tr);

/* The model of this run: the data's shape, the flags' sizes; conditional: the data's classes. */
static glow_model_config model_config(const trainer *tr)
{
    const train_config *c = tr->cfg;
    glow_model_config mc = {tr->train.c, tr->train.h, tr->train.w, c->levels, c->steps, c->hidden, c->n_bits, c->pad,
                            0, 0.0f};
    if (c->conditional) {
        mc.n_classes = app_dataset_classes(&tr->train, &tr->test);
        mc.class_weight = c->class_weight;
    }
    return mc;
}

/* Builds a fresh model or restores the checkpoint's; sets tr->step. Data-parallel ranks
 * take their steps through tr->dp. */
static glow_status load_model(trainer *tr)
{
    GLOW_TRY(load_model_state(tr));
    if (tr->ranks > 1)
        glow_model_set_data_parallel(tr->model, &tr->dp);
    return GLOW_OK;
}

static glow_status load_model_state(trainer *tr)
{
    const train_config *c = tr->cfg;
    glow_model_config mc = model_config(tr);
    if (c->resume_path == NULL) {
        tr->step = 0;
        tr->saved_step = -1;
        return glow_model_create(tr->be, &mc, c->seed, tr->local_batch, &tr->model);
    }
    glow_checkpoint_state s;
    GLOW_TRY(app_load_model(c->resume_path, tr->be, tr->local_batch, 1, &s, &tr->model));
    GLOW_TRY(glow_checkpoint_check_config(c->resume_path, &mc, &s.config));
    if (s.batch != c->batch || s.seed != c->seed || strcmp(s.dataset, c->dataset) != 0)
        return glow_error(GLOW_ERR_INVALID_ARG,
                          "%s: checkpoint of dataset %s, batch %d, seed %llu cannot continue a run of %s, batch %d, "
                          "seed %llu", c->resume_path, s.dataset, s.batch, (unsigned long long)s.seed, c->dataset,
                          c->batch, (unsigned long long)c->seed);
    /* The data order is a shuffle of the training images: the same images or it is another run. */
    if (s.train_count >= 0 && s.train_count != tr->train.count)
        return glow_error(GLOW_ERR_INVALID_ARG,
                          "%s: the run was trained on %d images of %s (--train-limit %d), but %d are loaded now; "
                          "resuming would change the data order",
                          c->resume_path, s.train_count, s.dataset, s.train_limit, tr->train.count);
    if (s.train_count >= 0 && s.train_fingerprint != tr->train_fingerprint)
        return glow_error(GLOW_ERR_INVALID_ARG,
                          "%s: the %d training images of %s loaded now (from %s) are not the ones the run was "
                          "trained on (their fingerprint differs); resuming would change the data",
                          c->resume_path, tr->train.count, c->dataset,
                          c->data_dir ? c->data_dir : glow_dataset_default_dir(c->dataset));
    tr->step = s.step;
    /* Resuming from out/checkpoint.glow itself: that file already holds this step. */
    tr->saved_step = strcmp(c->resume_path, tr->ckpt_path) == 0 ? s.step : -1;
    return GLOW_OK;
}

static glow_status write_config_file(const train_config *c)
{
    char path[4096];
    GLOW_TRY(app_path_join(path, sizeof path, c->out_dir, "config.txt"));
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return glow_error(GLOW_ERR_IO, "%s: cannot create", path);
    trainer_write_config(f, c);
    if (fclose(f) != 0)
        return glow_error(GLOW_ERR_IO, "%s: write failed", path);
    return GLOW_OK;
}

/* This rank's images of global step `step` into out (local_batch x image_bytes, then
 * their local_batch labels, one byte each): positions rank*local_batch .. of the global
 * batch. Runs on the prefetch thread, the only user of tr->perm once training starts. */
static void fill_batch(void *ctx, int64_t step, uint8_t *out)
{
    trainer *tr = ctx;
    const int64_t epoch = step / tr->steps_per_epoch;
    const int64_t b = step % tr->steps_per_epoch;
    if (tr->perm_epoch != epoch)
        shuffle_epoch(tr, epoch);
    const int64_t first = b * tr->cfg->batch + (int64_t)tr->rank * tr->local_batch;
    for (int i = 0; i < tr->local_batch; i++) {
        uint32_t idx = tr->perm[first + i];
        memcpy(out + (size_t)i * tr->image_bytes, tr->train.pixels + (size_t)idx * tr->image_bytes, tr->image_bytes);
        out[(size_t)tr->local_batch * tr->image_bytes + i] = tr->train.labels[idx];
    }
}

/* Rank 0's parameters onto every rank (ranks on different devices round differently). */
static glow_status broadcast_params(trainer *tr)
{
    const size_t total = glow_model_param_table(tr->model)->total;
    float *p = malloc(total * sizeof *p);
    if (p == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "parameter broadcast: %zu floats", total);
    glow_status st = tr->rank == 0 ? glow_model_arena_download(tr->model, GLOW_ARENA_PARAMS, p) : GLOW_OK;
    if (st == GLOW_OK)
        st = dist_broadcast(p, total * sizeof *p, "parameters");
    if (st == GLOW_OK && tr->rank != 0)
        st = glow_model_arena_upload(tr->model, GLOW_ARENA_PARAMS, p);
    free(p);
    return st;
}

/* Runs one optimiser step (global step tr->step) on its batch. */
static glow_status train_one_step(trainer *tr, double lr, float *bpd)
{
    const train_config *c = tr->cfg;
    double waited = 0.0;
    const uint8_t *pixels = batch_prefetch_take(tr->prefetch, tr->step, &waited);
    tr->data_wait_s += waited;
    glow_train_options opt;
    memset(&opt, 0, sizeof opt);
    opt.adam.kind = c->optimizer;
    opt.adam.lr = (float)lr;
    opt.adam.beta1 = 0.9f;
    opt.adam.beta2 = 0.999f;
    opt.adam.eps = 1e-8f;
    opt.adam.step = (int)(tr->step + 1);
    opt.adam.max_grad_norm = c->max_grad_norm;
    opt.memory = c->memory;
    /* the noise of global elements rank*local_batch*D .. (D is a multiple of 4: H, W even) */
    const uint64_t first_element = (uint64_t)tr->rank * tr->local_batch * tr->image_bytes;
    glow_rng rng = {c->seed, GLOW_STREAM_DEQUANT, (uint32_t)(tr->step + 1), (uint32_t)(first_element / 4)};
    /* a conditional model takes the batch's labels, which follow its pixels */
    glow_status st = app_set_labels(tr->model, pixels + (size_t)tr->local_batch * tr->image_bytes, tr->local_batch);
    if (st == GLOW_OK)
        st = glow_model_train_step(tr->model, pixels, tr->local_batch, rng, &opt, bpd);
    batch_prefetch_release(tr->prefetch);
    if (st == GLOW_OK && !tr->same_devices)
        st = broadcast_params(tr);
    return st;
}

/* A non-finite loss, test bpd or parameter at `step`: no checkpoint is
 * written, so the newest one on disk (if any) is the last good state. */
static int stop_nonfinite(trainer *tr, int64_t step, int epoch1)
{
    progress_finish(&tr->prog);
    fprintf(stderr, "glow-vk train: error: non-finite value at step %lld (epoch %d): %s\n", (long long)step, epoch1,
            glow_last_error());
    if (tr->saved_step >= 0)
        fprintf(stderr, "glow-vk train: the last good checkpoint %s (step %lld) was kept unchanged\n",
                tr->ckpt_path, (long long)tr->saved_step);
    else
        fprintf(stderr, "glow-vk train: no checkpoint had been written yet\n");
    fprintf(stderr, "glow-vk train: try a lower --lr, a longer --warmup-epochs or --max-grad-norm\n");
    return CLI_EXIT_RUNTIME;
}

/* The loop. Returns the exit status. */
static int run_loop(trainer *tr)
{
    const train_config *c = tr->cfg;
    const int epochs_total = c->epochs;
    double epoch_sum = 0.0;
    int64_t epoch_n = 0;
    const int classifier = glow_model_get_config(tr->model)->class_weight > 0.0f;
    double epoch_bits_y = 0.0, epoch_correct = 0.0, epoch_images = 0.0; /* the classifier's, over the epoch */
    while (tr->step < tr->stop_step) {
        const double lr = lr_at(c, tr->step, tr->steps_per_epoch);
        const int epoch1 = (int)(tr->step / tr->steps_per_epoch) + 1;
        float bpd = NAN;
        double t0 = app_now_seconds();
        const long fallbacks_before = glow_model_reversible_fallbacks(tr->model);
        glow_status st = train_one_step(tr, lr, &bpd);
        double dt = app_now_seconds() - t0;
        if (glow_model_reversible_fallbacks(tr->model) > fallbacks_before)
            progress_message(&tr->prog,
                             "note: step %lld: a coupling scale underflowed, so the reversible pass could not "
                             "rebuild its input; the step was recomputed with stored activations (%ld so far)",
                             (long long)tr->step + 1, glow_model_reversible_fallbacks(tr->model));
        if (st == GLOW_OK && !isfinite(bpd))
            st = glow_error(GLOW_ERR_NONFINITE, "training loss is %g", (double)bpd);
        if (st == GLOW_ERR_NONFINITE) {
            if (tr->rank == 0)
                metrics_log_append(&tr->log, tr->step + 1, epoch1, lr, bpd, NAN, c->batch / dt,
                                   app_now_seconds() - tr->session_start, NULL);
            return stop_nonfinite(tr, tr->step + 1, epoch1);
        }
        if (st != GLOW_OK) {
            progress_finish(&tr->prog);
            glow_error_context(st, "training step %lld", (long long)tr->step + 1);
            return app_report_error("train", st);
        }
        tr->step++;
        tr->step_s += dt;
        epoch_sum += bpd;
        epoch_n++;
        metrics_class_row cls_row = {NAN, NAN, NAN, NAN};
        glow_class_stats train_cls;
        if (classifier && glow_model_class_stats(tr->model, &train_cls) == GLOW_OK) {
            cls_row.train_bits_y = train_cls.bits_y;
            cls_row.train_acc = (double)train_cls.correct / train_cls.count;
            epoch_bits_y += train_cls.bits_y * train_cls.count;
            epoch_correct += train_cls.correct;
            epoch_images += train_cls.count;
        }
        const double ips = c->batch / dt;
        progress_step(&tr->prog, tr->step, tr->stop_step, epoch1, epochs_total, ips, c->batch, bpd);

        const int epoch_end = tr->step % tr->steps_per_epoch == 0;
        const int is_final = tr->step == tr->stop_step;
        double test_bpd = NAN;
        glow_class_stats test_cls = {NAN, 0, 0};
        if (epoch_end || is_final) {
            st = end_of_period(tr, epoch_end ? epoch1 : 0, is_final, &test_bpd, &test_cls);
            if (classifier && test_cls.count > 0) {
                cls_row.test_bits_y = test_cls.bits_y;
                cls_row.test_acc = (double)test_cls.correct / test_cls.count;
            }
            if (st == GLOW_ERR_NONFINITE)
                return stop_nonfinite(tr, tr->step, epoch1);
            if (st != GLOW_OK) {
                progress_finish(&tr->prog);
                return app_report_error("train", st);
            }
        }
        if (tr->rank == 0)
            st = metrics_log_append(&tr->log, tr->step, epoch1, lr, bpd, test_bpd, ips,
                                    app_now_seconds() - tr->session_start, &cls_row);
        if (st == GLOW_OK && tr->rank == 0 && (epoch_end || is_final))
            st = metrics_log_plot(&tr->log, tr->loss_path, tr->plot_title);
        /* The checkpoint after the step's metrics row: a kill between the two
         * leaves a row past the checkpoint, which --resume drops and redoes,
         * never a checkpointed step without its row. */
        if (st == GLOW_OK && (epoch_end || is_final))
            st = save_checkpoint(tr);
        if (st == GLOW_ERR_NONFINITE)
            return stop_nonfinite(tr, tr->step, epoch1);
        if (st != GLOW_OK) {
            progress_finish(&tr->prog);
            return app_report_error("train", st);
        }
        if (epoch_end || is_final) {
            progress_message(&tr->prog, "%s %d/%d: mean train bpd %.4f over %lld steps, test bpd %.4f%s",
                             epoch_end ? "epoch" : "stopped in epoch", epoch1, epochs_total,
                             epoch_sum / (double)epoch_n, (long long)epoch_n, test_bpd,
                             isfinite(test_bpd) ? "" : " (interrupted)");
            if (classifier && epoch_images > 0)
                progress_message(&tr->prog, "  classifier: train %.4f bits_y, accuracy %.4f; test %.4f bits_y, "
                                 "accuracy %.4f over %d images", epoch_bits_y / epoch_images,
                                 epoch_correct / epoch_images, cls_row.test_bits_y, cls_row.test_acc, test_cls.count);
            epoch_sum = 0.0;
            epoch_n = 0;
            epoch_bits_y = epoch_correct = epoch_images = 0.0;
        }
        if (g_stop_signal || dist_stop_requested()) { /* every rank learns of a stop in the same step */
            progress_finish(&tr->prog);
            if (tr->saved_step != tr->step) {
                st = save_checkpoint(tr);
                if (st != GLOW_OK)
                    return app_report_error("train", st);
            }
            if (tr->rank == 0)
                printf("%sinterrupted: checkpoint saved to %s (step %lld, %s); continue with --resume\n",
                       dist_prefix(), tr->ckpt_path, (long long)tr->step,
                       g_stop_signal == SIGTERM ? "SIGTERM" : g_stop_signal ? "SIGINT" : "another rank's signal");
            return CLI_EXIT_RUNTIME;
        }
    }
    progress_finish(&tr->prog);
    return CLI_EXIT_OK;
}

static void trainer_free(trainer *tr)
{
    batch_prefetch_stop(tr->prefetch);
    metrics_log_close(&tr->log);
    if (tr->model)
        glow_model_destroy(tr->model);
    if (tr->be)
        glow_backend_close(tr->be);
    glow_dataset_free(&tr->train);
    glow_dataset_free(&tr->test);
    free(tr->perm);
    if (tr->quiet)
        fclose(tr->quiet);
}

static int fail(trainer *tr, glow_status st)
{
    int code = app_report_error("train", st);
    trainer_free(tr);
    return code;
}

/* Rank, local batch and the sums of a data-parallel run (one rank: local batch = batch). */
static glow_status setup_ranks(trainer *tr)
{
    tr->rank = dist_rank();
    tr->ranks = dist_size();
    tr->local_batch = tr->cfg->batch / tr->ranks;
    tr->same_devices = 1;
    tr->dp = dist_data_parallel(tr->cfg->batch);
    if (tr->cfg->batch % tr->ranks != 0)
        return glow_error(GLOW_ERR_INVALID_ARG, "batch %d cannot be split evenly over %d ranks", tr->cfg->batch,
                          tr->ranks);
    if (tr->rank != 0 && (tr->quiet = fopen("/dev/null", "w")) == NULL)
        return glow_error(GLOW_ERR_IO, "/dev/null: cannot open");
    return GLOW_OK;
}

/* This rank's backend and device (--backend/--device lists, src/dist/dist_backend.h). */
static glow_status open_rank_backend(trainer *tr)
{
    char name[32], err[256];
    int device = -1;
    if (!dist_choose_backend(tr->cfg->backend, tr->cfg->devices, name, sizeof name, &device, err, sizeof err))
        return glow_error(GLOW_ERR_INVALID_ARG, "%s", err);
    GLOW_TRY(dist_open_backend(name, device, &tr->be));
    if (tr->ranks > 1) {
        GLOW_TRY(dist_same_devices(tr->be, &tr->same_devices));
        if (tr->rank == 0)
            printf("%s%d ranks x %d images per step%s\n", dist_prefix(), tr->ranks, tr->local_batch,
                   tr->same_devices ? "" : "; the ranks' devices differ, so rank 0's parameters are broadcast "
                                           "after every step");
    }
    return GLOW_OK;
}

int trainer_run(const train_config *cfg)
{
    trainer tr;
    memset(&tr, 0, sizeof tr);
    tr.cfg = cfg;
    glow_status st = setup_ranks(&tr);
    if (st == GLOW_OK)
        st = app_path_join(tr.ckpt_path, sizeof tr.ckpt_path, cfg->out_dir, "checkpoint.glow");
    if (st == GLOW_OK)
        st = app_path_join(tr.loss_path, sizeof tr.loss_path, cfg->out_dir, "loss.png");
    if (st != GLOW_OK)
        return fail(&tr, st);
    FILE *out = tr.rank == 0 ? stdout : tr.quiet; /* rank 0 alone reports the run */

    snprintf(tr.plot_title, sizeof tr.plot_title, "Glow on %s (L=%d, K=%d, F=%d): bits per dimension",
             cfg->dataset, cfg->levels, cfg->steps, cfg->hidden);
    fprintf(out, "glow-vk train settings:\n");
    trainer_write_config(out, cfg);
    fflush(out);
    /* Nothing is written to out_dir until the data, the device memory and the
     * checkpoint to resume have been checked; rank 0 alone writes there. */
    if ((st = load_data(&tr)) != GLOW_OK || (st = open_rank_backend(&tr)) != GLOW_OK)
        return fail(&tr, st);
    const glow_model_config mc = model_config(&tr);
    if (cfg->conditional && (mc.n_classes < 1 || mc.n_classes > GLOW_MODEL_MAX_CLASSES))
        return fail(&tr, glow_error(GLOW_ERR_INVALID_ARG, "--conditional: %s has %d classes (1..%d needed)",
                                    cfg->dataset, mc.n_classes, GLOW_MODEL_MAX_CLASSES));
    if ((st = app_check_train_memory(&tr.be->info, &mc, tr.local_batch, cfg->memory)) != GLOW_OK ||
        (st = load_model(&tr)) != GLOW_OK ||
        (tr.rank == 0 && ((st = app_prepare_out_dir(cfg->out_dir)) != GLOW_OK ||
                          (st = write_config_file(cfg)) != GLOW_OK)))
        return fail(&tr, st);

    const int64_t planned = (int64_t)cfg->epochs * tr.steps_per_epoch;
    tr.stop_step = (cfg->max_steps > 0 && cfg->max_steps < planned) ? cfg->max_steps : planned;
    fprintf(out, "%s: %d training images (%dx%dx%d), %d test images; %lld steps per epoch; %zu parameters\n",
            cfg->dataset, tr.train.count, tr.train.h, tr.train.w, tr.train.c, tr.test.count,
            (long long)tr.steps_per_epoch, glow_model_param_count(tr.model));
    if (tr.step >= tr.stop_step) {
        fprintf(out, "nothing to do: %s is at step %lld and the run stops at step %lld\n", cfg->resume_path,
                (long long)tr.step, (long long)tr.stop_step);
        trainer_free(&tr);
        return CLI_EXIT_OK;
    }
    if (tr.rank == 0 && (st = metrics_log_open(&tr.log, cfg->out_dir, cfg->resume_path ? tr.step : -1,
                                               mc.class_weight > 0.0f)) != GLOW_OK)
        return fail(&tr, st);
    if (cfg->resume_path)
        fprintf(out, "%sresuming from %s at step %lld (epoch %lld)\n", dist_prefix(), cfg->resume_path,
                (long long)tr.step, (long long)(tr.step / tr.steps_per_epoch) + 1);
    fprintf(out, "%straining from step %lld to step %lld\n", dist_prefix(), (long long)tr.step,
            (long long)tr.stop_step);
    fflush(out);

    progress_init(&tr.prog, out, cfg->log_every);
    progress_set_prefix(&tr.prog, dist_prefix());
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    g_stop_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    dist_watch_stop(&g_stop_signal);

    const int64_t first_step = tr.step;
    if ((st = batch_prefetch_start(2, (size_t)tr.local_batch * (tr.image_bytes + 1), tr.step, tr.stop_step,
                                   fill_batch, &tr, &tr.prefetch)) != GLOW_OK)
        return fail(&tr, st);
    tr.session_start = app_now_seconds();
    int code = run_loop(&tr);
    double seconds = app_now_seconds() - tr.session_start;

    dist_watch_stop(NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (code == CLI_EXIT_OK)
        fprintf(out, "%sdone: %lld steps in %.1f s (%.1f images/s including evaluation); checkpoint %s\n",
                dist_prefix(), (long long)(tr.step - first_step), seconds,
                (double)(tr.step - first_step) * cfg->batch / seconds, tr.ckpt_path);
    if (tr.step > first_step && tr.step_s > 0.0)
        fprintf(out, "%sdata: the steps waited %.3f s for their batches (%.3f ms per step, %.2f%% of the step time, "
                "%.2f%% of the run)\n", dist_prefix(), tr.data_wait_s,
                1e3 * tr.data_wait_s / (double)(tr.step - first_step), 100.0 * tr.data_wait_s / tr.step_s,
                100.0 * tr.data_wait_s / seconds);
    trainer_free(&tr);
    return code;
}
