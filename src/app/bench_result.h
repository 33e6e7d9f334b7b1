/* The figures `glow-vk bench` measures on one device (one JSON record). */
#ifndef GLOW_APP_BENCH_RESULT_H
#define GLOW_APP_BENCH_RESULT_H

#include <stddef.h>

#include "glow/backend.h"
#include "glow/model.h"
#include "glow/model_flops.h"

#include "bench_peak.h"

/* One conv kernel at one of the model's GEMM shapes (the GEMM ceiling probe).
 * GEMM view (glow/backend.h): forward and backward_data M = pixels, N = Co (resp. Ci), K = k*k*Ci
 * (resp. k*k*Co); backward_weight M = Co, N = k*k*Ci, K = pixels. FLOPs = 2 * pixels * Co * k*k * Ci. */
typedef enum { BENCH_CONV_FORWARD = 0, BENCH_CONV_BACKWARD_DATA = 1, BENCH_CONV_BACKWARD_WEIGHT = 2 } bench_conv_kernel;

typedef struct {
    char name[32]; /* "l0.conv2" */
    int level, k, ci, co;
    bench_conv_kernel kernel;
    double m, n, kdim; /* GEMM view */
    double flops;
    double seconds; /* median per call */
} bench_gemm_entry;

/* One op at level 0's shape: forward and (when it has one) backward time, with the work done
 * in FLOPs (unit "GFLOP/s") or in bytes moved (unit "GB/s"); unit "" when no rate is meaningful. */
typedef struct {
    char name[32];
    char shape[48];
    char unit[8];
    double fwd_s, bwd_s;       /* bwd_s < 0: the op has no backward here */
    double fwd_work, bwd_work; /* FLOPs or bytes per call */
} bench_op_entry;

typedef struct {
    glow_memory_mode memory;
    double step_s;          /* median seconds per glow_model_train_step */
    double images_per_s;    /* batch / step_s */
    double gflops;          /* counted step FLOPs (glow/model_flops.h) / step_s / 1e9 */
    double ceiling_fraction; /* gflops / the GEMM ceiling; 0 when the probe did not run */
    double peak_fraction;   /* gflops / the machine's fp32 peak; < 0 when not meaningful (see bench_record) */
    size_t peak_bytes;      /* be->ops->memory_usage peak of a backend opened for this measurement */
    float bpd;              /* batch-mean bpd of the last timed step (a sanity figure) */
    /* CUDA only (glow/cuda.h), of the last timed step (the steady state): launches = kernels
     * launched one by one + graph launches; kernels = all kernels run (inside graphs too).
     * Both < 0 on other backends. */
    double cuda_launches, cuda_kernels;
    /* Vulkan: compute dispatches and pipeline barriers recorded by the last timed step
     * (glow_vulkan_command_counts); -1 on other backends (not counted). */
    long long dispatches, barriers;
} bench_train_entry;

typedef struct {
    int device_index;
    glow_device_info info;
    char config_name[16];
    glow_model_config cfg;
    int batch, reps, warmup;
    int threads; /* --threads / GLOW_THREADS / online cores: the thread count given to the backends */
    glow_precision precision; /* --precision asked for; info.precision says what the backend uses */
    size_t param_count;
    glow_model_flops flops;

    bench_gemm_entry *gemm;
    int gemm_count;
    double ceiling_gflops;
    int ceiling_index; /* into gemm, -1 when none */

    /* The host CPU's fp32 FMA peak (bench_peak.h), measured once per run; peak.gflops 0 when not
     * measured. Fractions of it are given for devices of type CPU only (the ref and cpu backends,
     * Vulkan on lavapipe): a GPU's work is not bounded by the host's FMA units. */
    bench_peak peak;

    bench_op_entry *ops;
    int op_count;

    bench_train_entry train[2];
    int train_count;

    int sample_batch;
    double sample_s, sample_images_per_s; /* sample_s <= 0: not measured */

    char error[512]; /* the first failure on this device, "" when every stage ran */
} bench_record;

static inline double bench_gemm_gflops(const bench_gemm_entry *e)
{
    return e->seconds > 0 ? e->flops / e->seconds * 1e-9 : 0.0;
}

/* Whether fractions of the host's fp32 peak are meaningful for this record's device. */
static inline int bench_peak_applies(const bench_record *r)
{
    return r->peak.gflops > 0 && r->info.type == GLOW_DEVICE_CPU;
}

static inline const char *bench_conv_kernel_name(bench_conv_kernel k)
{
    return k == BENCH_CONV_FORWARD ? "forward" : k == BENCH_CONV_BACKWARD_DATA ? "backward_data" : "backward_weight";
}

#endif
