/* Median-of-repetitions timing around glow_sync (see bench_timer.h). */
#include "bench_timer.h"

#include <math.h>
#include <stdlib.h>

#include "app_common.h"

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

glow_status bench_measure(glow_backend *be, bench_fn fn, void *ctx, int warmup, int reps, bench_time *out)
{
    if (reps < 1)
        return glow_error(GLOW_ERR_INVALID_ARG, "bench: %d repetitions (at least 1)", reps);
    double t_w = 0.0;
    if (warmup < 1)
        warmup = 1; /* one untimed-for-the-result run is needed to choose `inner` */
    for (int i = 0; i < warmup; i++) {
        double t0 = app_now_seconds();
        GLOW_TRY(fn(ctx));
        GLOW_TRY(glow_sync(be));
        t_w = app_now_seconds() - t0;
    }
    int inner = 1;
    if (t_w < BENCH_TARGET_S) {
        double want = ceil(BENCH_TARGET_S / (t_w > 1e-7 ? t_w : 1e-7));
        inner = want > BENCH_MAX_INNER ? BENCH_MAX_INNER : (int)want;
    }
    double *per_call = malloc((size_t)reps * sizeof *per_call);
    if (per_call == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "bench: %d timings", reps);
    glow_status st = GLOW_OK;
    for (int r = 0; r < reps && st == GLOW_OK; r++) {
        double t0 = app_now_seconds();
        for (int i = 0; i < inner && st == GLOW_OK; i++)
            st = fn(ctx);
        if (st == GLOW_OK)
            st = glow_sync(be);
        per_call[r] = (app_now_seconds() - t0) / inner;
    }
    if (st == GLOW_OK) {
        double lo = per_call[0];
        for (int r = 1; r < reps; r++)
            lo = per_call[r] < lo ? per_call[r] : lo;
        out->seconds = bench_median(per_call, reps);
        out->min_s = lo;
        out->reps = reps;
        out->inner = inner;
    }
    free(per_call);
    return st;
}
