/* Training-step and sampling throughput (see bench_model.h). */
#include "bench_model.h"

#include <stdlib.h>

#include "app_common.h"
#ifdef GLOW_HAVE_VULKAN
#include "glow/vulkan.h"
#endif
#include "bench_timer.h"
#include "glow/cuda.h"

glow_status bench_param_count(glow_backend *be, bench_record *rec)
{
    glow_model *m = NULL;
    GLOW_TRY(glow_model_create(be, &rec->cfg, 1, 1, &m));
    const glow_param_table *t = glow_model_param_table(m);
    /* the optimiser runs over the whole arena (padding and fixed entries included) */
    rec->param_count = t->total;
    glow_model_destroy(m);
    return GLOW_OK;
}

static glow_status open_model(const glow_backend_factory *factory, const bench_record *rec, int max_batch,
                              glow_backend **be, glow_model **m)
{
    *be = NULL;
    *m = NULL;
    GLOW_TRY(factory->open(rec->device_index, be));
    glow_status st = glow_model_create(*be, &rec->cfg, 1, max_batch, m);
    if (st != GLOW_OK) {
        glow_backend_close(*be);
        *be = NULL;
    }
    return st;
}

static void close_model(glow_backend *be, glow_model *m)
{
    if (m)
        glow_model_destroy(m);
    if (be)
        glow_backend_close(be);
}

/* Deterministic pseudo-random pixels (a multiplicative hash of the index; the values only need to
 * vary, they do not change the work). */
static uint8_t *random_pixels(size_t count)
{
    uint8_t *p = malloc(count);
    if (p)
        for (size_t i = 0; i < count; i++)
            p[i] = (uint8_t)(((uint32_t)i * 2654435761u) >> 24);
    return p;
}

glow_status bench_train(const glow_backend_factory *factory, bench_record *rec, glow_memory_mode memory)
{
    glow_backend *be = NULL;
    glow_model *m = NULL;
    GLOW_TRY(open_model(factory, rec, rec->batch, &be, &m));
    const size_t count = (size_t)rec->batch * glow_model_latent_size(m);
    uint8_t *pixels = random_pixels(count);
    double *times = malloc((size_t)rec->reps * sizeof *times);
    glow_status st = pixels && times ? GLOW_OK : glow_error(GLOW_ERR_OUT_OF_MEMORY, "bench: %zu pixels", count);

    /* the trainer's defaults: Adam, lr 1e-4, no gradient clipping */
    glow_train_options opt = {{GLOW_OPT_ADAM, 1e-4f, 0.9f, 0.999f, 1e-8f, 1, 0.0f}, memory};
    glow_cuda_counts before, after;
    int is_cuda = glow_cuda_launch_counts(be, &before);
    /* 0: the first (actnorm-initialising) step is timed too. CUDA: two more untimed steps, so that
     * the timed ones are step-graph replays (a step's op sequence runs eagerly the first time it is
     * seen and is captured the second; glow/cuda.h). */
    const int warmup = rec->warmup + (rec->warmup > 0 && is_cuda ? 2 : 0);
    float bpd = 0.0f;
    long long dispatches = -1, barriers = -1;
    for (int i = 0; i < warmup + rec->reps && st == GLOW_OK; i++) {
        glow_rng rng = {1, GLOW_STREAM_DEQUANT, (uint32_t)i, 0};
        opt.adam.step = i + 1;
        is_cuda = glow_cuda_launch_counts(be, &before);
#ifdef GLOW_HAVE_VULKAN
        glow_vulkan_counts vk_before, vk_after;
        int counted = glow_vulkan_command_counts(be, &vk_before) == 0;
#endif
        double t0 = app_now_seconds();
        st = glow_model_train_step(m, pixels, rec->batch, rng, &opt, &bpd);
        if (st == GLOW_OK)
            st = glow_sync(be);
        if (i >= warmup)
            times[i - warmup] = app_now_seconds() - t0;
        (void)glow_cuda_launch_counts(be, &after);
#ifdef GLOW_HAVE_VULKAN
        if (counted && glow_vulkan_command_counts(be, &vk_after) == 0) {
            dispatches = (long long)(vk_after.dispatches - vk_before.dispatches);
            barriers = (long long)(vk_after.barriers - vk_before.barriers);
        }
#endif
    }
    if (st == GLOW_OK) {
        bench_train_entry *e = &rec->train[rec->train_count++];
        e->memory = memory;
        e->step_s = bench_median(times, rec->reps);
        e->images_per_s = rec->batch / e->step_s;
        e->gflops = rec->flops.step / e->step_s * 1e-9;
        e->ceiling_fraction = rec->ceiling_gflops > 0 ? e->gflops / rec->ceiling_gflops : 0.0;
        e->peak_fraction = bench_peak_applies(rec) ? e->gflops / rec->peak.gflops : -1.0;
        size_t current = 0, peak = 0;
        if (be->ops->memory_usage)
            be->ops->memory_usage(be, &current, &peak);
        e->peak_bytes = peak;
        e->bpd = bpd;
        e->cuda_launches = e->cuda_kernels = -1.0;
        if (is_cuda) {
            e->cuda_launches = (double)(after.kernel_launches - before.kernel_launches) +
                               (double)(after.graph_launches - before.graph_launches);
            e->cuda_kernels = (double)(after.kernel_launches - before.kernel_launches) +
                              (double)(after.graph_kernels - before.graph_kernels);
        }
        e->dispatches = dispatches;
        e->barriers = barriers;
    }
    free(pixels);
    free(times);
    close_model(be, m);
    return st;
}

glow_status bench_sample(const glow_backend_factory *factory, bench_record *rec)
{
    glow_backend *be = NULL;
    glow_model *m = NULL;
    GLOW_TRY(open_model(factory, rec, rec->sample_batch, &be, &m));
    const size_t count = (size_t)rec->sample_batch * glow_model_latent_size(m);
    float *x = malloc(count * sizeof *x);
    double *times = malloc((size_t)rec->reps * sizeof *times);
    glow_status st = x && times ? GLOW_OK : glow_error(GLOW_ERR_OUT_OF_MEMORY, "bench: %zu sample values", count);
    const int warmup = rec->warmup;
    for (int i = 0; i < warmup + rec->reps && st == GLOW_OK; i++) {
        glow_rng rng = {1, GLOW_STREAM_SAMPLE, (uint32_t)i, 0};
        double t0 = app_now_seconds();
        st = glow_model_sample(m, rec->sample_batch, 0.7f, rng, x);
        if (i >= warmup)
            times[i - warmup] = app_now_seconds() - t0;
    }
    if (st == GLOW_OK) {
        rec->sample_s = bench_median(times, rec->reps);
        rec->sample_images_per_s = rec->sample_batch / rec->sample_s;
    }
    free(x);
    free(times);
    close_model(be, m);
    return st;
}
