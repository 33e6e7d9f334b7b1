/* The machine's fp32 peak for `glow-vk bench`: an FMA loop on every thread.
 *
 * Each thread runs BENCH_PEAK_CHAINS independent accumulator chains acc_i = acc_i * m + a (one fused
 * multiply-add per element per iteration, 2 FLOPs), enough independent chains to cover the FMA
 * latency (4-5 cycles) times the FMA ports (2) of current x86 cores. Variants, the widest the CPU runs
 * chosen at run time (__builtin_cpu_supports):
 *   avx512: 12 x __m512 (16 floats)  -> 12 * 16 * 2 = 384 FLOPs per iteration
 *   avx2:   12 x __m256 (8 floats)   -> 12 *  8 * 2 = 192 FLOPs per iteration
 *   scalar: 12 x float, acc*m + a in C (the compiler may or may not fuse it): the portable fallback,
 *           measured only where neither SIMD variant runs (it is no peak, only a lower bound)
 * Every SIMD variant the CPU supports is measured; the peak is the best of them. The threads are
 * created first and spin until released together; a trial's time runs from the release to the
 * last thread's join, and the peak of a variant is its best trial (the machine is shared: the
 * best trial is the least disturbed one). */
#ifndef GLOW_APP_BENCH_PEAK_H
#define GLOW_APP_BENCH_PEAK_H

#include "glow/status.h"

#define BENCH_PEAK_CHAINS 12
#define BENCH_PEAK_MAX_VARIANTS 3

typedef struct {
    char isa[8];   /* "avx512", "avx2", "scalar" */
    double gflops; /* best trial, all threads together */
} bench_peak_variant;

typedef struct {
    int threads;
    int trials;
    double trial_s;   /* target seconds of one trial */
    double gflops;    /* the peak: the best variant */
    char isa[8];      /* the best variant's name */
    bench_peak_variant variants[BENCH_PEAK_MAX_VARIANTS];
    int variant_count;
} bench_peak;

/* The number of online cores (sysconf), at least 1. */
int bench_online_cores(void);

/* Measures every variant on `threads` threads (>= 1), `trials` trials of about `trial_s` seconds. */
glow_status bench_measure_peak(int threads, int trials, double trial_s, bench_peak *out);

#endif
