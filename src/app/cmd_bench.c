/* glow-vk bench: per-op and per-step benchmarks on every backend and device.
 *
 * First the host CPU's fp32 peak (bench_peak.h). Then, for each selected backend and each of its
 * devices that opens:
 *   1. GEMM ceiling probe and per-op table on one backend instance (bench_ops.h);
 *   2. training steps in store and in reversible memory mode, each on a freshly opened backend
 *      so that its peak device memory is that of the step alone (bench_model.h);
 *   3. sampling throughput at --sample-batch.
 * --stages picks which of these run (peak, gemm, ops, train, sample), --memory which modes.
 * Figures go to stdout and, with --json, into one record per device (bench_json.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_common.h"
#include "bench_config.h"
#include "bench_data_parallel.h"
#include "bench_json.h"
#include "bench_model.h"
#include "bench_ops.h"
#include "bench_peak.h"
#include "bench_print.h"
#include "cli_args.h"
#include "dist.h"
#include "commands.h"

enum { BENCH_MAX_BACKENDS = 8, BENCH_MAX_DEVICES = 16, BENCH_MAX_RECORDS = 64 };

/* The fp32 peak: the best of 5 trials of about 0.1 s per SIMD variant. */
#define BENCH_PEAK_TRIALS 5
#define BENCH_PEAK_TRIAL_S 0.1

static const char k_description[] =
    "Benchmarks every selected backend and device: a GEMM ceiling probe (best GFLOP/s of the\n"
    "project's conv kernels over the model's convolution shapes: 1x1 with M = batch*H*W, N = K = F;\n"
    "the 3x3 shapes; the invertible 1x1 conv and the priors), each op's forward and backward time\n"
    "(median over --reps repetitions after warm-up, wall clock around glow_sync, short ops repeated\n"
    "within a repetition) with GFLOP/s or GB/s, a whole training step in store and reversible memory\n"
    "modes (images/s, GFLOP/s, fraction of the GEMM ceiling and of the machine's fp32 peak, peak device\n"
    "memory) and sampling throughput.\n"
    "\n"
    "fp32 peak: an FMA loop on --threads threads (12 independent accumulator chains per thread; AVX-512,\n"
    "AVX2+FMA, each the CPU supports, else scalar code; the best variant's best of 5 trials).\n"
    "Fractions of it are given for devices of type CPU (ref, cpu, Vulkan on lavapipe).\n"
    "\n"
    "Threads: --threads N, else GLOW_THREADS, else every online core. An explicit --threads is passed\n"
    "to the backends as GLOW_THREADS (the ref backend is single-threaded whatever the count).\n"
    "\n"
    "Configurations: small = 1x32x32, L=3, K=8, F=128 (default batch 32); report = 1x32x32, L=3,\n"
    "K=16, F=512 (default batch 16); or L,K,F,C,H,W for C x H x W images (default batch 16), e.g.\n"
    "3,8,128,3,64,64 (H and W divisible by 2^L).\n"
    "\n"
    "FLOPs of a training step: only convolutions, each a GEMM of 2 * (N*H*W) * Co * k*k * Ci FLOPs\n"
    "(multiply-adds x2): per flow step the invertible 1x1 conv C->C, conv1 3x3 C/2->F, conv2 1x1 F->F\n"
    "and the zeroconv 3x3 F->C; per level the split prior 3x3 C/2->C, and the top prior 3x3 C->2C.\n"
    "Forward counts each once, backward twice (data and weight gradients; the top prior, whose input\n"
    "is constant, once). Left out: elementwise ops (actnorm, coupling, ReLU, scales, squeeze, split),\n"
    "reductions (log-dets, log-densities, gradient norm), the O(C^3) LU weight products, dequantisation,\n"
    "the optimiser update, and the reversible mode's recomputation (printed apart), so the reversible\n"
    "step's GFLOP/s counts the same useful work as the store step's.";

enum {
    BENCH_STAGE_PEAK = 1,
    BENCH_STAGE_GEMM = 2,
    BENCH_STAGE_OPS = 4,
    BENCH_STAGE_TRAIN = 8,
    BENCH_STAGE_SAMPLE = 16,
    BENCH_STAGE_ALL = 31
};

typedef struct {
    const char *backends, *config, *json, *stages_text, *memory_text;
    int device, batch, reps, warmup, sample_batch, n_bits, threads;
    int stages;       /* BENCH_STAGE_* bits */
    int store, reversible; /* which memory modes the train stage runs */
} bench_options;

/* Whether `name` is an item of the comma-separated list (or the list is "all"). */
static int list_has(const char *list, const char *name)
{
    if (strcmp(list, "all") == 0)
        return 1;
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t item = comma ? (size_t)(comma - p) : strlen(p);
        if (item == len && strncmp(p, name, len) == 0)
            return 1;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

static int check_backend_list(const char *list, char *err, size_t errlen)
{
    if (strcmp(list, "all") == 0)
        return 1;
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t item = comma ? (size_t)(comma - p) : strlen(p);
        if (!((item == 3 && strncmp(p, "ref", 3) == 0) || (item == 3 && strncmp(p, "cpu", 3) == 0) ||
              (item == 6 && strncmp(p, "vulkan", 6) == 0) || (item == 4 && strncmp(p, "cuda", 4) == 0))) {
            snprintf(err, errlen, "--backend: '%.*s' is not all, ref, cpu, vulkan or cuda", (int)item, p);
            return 0;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return 1;
}

/* "all" or a comma-separated list of peak, gemm, ops, train, sample -> BENCH_STAGE_* bits
 * (ops needs the GEMM probe's conv rows, so it brings gemm with it). */
static int parse_stages(const char *list, int *stages, char *err, size_t errlen)
{
    static const char *names[] = {"peak", "gemm", "ops", "train", "sample"};
    *stages = 0;
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t item = comma ? (size_t)(comma - p) : strlen(p);
        int bit = 0;
        if (item == 3 && strncmp(p, "all", 3) == 0)
            bit = BENCH_STAGE_ALL;
        for (int i = 0; i < 5 && bit == 0; i++)
            if (item == strlen(names[i]) && strncmp(p, names[i], item) == 0)
                bit = 1 << i;
        if (bit == 0) {
            snprintf(err, errlen, "--stages: '%.*s' is not all, peak, gemm, ops, train or sample", (int)item, p);
            return 0;
        }
        *stages |= bit;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (*stages & BENCH_STAGE_OPS)
        *stages |= BENCH_STAGE_GEMM;
    if (*stages == 0) {
        snprintf(err, errlen, "--stages: empty list");
        return 0;
    }
    return 1;
}

/* --threads, else GLOW_THREADS (a positive integer), else the online cores. An explicit --threads
 * is exported as GLOW_THREADS so that backends opened later use the same count. */
static int resolve_threads(bench_options *o, char *err, size_t errlen)
{
    if (o->threads > 0) {
        char text[16];
        snprintf(text, sizeof text, "%d", o->threads);
        setenv("GLOW_THREADS", text, 1);
        return 1;
    }
    const char *env = getenv("GLOW_THREADS");
    if (env != NULL && env[0] != '\0') {
        char *end = NULL;
        long n = strtol(env, &end, 10);
        if (*end != '\0' || n < 1 || n > 1024) {
            snprintf(err, errlen, "GLOW_THREADS: '%s' is not a thread count in 1..1024", env);
            return 0;
        }
        o->threads = (int)n;
        return 1;
    }
    o->threads = bench_online_cores();
    return 1;
}

static void bench_record_free(bench_record *r)
{
    free(r->gemm);
    free(r->ops);
    r->gemm = NULL;
    r->ops = NULL;
}

static glow_status note_failure(bench_record *r, glow_status st, const char *stage)
{
    if (st != GLOW_OK && r->error[0] == '\0') {
        snprintf(r->error, sizeof r->error, "%s: %s", stage, glow_last_error());
        fprintf(stderr, "glow-vk bench: %s [%d]: %s\n", r->info.backend, r->device_index, r->error);
    }
    return st;
}

/* Every selected stage on one device; stops at the first failure (kept in r->error). */
static void bench_device(const glow_backend_factory *factory, const bench_options *o, bench_record *r)
{
    glow_backend *be = NULL;
    glow_status st = factory->open(r->device_index, &be);
    if (note_failure(r, st, "open") != GLOW_OK)
        return;
    r->info = be->info;
    st = note_failure(r, bench_param_count(be, r), "model");
    bench_print_header(r);
    fflush(stdout);
    if (st == GLOW_OK && (o->stages & BENCH_STAGE_GEMM)) {
        st = note_failure(r, bench_gemm_probe(be, r), "GEMM probe");
        if (st == GLOW_OK)
            bench_print_gemm(r);
        fflush(stdout);
    }
    if (st == GLOW_OK && (o->stages & BENCH_STAGE_OPS)) {
        st = note_failure(r, bench_op_table(be, r), "ops");
        if (st == GLOW_OK)
            bench_print_ops(r);
        fflush(stdout);
    }
    glow_backend_close(be);
    if (st == GLOW_OK && (o->stages & BENCH_STAGE_TRAIN) && o->store)
        st = note_failure(r, bench_train(factory, r, GLOW_MEMORY_STORE), "train step (store)");
    if (st == GLOW_OK && (o->stages & BENCH_STAGE_TRAIN) && o->reversible)
        st = note_failure(r, bench_train(factory, r, GLOW_MEMORY_REVERSIBLE), "train step (reversible)");
    if (r->train_count > 0)
        bench_print_train(r);
    if (st == GLOW_OK && (o->stages & BENCH_STAGE_SAMPLE))
        st = note_failure(r, bench_sample(factory, r), "sampling");
    bench_print_sample(r);
    fflush(stdout);
}

static int run_bench(const bench_options *o, const glow_model_config *cfg, const char *config_name)
{
    bench_record *records = calloc(BENCH_MAX_RECORDS, sizeof *records);
    if (records == NULL)
        return app_report_error("bench", glow_error(GLOW_ERR_OUT_OF_MEMORY, "bench: records"));
    int count = 0, failures = 0;
    glow_model_flops flops;
    glow_status st = glow_model_count_flops(cfg, o->batch, &flops);
    bench_peak *peak = calloc(1, sizeof *peak);
    if (st == GLOW_OK && peak == NULL)
        st = glow_error(GLOW_ERR_OUT_OF_MEMORY, "bench: peak record");
    if (st == GLOW_OK && (o->stages & BENCH_STAGE_PEAK)) {
        st = bench_measure_peak(o->threads, BENCH_PEAK_TRIALS, BENCH_PEAK_TRIAL_S, peak);
        if (st == GLOW_OK)
            bench_print_peak(peak);
        fflush(stdout);
    }
    if (st != GLOW_OK) {
        free(records);
        free(peak);
        return app_report_error("bench", st);
    }

    const glow_backend_factory *factories[BENCH_MAX_BACKENDS];
    int nf = glow_backend_factories(factories, BENCH_MAX_BACKENDS);
    for (int i = 0; i < nf; i++) {
        if (!list_has(o->backends, factories[i]->name))
            continue;
        glow_device_info info[BENCH_MAX_DEVICES];
        int ndev = 0;
        glow_clear_error();
        st = factories[i]->list_devices(info, BENCH_MAX_DEVICES, &ndev);
        if (st != GLOW_OK || ndev == 0) {
            printf("%s: unavailable: %s\n", factories[i]->name, st != GLOW_OK ? glow_last_error() : "no devices");
            /* A backend named in --backend (not "all") that cannot run is a failed bench. */
            if (strcmp(o->backends, "all") != 0) {
                fprintf(stderr, "glow-vk bench: %s was selected (--backend %s) but is unavailable\n",
                        factories[i]->name, o->backends);
                failures++;
            }
            continue;
        }
        for (int d = 0; d < ndev && d < BENCH_MAX_DEVICES && count < BENCH_MAX_RECORDS; d++) {
            if (o->device >= 0 && d != o->device)
                continue;
            bench_record *r = &records[count++];
            r->device_index = d;
            r->info = info[d];
            snprintf(r->config_name, sizeof r->config_name, "%s", config_name);
            r->cfg = *cfg;
            r->batch = o->batch;
            r->reps = o->reps;
            r->warmup = o->warmup;
            r->sample_batch = o->sample_batch;
            r->flops = flops;
            r->ceiling_index = -1;
            r->threads = o->threads;
            r->precision = glow_precision_setting();
            r->peak = *peak;
            bench_device(factories[i], o, r);
            failures += r->error[0] != '\0';
        }
    }
    if (count == 0) {
        fprintf(stderr, "glow-vk bench: no device of the selected backends (%s) is available\n", o->backends);
        failures++;
    }
    if (o->json && count > 0) {
        st = bench_write_json(o->json, records, count);
        if (st == GLOW_OK)
            printf("\nwrote %d record%s to %s\n", count, count == 1 ? "" : "s", o->json);
        else
            failures += app_report_error("bench", st) != 0;
    }
    for (int i = 0; i < count; i++)
        bench_record_free(&records[i]);
    free(records);
    free(peak);
    return failures ? CLI_EXIT_RUNTIME : CLI_EXIT_OK;
}

int cmd_bench(int argc, char **argv)
{
    if (dist_size() > 1) /* under mpirun: data-parallel scaling instead (bench_data_parallel.c) */
        return bench_data_parallel(argc, argv);
    static const char usage[] =
        "glow-vk bench [--backend all|ref,cpu,vulkan,cuda] [--device N] [--config small|report|L,K,F,C,H,W]\n"
        "              [--batch B] [--reps R] [--threads N] [--precision P] [--stages LIST] [--memory M]\n"
        "              [--json FILE]";
    bench_options o = {"all", "small", NULL, "all", "both", -1, 0, 5, 1, 64, 5, 0, 0, 0, 0};
    cli_flag flags[] = {
        {"backend", 'b', CLI_STRING, &o.backends, 0, 0, NULL, "LIST",
         "all, or a comma-separated list of ref, cpu, vulkan, cuda", NULL, 0},
        {"device", 'd', CLI_INT, &o.device, -1, 63, NULL, "N", "device index within each backend (-1: every device)",
         NULL, 0},
        {"config", 'c', CLI_STRING, &o.config, 0, 0, NULL, "CFG", "small, report or L,K,F,C,H,W", NULL, 0},
        {"batch", 'n', CLI_INT, &o.batch, 0, 4096, NULL, "B", "training batch (0: the configuration's default)",
         NULL, 0},
        {"reps", 'r', CLI_INT, &o.reps, 1, 1000, NULL, "R", "timed repetitions (the median is reported)", NULL, 0},
        {"warmup", 0, CLI_INT, &o.warmup, 0, 100, NULL, "W",
         "untimed runs before timing (kernels: at least 1; 0 for slow devices times the first step; CUDA training "
         "steps: 2 more, so that the timed ones replay the step graph)", NULL, 0},
        {"sample-batch", 0, CLI_INT, &o.sample_batch, 1, 4096, NULL, "B", "batch of the sampling benchmark", NULL, 0},
        {"n-bits", 0, CLI_INT, &o.n_bits, 1, 8, NULL, "B", "bits per colour of the model", NULL, 0},
        {"threads", 't', CLI_INT, &o.threads, 0, 1024, NULL, "N",
         "threads of the fp32 peak loop and of the backends (0: GLOW_THREADS, else every online core)", NULL, 0},
        {"stages", 0, CLI_STRING, &o.stages_text, 0, 0, NULL, "LIST",
         "all, or a comma-separated list of peak, gemm, ops (implies gemm), train, sample", NULL, 0},
        {"memory", 0, CLI_CHOICE, &o.memory_text, 0, 0, "both|store|reversible", "M",
         "memory modes of the train stage", NULL, 0},
        {"json", 'j', CLI_STRING, &o.json, 0, 0, NULL, "FILE", "write one JSON record per device to FILE", "none",
         0},
        APP_PRECISION_FLAG,
    };
    const int nflags = (int)(sizeof flags / sizeof flags[0]);
    char err[512];
    int code;
    cli_result r = cli_parse(flags, nflags, argc, argv, err, sizeof err);
    if (!cli_handle(r, "bench", usage, k_description, flags, nflags, err, &code))
        return code;

    glow_model_config cfg;
    char config_name[16];
    int default_batch = 16;
    if (!check_backend_list(o.backends, err, sizeof err) || !parse_stages(o.stages_text, &o.stages, err, sizeof err) ||
        !resolve_threads(&o, err, sizeof err) ||
        !bench_parse_config(o.config, o.n_bits, &cfg, config_name, sizeof config_name, &default_batch, err, sizeof err)) {
        cli_handle(CLI_BAD_USAGE, "bench", usage, k_description, flags, nflags, err, &code);
        return code;
    }
    if (o.batch == 0)
        o.batch = default_batch;
    o.store = strcmp(o.memory_text, "reversible") != 0;
    o.reversible = strcmp(o.memory_text, "store") != 0;
    app_apply_precision(); /* every backend the bench opens (through the factories) */
    return run_bench(&o, &cfg, config_name);
}
