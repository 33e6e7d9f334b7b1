/* Shared helpers for the cmocka suites. */
#ifndef GLOW_TEST_UTIL_H
#define GLOW_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "glow/backend.h"
#include "glow/ops.h"

/* Fails the test with the library's message when st != GLOW_OK. */
#define TU_OK(expr)                                                                  \
    do {                                                                             \
        glow_status tu_st_ = (expr);                                                 \
        if (tu_st_ != GLOW_OK)                                                       \
            fail_msg("%s failed: %s: %s", #expr, glow_status_name(tu_st_), glow_last_error()); \
    } while (0)

/* The CPU reference backend (fails the test if it cannot open). */
glow_backend *tu_open_cpu(void);

/* cmocka group fixtures: *state = the CPU backend, closed afterwards. */
int tu_setup_cpu(void **state);
int tu_teardown_backend(void **state);

/* cmocka group fixtures: a fresh directory tu_temp_dir under /tmp, removed with its contents afterwards. */
extern char tu_temp_dir[256];
int tu_make_temp_dir(void **state);
int tu_remove_temp_dir(void **state);

/* Skips the current test because `what` is not available here, or, when
 * $GLOW_TEST_STRICT=1 (CI sets it: lavapipe and the data are installed there),
 * fails it, so that a test meant to run can never pass by skipping. A skip is
 * remembered: tu_exit_status then makes the suite exit 77, meson's SKIP. */
void tu_require(int available, const char *what);

/* Whether the comma-separated `list` (may be NULL) holds `name`. */
int tu_name_in_list(const char *list, const char *name);

/* Whether $GLOW_TEST_REQUIRE (a comma-separated list of backend names, e.g.
 * "cuda,vulkan" on a GPU machine, plus "vulkan-validation": the validation layer
 * must be on) names `backend`. */
int tu_backend_required(const char *backend);

/* A backend that a suite tried and could not use: `st` and `reason` are what its
 * list_devices or open answered. Fails the current test when the backend is
 * required ($GLOW_TEST_REQUIRE) or when st is not GLOW_ERR_UNAVAILABLE (present
 * but broken: e.g. a driver that lists no device properties); otherwise prints
 * "[ skipped  ] <backend>: <reason>" and carries on with the other backends. */
void tu_backend_unavailable(const char *backend, glow_status st, const char *reason);

/* Before a suite that needs `backend` and nothing else: opens and closes it
 * once. Returns -1 when it opened (run the suite); else the suite's exit
 * status: 77 (meson: SKIP) with "[ skipped  ] <backend>: <reason>" when it is
 * unavailable, 1 when it is required ($GLOW_TEST_REQUIRE) or present but broken
 * (open answered something other than GLOW_ERR_UNAVAILABLE). For GPU-only suites:
 * GLOW_TEST_STRICT=1 (CI, which has no GPU) allows this skip; GLOW_TEST_REQUIRE
 * (tools/gpu-check.sh on a GPU machine) is what turns it into a failure. */
int tu_suite_backend_or_skip(const char *backend);

/* Fails the current test when $GLOW_TEST_REQUIRE names a backend this build has
 * no factory for (e.g. cuda without the loader); names with a '-' are features. */
void tu_require_factories(void);

/* What a suite's main returns: cmocka's failure count when non-zero, else 77
 * (meson: SKIP) when any tu_require skipped, else 0. */
int tu_exit_status(int failures);

/* A tensor in a buffer of its own, filled from `host` when non-NULL, else zeros. */
glow_tensor tu_tensor(glow_backend *be, int n, int h, int w, int c, const float *host);
void tu_tensor_free(glow_tensor t);
/* Download a tensor into a malloc'ed array (caller frees). */
float *tu_download(glow_tensor t);

/* Deterministic host data: uniform in [lo, hi). */
void tu_fill_uniform(float *x, size_t n, uint32_t seed, float lo, float hi);
float *tu_random(size_t n, uint32_t seed, float lo, float hi); /* malloc'ed */

double tu_max_abs_diff(const float *a, const float *b, size_t n);
/* Normalised mean squared error sum (a-b)^2 / sum b^2 (b the reference). */
double tu_nmse(const float *got, const float *ref, size_t n);
/* *err = max_i |got_i - ref_i| and *scale = max_i |ref_i|, of the increments (value -
 * init_i) when init != NULL, in double; a NaN difference counts as infinite. The
 * worst-element check of the backend comparisons: *err <= bound * *scale. */
void tu_worst_error(const float *got, const float *ref, const float *init, size_t n, double *err, double *scale);
/* Fails if any element is NaN or Inf. */
void tu_assert_finite(const char *what, const float *x, size_t n);
/* Fails unless |got[i] - want[i]| <= tol for every i, naming the first bad index. */
void tu_assert_close(const char *what, const float *got, const float *want, size_t n, double tol);

/* Central finite differences in double for a scalar function of a host array.
 * f(ctx) must evaluate the loss from the current contents of x (it typically
 * uploads x, runs the forward op and returns sum_i r_i * y_i in double).
 * For each i: fd = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), and the check
 * |analytic[i] - fd| <= atol + rtol * |fd| must hold. */
typedef double (*tu_loss_fn)(void *ctx);
void tu_check_gradient(const char *what, float *x, size_t n, const float *analytic, tu_loss_fn f, void *ctx,
                       double eps, double rtol, double atol);

/* log|det J| of a square matrix (row-major, n x n) by LU with partial pivoting, in double. */
double tu_log_abs_det(double *a, int n);

#endif
