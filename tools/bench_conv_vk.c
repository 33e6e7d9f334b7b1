/* Micro-benchmark of the conv2d kernels (forward, backward_data, backward_weight) on a
 * backend, reporting GFLOP/s = 2*M*Ncols*K / time as the median of several timed runs
 * after warm-up runs (the first dispatch of a Vulkan pipeline pays its JIT compile).
 * Not a test: it checks nothing but that the ops succeed.
 *
 * Built by meson as BUILD/tools/bench_conv_vk.
 * Run:  GLOW_VK_GEMM=texel BUILD/tools/bench_conv_vk [--backend vulkan] [--runs 5] [--quick] [--case I]
 *   --quick: only the 1x1 forward at M = 16384, Ncols = K = 512;  --case I: only case I (0-based). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "glow/backend.h"
#include "glow/ops.h"

/* BENCH_BACKWARD_DATA_RELU: the model's conv2d_backward_data_relu (dx = [mask > 0] W^T dy). */
typedef enum { BENCH_FORWARD, BENCH_BACKWARD_DATA, BENCH_BACKWARD_WEIGHT, BENCH_BACKWARD_DATA_RELU } bench_op;

typedef struct {
    const char *label;
    bench_op op;
    int n, h, w, ci, co, k;
} bench_case;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds used by this process (all threads): with CPU drivers such as lavapipe,
 * cpu / wall shows how many cores the run actually got on a shared machine. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const char *op_name(bench_op op)
{
    return op == BENCH_FORWARD            ? "forward"
           : op == BENCH_BACKWARD_DATA      ? "backward_data"
           : op == BENCH_BACKWARD_DATA_RELU ? "backward_data_relu"
                                            : "backward_weight";
}

/* A tensor in a buffer of its own, filled with uniform values in [-1, 1). */
static glow_status random_tensor(glow_backend *be, int n, int h, int w, int c, unsigned seed, glow_tensor *out)
{
    size_t count = (size_t)n * h * w * c;
    glow_buffer *buf;
    GLOW_TRY(glow_buffer_create(be, count * sizeof(float), &buf));
    float *host = malloc(count * sizeof(float));
    if (host == NULL) {
        glow_buffer_destroy(buf);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "bench: out of host memory");
    }
    uint32_t state = seed * 2654435761u + 1u;
    for (size_t i = 0; i < count; i++) {
        state = state * 1664525u + 1013904223u;
        host[i] = (float)(state >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
    *out = glow_tensor_make(buf, 0, n, h, w, c);
    glow_status st = glow_tensor_upload(*out, host);
    free(host);
    return st;
}

static glow_status run_op(glow_backend *be, const bench_case *bc, glow_tensor x, glow_tensor w, glow_tensor b,
                          glow_tensor y, glow_tensor mask)
{
    switch (bc->op) {
    case BENCH_FORWARD:
        return glow_conv2d_forward(be, x, w, b, y, 1);
    case BENCH_BACKWARD_DATA:
        return glow_conv2d_backward_data(be, y, w, x);
    case BENCH_BACKWARD_WEIGHT:
        return glow_conv2d_backward_weight(be, x, y, w, b);
    case BENCH_BACKWARD_DATA_RELU:
        return glow_conv2d_backward_data_relu(be, y, w, mask, x);
    }
    return glow_error(GLOW_ERR_INVALID_ARG, "bench: unknown op");
}

static glow_status bench_one(glow_backend *be, const bench_case *bc, int runs)
{
    glow_tensor x, w, b, y;
    GLOW_TRY(random_tensor(be, bc->n, bc->h, bc->w, bc->ci, 1, &x));
    GLOW_TRY(random_tensor(be, bc->co, bc->k, bc->k, bc->ci, 2, &w));
    GLOW_TRY(random_tensor(be, 1, 1, 1, bc->co, 3, &b));
    GLOW_TRY(random_tensor(be, bc->n, bc->h, bc->w, bc->co, 4, &y));
    glow_tensor mask = x; /* the ReLU mask of backward_data_relu: a tensor shaped as x */
    if (bc->op == BENCH_BACKWARD_DATA_RELU)
        GLOW_TRY(random_tensor(be, bc->n, bc->h, bc->w, bc->ci, 5, &mask));

    double times[1024];
    if (runs > 1024)
        runs = 1024;
    glow_status st = GLOW_OK;
    double cpu_total = 0, wall_total = 0;
    for (int r = -2; r < runs && st == GLOW_OK; r++) { /* two warm-up runs */
        double t0 = now_seconds(), c0 = cpu_seconds();
        st = run_op(be, bc, x, w, b, y, mask);
        if (st == GLOW_OK)
            st = glow_sync(be);
        if (r >= 0) {
            times[r] = now_seconds() - t0;
            wall_total += times[r];
            cpu_total += cpu_seconds() - c0;
        }
    }
    if (st == GLOW_OK) {
        qsort(times, (size_t)runs, sizeof times[0], compare_doubles);
        double median = times[runs / 2];
        double m = (double)bc->n * bc->h * bc->w;
        double flops = 2.0 * m * bc->co * bc->k * bc->k * bc->ci;
        printf("%-28s %-16s N=%-3d H=%-3d W=%-3d Ci=%-4d Co=%-4d k=%d  M*Ncols*K=%-8.3g  median %8.3f ms  "
               "%7.2f GFLOP/s  (cpu/wall %.2f, %.2f GFLOP per cpu-second)\n",
               bc->label, op_name(bc->op), bc->n, bc->h, bc->w, bc->ci, bc->co, bc->k,
               m * bc->co * bc->k * bc->k * bc->ci,
               median * 1e3, flops / median * 1e-9, cpu_total / wall_total,
               flops * runs / cpu_total * 1e-9);
        fflush(stdout);
    }
    glow_buffer_destroy(x.buf);
    glow_buffer_destroy(w.buf);
    glow_buffer_destroy(b.buf);
    glow_buffer_destroy(y.buf);
    if (mask.buf != x.buf)
        glow_buffer_destroy(mask.buf);
    return st;
}

int main(int argc, char **argv)
{
    const char *backend = "vulkan";
    int runs = 5, quick = 0, only = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
            backend = argv[++i];
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc)
            only = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--backend NAME] [--runs N] [--quick] [--case I]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 1)
        runs = 1;

    /* The 1x1 target shape, then the coupling network of the model at batch 32 on a
     * 16x16 level: conv3x3 Ci -> hidden (ReLU), conv1x1 hidden -> hidden (ReLU), zero conv
     * 3x3 hidden -> 2*Cb, for Ci = 2, 4, 8 and hidden 128 and 512. */
    static const bench_case cases[] = {
        {"1x1 target", BENCH_FORWARD, 64, 16, 16, 512, 512, 1},
        {"1x1 target", BENCH_BACKWARD_DATA, 64, 16, 16, 512, 512, 1},
        {"1x1 target", BENCH_BACKWARD_WEIGHT, 64, 16, 16, 512, 512, 1},
        {"nn first 3x3 Ci=2 h=512", BENCH_FORWARD, 32, 16, 16, 2, 512, 3},
        {"nn first 3x3 Ci=4 h=512", BENCH_FORWARD, 32, 16, 16, 4, 512, 3},
        {"nn first 3x3 Ci=8 h=512", BENCH_FORWARD, 32, 16, 16, 8, 512, 3},
        {"nn first 3x3 Ci=8 h=512", BENCH_BACKWARD_DATA, 32, 16, 16, 8, 512, 3},
        {"nn first 3x3 Ci=8 h=512", BENCH_BACKWARD_WEIGHT, 32, 16, 16, 8, 512, 3},
        {"nn 1x1 h=512", BENCH_FORWARD, 32, 16, 16, 512, 512, 1},
        {"nn 1x1 h=512", BENCH_BACKWARD_DATA, 32, 16, 16, 512, 512, 1},
        {"nn 1x1 h=512", BENCH_BACKWARD_WEIGHT, 32, 16, 16, 512, 512, 1},
        {"nn zero 3x3 h=512 Co=16", BENCH_FORWARD, 32, 16, 16, 512, 16, 3},
        {"nn zero 3x3 h=512 Co=16", BENCH_BACKWARD_DATA, 32, 16, 16, 512, 16, 3},
        {"nn zero 3x3 h=512 Co=16", BENCH_BACKWARD_WEIGHT, 32, 16, 16, 512, 16, 3},
        {"nn first 3x3 Ci=4 h=128", BENCH_FORWARD, 32, 16, 16, 4, 128, 3},
        {"nn first 3x3 Ci=4 h=128", BENCH_BACKWARD_WEIGHT, 32, 16, 16, 4, 128, 3},
        {"nn 1x1 h=128", BENCH_FORWARD, 32, 16, 16, 128, 128, 1},
        {"nn 1x1 h=128", BENCH_BACKWARD_DATA, 32, 16, 16, 128, 128, 1},
        {"nn 1x1 h=128", BENCH_BACKWARD_WEIGHT, 32, 16, 16, 128, 128, 1},
        {"nn zero 3x3 h=128 Co=8", BENCH_FORWARD, 32, 16, 16, 128, 8, 3},
        {"nn zero 3x3 h=128 Co=8", BENCH_BACKWARD_DATA, 32, 16, 16, 128, 8, 3},
        {"nn zero 3x3 h=128 Co=8", BENCH_BACKWARD_WEIGHT, 32, 16, 16, 128, 8, 3},
        /* level 0 of the small configuration (M = 8192): the small-K and small-N shapes */
        {"nn first 3x3 Ci=2 h=128", BENCH_FORWARD, 32, 16, 16, 2, 128, 3},
        {"nn first 3x3 Ci=2 h=128", BENCH_BACKWARD_DATA, 32, 16, 16, 2, 128, 3},
        {"nn first 3x3 Ci=2 h=128", BENCH_BACKWARD_WEIGHT, 32, 16, 16, 2, 128, 3},
        {"nn zero 3x3 h=128 Co=4", BENCH_FORWARD, 32, 16, 16, 128, 4, 3},
        {"nn zero 3x3 h=128 Co=4", BENCH_BACKWARD_DATA, 32, 16, 16, 128, 4, 3},
        {"nn zero 3x3 h=128 Co=4", BENCH_BACKWARD_WEIGHT, 32, 16, 16, 128, 4, 3},
        {"nn zero 3x3 h=128 Co=4", BENCH_BACKWARD_DATA_RELU, 32, 16, 16, 128, 4, 3},
        {"nn 1x1 h=128", BENCH_BACKWARD_DATA_RELU, 32, 16, 16, 128, 128, 1},
    };

    glow_backend *be;
    if (glow_backend_open(backend, -1, &be) != GLOW_OK) {
        fprintf(stderr, "bench: cannot open backend %s: %s\n", backend, glow_last_error());
        return 1;
    }
    printf("backend %s: %s (%s), GLOW_VK_GEMM=%s, median of %d runs\n", be->info.backend, be->info.name,
           be->info.driver, getenv("GLOW_VK_GEMM") ? getenv("GLOW_VK_GEMM") : "(device default)", runs);
    int n_cases = quick ? 1 : (int)(sizeof cases / sizeof cases[0]);
    int rc = 0;
    for (int i = 0; i < n_cases; i++) {
        if (only >= 0 && i != only)
            continue;
        if (bench_one(be, &cases[i], runs) != GLOW_OK) {
            fprintf(stderr, "bench: %s %s failed: %s\n", cases[i].label, op_name(cases[i].op), glow_last_error());
            rc = 1;
            break;
        }
    }
    glow_backend_close(be);
    return rc;
}
