/* Timing of device work for `glow-vk bench`: wall clock around glow_sync.
 *
 * One measurement of a piece of work (a closure `fn(ctx)` that records or runs it):
 *   warm-up: `warmup` runs of fn followed by glow_sync (pipelines built, caches warm),
 *            the last one timed as t_w;
 *   inner:   the number of fn calls per repetition, ceil(BENCH_TARGET_S / t_w) clamped to
 *            1..BENCH_MAX_INNER, so that a short op is timed over enough launches to amortise
 *            the submit and fence wait of glow_sync (one command buffer per repetition);
 *   reps:    `reps` repetitions of (inner calls of fn, then glow_sync), each timed;
 *   result:  seconds per call = median over repetitions of (repetition time / inner).
 * The backend records every op in order and runs it at sync, so a repetition's time covers
 * exactly its own work. */
#ifndef GLOW_APP_BENCH_TIMER_H
#define GLOW_APP_BENCH_TIMER_H

#include "glow/backend.h"

#define BENCH_TARGET_S 0.02
#define BENCH_MAX_INNER 64

typedef glow_status (*bench_fn)(void *ctx);

typedef struct {
    double seconds; /* median seconds per call */
    double min_s;   /* fastest repetition, per call */
    int reps, inner;
} bench_time;

glow_status bench_measure(glow_backend *be, bench_fn fn, void *ctx, int warmup, int reps, bench_time *out);

/* Median of n values (n >= 1); sorts v in place. */
double bench_median(double *v, int n);

#endif
