/* fp32 FMA peak on all threads (see bench_peak.h). */
#include "bench_peak.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app_common.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BENCH_PEAK_X86 1
#else
#define BENCH_PEAK_X86 0
#endif

/* acc <- acc * m + a converges to a / (1 - m) = 1: the values stay normal floats (no denormal
 * slow path) however long the loop runs. */
#define PEAK_M 0.999999f
#define PEAK_A 0.000001f

/* Runs `iters` iterations of 12 chains; returns the sum of the accumulators so that the loop has a
 * result the compiler must compute. */
typedef float (*peak_kernel)(long iters);

#define CHAINS_12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

static float peak_scalar(long iters)
{
#define DECL(i) float acc##i = 1.0f + 0.01f * (float)(i);
#define STEP(i) acc##i = acc##i * PEAK_M + PEAK_A;
#define SUM(i) sum += acc##i;
    CHAINS_12(DECL)
    for (long it = 0; it < iters; it++) {
        CHAINS_12(STEP)
    }
    float sum = 0.0f;
    CHAINS_12(SUM)
    return sum;
#undef DECL
#undef STEP
#undef SUM
}

#if BENCH_PEAK_X86
__attribute__((target("avx2,fma"))) static float peak_avx2(long iters)
{
#define DECL(i) __m256 acc##i = _mm256_set1_ps(1.0f + 0.01f * (float)(i));
#define STEP(i) acc##i = _mm256_fmadd_ps(acc##i, m, a);
#define SUM(i) total = _mm256_add_ps(total, acc##i);
    const __m256 m = _mm256_set1_ps(PEAK_M), a = _mm256_set1_ps(PEAK_A);
    CHAINS_12(DECL)
    for (long it = 0; it < iters; it++) {
        CHAINS_12(STEP)
    }
    __m256 total = _mm256_setzero_ps();
    CHAINS_12(SUM)
    float lanes[8];
    _mm256_storeu_ps(lanes, total);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
#undef DECL
#undef STEP
#undef SUM
}

__attribute__((target("avx512f"))) static float peak_avx512(long iters)
{
#define DECL(i) __m512 acc##i = _mm512_set1_ps(1.0f + 0.01f * (float)(i));
#define STEP(i) acc##i = _mm512_fmadd_ps(acc##i, m, a);
#define SUM(i) total = _mm512_add_ps(total, acc##i);
    const __m512 m = _mm512_set1_ps(PEAK_M), a = _mm512_set1_ps(PEAK_A);
    CHAINS_12(DECL)
    for (long it = 0; it < iters; it++) {
        CHAINS_12(STEP)
    }
    __m512 total = _mm512_setzero_ps();
    CHAINS_12(SUM)
    return _mm512_reduce_add_ps(total);
#undef DECL
#undef STEP
#undef SUM
}
#endif

typedef struct {
    const char *isa;
    peak_kernel kernel;
    int floats_per_chain; /* SIMD width in floats */
} peak_variant;

/* Workers spin on `go` (0: wait, 1: run, -1: leave without running) so that the clock starts
 * only when every thread exists, and a failed pthread_create can still release the others. */
typedef struct {
    atomic_int *go;
    peak_kernel kernel;
    long iters;
    volatile float result;
} peak_thread;

static void *peak_thread_main(void *arg)
{
    peak_thread *t = arg;
    int go;
    while ((go = atomic_load_explicit(t->go, memory_order_acquire)) == 0)
        ;
    if (go > 0)
        t->result = t->kernel(t->iters);
    return NULL;
}

int bench_online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? (int)n : 1;
}

/* Seconds for `iters` iterations of `kernel` on `threads` threads started together. */
static glow_status timed_trial(peak_kernel kernel, int threads, long iters, double *seconds)
{
    pthread_t *ids = calloc((size_t)threads, sizeof *ids);
    peak_thread *ts = calloc((size_t)threads, sizeof *ts);
    if (ids == NULL || ts == NULL) {
        free(ids);
        free(ts);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "bench peak: %d threads", threads);
    }
    atomic_int go;
    atomic_init(&go, 0);
    int started = 0, rc = 0;
    for (; started < threads; started++) {
        ts[started] = (peak_thread){&go, kernel, iters, 0.0f};
        rc = pthread_create(&ids[started], NULL, peak_thread_main, &ts[started]);
        if (rc != 0)
            break;
    }
    const double t0 = app_now_seconds();
    atomic_store_explicit(&go, started == threads ? 1 : -1, memory_order_release);
    for (int i = 0; i < started; i++)
        pthread_join(ids[i], NULL);
    *seconds = app_now_seconds() - t0;
    free(ids);
    free(ts);
    if (started < threads)
        return glow_error(GLOW_ERR_BACKEND, "bench peak: pthread_create for thread %d of %d: %s", started + 1, threads,
                          strerror(rc));
    return GLOW_OK;
}

static int variants_supported(peak_variant *out)
{
    int n = 0;
#if BENCH_PEAK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        out[n++] = (peak_variant){"avx512", peak_avx512, 16};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        out[n++] = (peak_variant){"avx2", peak_avx2, 8};
#endif
    if (n == 0)
        out[n++] = (peak_variant){"scalar", peak_scalar, 1};
    return n;
}

/* Iterations per thread for a trial of about trial_s seconds: one thread runs a probe that grows
 * until it takes at least 10 ms, and the count is scaled from it. */
static long calibrate(peak_kernel kernel, double trial_s)
{
    long iters = 1 << 14;
    for (;;) {
        double t0 = app_now_seconds();
        volatile float sink = kernel(iters);
        (void)sink;
        double dt = app_now_seconds() - t0;
        if (dt >= 0.01 || iters > (1L << 40))
            return (long)((double)iters * trial_s / (dt > 1e-9 ? dt : 1e-9)) + 1;
        iters *= 4;
    }
}

glow_status bench_measure_peak(int threads, int trials, double trial_s, bench_peak *out)
{
    if (threads < 1 || trials < 1 || !(trial_s > 0.0))
        return glow_error(GLOW_ERR_INVALID_ARG, "bench peak: %d threads, %d trials, %g s per trial", threads, trials,
                          trial_s);
    memset(out, 0, sizeof *out);
    out->threads = threads;
    out->trials = trials;
    out->trial_s = trial_s;
    peak_variant variants[BENCH_PEAK_MAX_VARIANTS];
    const int nv = variants_supported(variants);
    for (int v = 0; v < nv; v++) {
        const long iters = calibrate(variants[v].kernel, trial_s);
        const double flops = 2.0 * BENCH_PEAK_CHAINS * variants[v].floats_per_chain * (double)iters * threads;
        double best = 0.0;
        for (int t = 0; t < trials; t++) {
            double s = 0.0;
            GLOW_TRY(timed_trial(variants[v].kernel, threads, iters, &s));
            const double gflops = s > 0 ? flops / s * 1e-9 : 0.0;
            best = gflops > best ? gflops : best;
        }
        bench_peak_variant *pv = &out->variants[out->variant_count++];
        snprintf(pv->isa, sizeof pv->isa, "%s", variants[v].isa);
        pv->gflops = best;
        if (best > out->gflops) {
            out->gflops = best;
            snprintf(out->isa, sizeof out->isa, "%s", variants[v].isa);
        }
    }
    return GLOW_OK;
}
