#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

glow_backend *tu_open_cpu(void)
{
    glow_backend *be = NULL;
    TU_OK(glow_backend_open("ref", -1, &be));
    return be;
}

int tu_setup_cpu(void **state)
{
    *state = tu_open_cpu();
    return 0;
}

int tu_teardown_backend(void **state)
{
    glow_backend_close(*state);
    return 0;
}

static int g_skipped; /* a tu_require skipped: the suite exits 77 */

void tu_require(int available, const char *what)
{
    if (available)
        return;
    const char *strict = getenv("GLOW_TEST_STRICT");
    if (strict && strcmp(strict, "1") == 0)
        fail_msg("%s is required (GLOW_TEST_STRICT=1) but not available", what);
    print_message("[ skipped  ] %s is not available\n", what);
    g_skipped = 1;
    skip();
}

int tu_name_in_list(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, name, len) == 0)
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

int tu_backend_required(const char *backend)
{
    return tu_name_in_list(getenv("GLOW_TEST_REQUIRE"), backend);
}

void tu_backend_unavailable(const char *backend, glow_status st, const char *reason)
{
    if (tu_backend_required(backend))
        fail_msg("%s is required (GLOW_TEST_REQUIRE=%s) but did not open: %s: %s", backend,
                 getenv("GLOW_TEST_REQUIRE"), glow_status_name(st), reason);
    if (st != GLOW_ERR_UNAVAILABLE)
        fail_msg("%s is present but failed (%s, not unavailable): %s", backend, glow_status_name(st), reason);
    print_message("[ skipped  ] %s: %s\n", backend, reason);
}

int tu_suite_backend_or_skip(const char *backend)
{
    glow_backend *probe = NULL;
    glow_status st = glow_backend_open(backend, -1, &probe);
    if (st == GLOW_OK) {
        glow_backend_close(probe);
        return -1;
    }
    char reason[512];
    snprintf(reason, sizeof reason, "%s", glow_last_error());
    if (tu_backend_required(backend) || st != GLOW_ERR_UNAVAILABLE) {
        fprintf(stderr, "%s did not open (%s): %s\n", backend, glow_status_name(st), reason);
        return 1;
    }
    printf("[ skipped  ] %s: %s\n", backend, reason);
    return 77;
}

void tu_require_factories(void)
{
    const char *list = getenv("GLOW_TEST_REQUIRE");
    const glow_backend_factory *f[16];
    int n = glow_backend_factories(f, 16);
    for (const char *p = list; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int found = 0;
        for (int i = 0; i < n; i++)
            found |= strlen(f[i]->name) == len && strncmp(f[i]->name, p, len) == 0;
        if (!found && len > 0 && memchr(p, '-', len) == NULL) /* "vulkan-validation" is no backend */
            fail_msg("GLOW_TEST_REQUIRE=%s names '%.*s', which this build has no backend for", list, (int)len, p);
        p = end ? end + 1 : NULL;
    }
}

int tu_exit_status(int failures)
{
    if (failures != 0)
        return failures;
    return g_skipped ? 77 : 0;
}

char tu_temp_dir[256];

int tu_make_temp_dir(void **state)
{
    (void)state;
    snprintf(tu_temp_dir, sizeof tu_temp_dir, "/tmp/glow-test-XXXXXX");
    return mkdtemp(tu_temp_dir) ? 0 : -1;
}

int tu_remove_temp_dir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tu_temp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

glow_tensor tu_tensor(glow_backend *be, int n, int h, int w, int c, const float *host)
{
    size_t count = (size_t)n * h * w * c;
    glow_buffer *buf = NULL;
    TU_OK(glow_buffer_create(be, count * sizeof(float), &buf));
    glow_tensor t = glow_tensor_make(buf, 0, n, h, w, c);
    if (host) {
        TU_OK(glow_tensor_upload(t, host));
    } else {
        TU_OK(glow_fill(be, t, 0.0f));
    }
    return t;
}

void tu_tensor_free(glow_tensor t)
{
    glow_buffer_destroy(t.buf);
}

float *tu_download(glow_tensor t)
{
    float *host = malloc(glow_tensor_count(t) * sizeof(float) + 1);
    assert_non_null(host);
    TU_OK(glow_tensor_download(t, host));
    return host;
}

void tu_fill_uniform(float *x, size_t n, uint32_t seed, float lo, float hi)
{
    glow_rng r = {seed, GLOW_STREAM_TEST, 0, 0};
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * glow_rng_uniform(r, i);
}

float *tu_random(size_t n, uint32_t seed, float lo, float hi)
{
    float *x = malloc(n * sizeof(float) + 1);
    assert_non_null(x);
    tu_fill_uniform(x, n, seed, lo, hi);
    return x;
}

double tu_max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || isnan(d))
            m = d;
    }
    return m;
}

double tu_nmse(const float *got, const float *ref, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * (double)ref[i];
    }
    return den > 0.0 ? num / den : num;
}

void tu_worst_error(const float *got, const float *ref, const float *init, size_t n, double *err, double *scale)
{
    double e = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], r = ref[i];
        if (init) {
            g -= (double)init[i];
            r -= (double)init[i];
        }
        double d = fabs(g - r);
        if (!(d <= e))
            e = isnan(d) ? INFINITY : d;
        if (fabs(r) > s)
            s = fabs(r);
    }
    *err = e;
    *scale = s;
}

void tu_assert_finite(const char *what, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            fail_msg("%s: element %zu is not finite (%g)", what, i, (double)x[i]);
}

void tu_assert_close(const char *what, const float *got, const float *want, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= tol))
            fail_msg("%s: element %zu is %.9g, expected %.9g (|diff| %.3g > %.3g)", what, i, (double)got[i],
                     (double)want[i], d, tol);
    }
}

void tu_check_gradient(const char *what, float *x, size_t n, const float *analytic, tu_loss_fn f, void *ctx,
                       double eps, double rtol, double atol)
{
    for (size_t i = 0; i < n; i++) {
        float saved = x[i];
        x[i] = (float)((double)saved + eps);
        double plus = f(ctx);
        x[i] = (float)((double)saved - eps);
        double minus = f(ctx);
        /* the step actually taken in float */
        double step = (double)(float)((double)saved + eps) - (double)(float)((double)saved - eps);
        x[i] = saved;
        double fd = (plus - minus) / step;
        double err = fabs((double)analytic[i] - fd);
        if (!(err <= atol + rtol * fabs(fd)))
            fail_msg("%s: gradient[%zu] analytic %.9g vs finite difference %.9g (|diff| %.3g > %.3g)", what, i,
                     (double)analytic[i], fd, err, atol + rtol * fabs(fd));
    }
}

double tu_log_abs_det(double *a, int n)
{
    double logdet = 0.0;
    for (int k = 0; k < n; k++) {
        int piv = k;
        for (int i = k + 1; i < n; i++)
            if (fabs(a[i * n + k]) > fabs(a[piv * n + k]))
                piv = i;
        if (a[piv * n + k] == 0.0)
            return -INFINITY;
        if (piv != k)
            for (int j = 0; j < n; j++) {
                double t = a[k * n + j];
                a[k * n + j] = a[piv * n + j];
                a[piv * n + j] = t;
            }
        logdet += log(fabs(a[k * n + k]));
        for (int i = k + 1; i < n; i++) {
            double l = a[i * n + k] / a[k * n + k];
            for (int j = k; j < n; j++)
                a[i * n + j] -= l * a[k * n + j];
        }
    }
    return logdet;
}
