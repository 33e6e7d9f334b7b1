/* CPU reference: the LU-parametrised invertible 1x1 convolution
 *   W = perm L U,  L = strictly_lower(lower) + I,  U = strictly_upper(upper) + diag(sign e^log_s),
 * its inverse, log-determinant, gradient, and the orthogonal initialisation. */
#include "test_util.h"

#include "glow/lu_init.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Host parameters of one C x C LU weight. */
typedef struct {
    int c;
    float *lower, *upper, *log_s, *sign, *perm;
} lu_host;

/* Random parameters: lower/upper entries in [-0.5, 0.5) (every entry, so the
 * op must ignore the non-strict parts), log_s in [-0.3, 0.3), alternating signs,
 * perm a rotation of the identity by 3 rows. */
static lu_host lu_random(int c, uint32_t seed)
{
    lu_host h = {c, tu_random((size_t)c * c, seed, -0.5f, 0.5f), tu_random((size_t)c * c, seed + 1, -0.5f, 0.5f),
                 tu_random((size_t)c, seed + 2, -0.3f, 0.3f), malloc((size_t)c * sizeof(float)),
                 calloc((size_t)c * c, sizeof(float))};
    for (int i = 0; i < c; i++) {
        h.sign[i] = (i % 3 == 1) ? -1.0f : 1.0f;
        h.perm[(size_t)i * c + (i + 3) % c] = 1.0f;
    }
    return h;
}

static void lu_host_free(lu_host *h)
{
    free(h->lower);
    free(h->upper);
    free(h->log_s);
    free(h->sign);
    free(h->perm);
}

/* Device tensors of the parameters. */
typedef struct {
    glow_tensor lower, upper, log_s, sign, perm;
} lu_dev;

static lu_dev lu_upload(glow_backend *be, const lu_host *h)
{
    int c = h->c;
    lu_dev d = {tu_tensor(be, c, 1, 1, c, h->lower), tu_tensor(be, c, 1, 1, c, h->upper),
                tu_tensor(be, 1, 1, 1, c, h->log_s), tu_tensor(be, 1, 1, 1, c, h->sign),
                tu_tensor(be, c, 1, 1, c, h->perm)};
    return d;
}

static void lu_dev_reupload(const lu_dev *d, const lu_host *h)
{
    TU_OK(glow_tensor_upload(d->lower, h->lower));
    TU_OK(glow_tensor_upload(d->upper, h->upper));
    TU_OK(glow_tensor_upload(d->log_s, h->log_s));
    TU_OK(glow_tensor_upload(d->sign, h->sign));
    TU_OK(glow_tensor_upload(d->perm, h->perm));
}

static void lu_dev_free(lu_dev *d)
{
    tu_tensor_free(d->lower);
    tu_tensor_free(d->upper);
    tu_tensor_free(d->log_s);
    tu_tensor_free(d->sign);
    tu_tensor_free(d->perm);
}

/* Weight W (inverse = 0) or W^-1 (inverse = 1) into a new host array. */
static float *lu_weight_host(glow_backend *be, const lu_dev *d, int c, int inverse)
{
    glow_tensor w = tu_tensor(be, c, 1, 1, c, NULL);
    TU_OK(glow_lu_weight(be, d->lower, d->upper, d->log_s, d->sign, d->perm, w, inverse));
    float *host = tu_download(w);
    tu_tensor_free(w);
    return host;
}

/* Hand example, C = 2: lower[1][0] = 2, upper[0][1] = 3, log_s = (0, 0),
 * sign = (1, -1), perm = [[0,1],[1,0]]:
 *   L = [[1,0],[2,1]], U = [[1,3],[0,-1]], L U = [[1,3],[2,5]],
 *   W = perm L U = [[2,5],[1,3]] (det 1),  W^-1 = [[3,-5],[-1,2]].
 * lower's diagonal/upper part (9, 7) and upper's diagonal/lower part (8, 6, 4)
 * hold junk that must be ignored. Every value is an exact small integer. */
static void test_weight_hand_example(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    float lower[] = {9, 7, 2, 9}, upper[] = {8, 3, 6, 4}, log_s[] = {0, 0}, sign[] = {1, -1}, perm[] = {0, 1, 1, 0};
    lu_host h = {2, lower, upper, log_s, sign, perm};
    lu_dev d = lu_upload(be, &h);
    float *w = lu_weight_host(be, &d, 2, 0), *wi = lu_weight_host(be, &d, 2, 1);
    const float want_w[] = {2, 5, 1, 3}, want_wi[] = {3, -5, -1, 2};
    tu_assert_close("W", w, want_w, 4, 0.0);
    tu_assert_close("W^-1", wi, want_wi, 4, 1e-6); /* U^-1 has 1/U[i][i] = +-1 exactly; 1e-6 for safety */
    free(w);
    free(wi);
    lu_dev_free(&d);
    glow_backend_close(be);
}

/* W W^-1 = I for random parameters, C = 7, and the 1x1 conv with W followed by
 * the conv with W^-1 gives x back on (2,5,3,7). Entries of W are O(1) with C = 7
 * terms per product, so float rounding leaves errors of a few 1e-7: 1e-5. */
static void test_conv_with_inverse_weight_is_identity(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    enum { N = 2, H = 5, W = 3, C = 7 };
    lu_host h = lu_random(C, 31);
    lu_dev d = lu_upload(be, &h);
    float *w = lu_weight_host(be, &d, C, 0), *wi = lu_weight_host(be, &d, C, 1);
    for (int i = 0; i < C; i++)
        for (int j = 0; j < C; j++) {
            double s = 0.0;
            for (int k = 0; k < C; k++)
                s += (double)w[i * C + k] * wi[k * C + j];
            if (!(fabs(s - (i == j)) <= 1e-5))
                fail_msg("(W W^-1)[%d][%d] = %.9g", i, j, s);
        }
    size_t n = (size_t)N * H * W * C;
    float *x_host = tu_random(n, 32, -2.0f, 2.0f);
    glow_tensor x = tu_tensor(be, N, H, W, C, x_host), y = tu_tensor(be, N, H, W, C, NULL);
    glow_tensor back = tu_tensor(be, N, H, W, C, NULL);
    glow_tensor tw = tu_tensor(be, C, 1, 1, C, w), twi = tu_tensor(be, C, 1, 1, C, wi);
    TU_OK(glow_conv2d_forward(be, x, tw, glow_tensor_none(), y, 0));
    TU_OK(glow_conv2d_forward(be, y, twi, glow_tensor_none(), back, 0));
    float *got = tu_download(back);
    double err = tu_max_abs_diff(got, x_host, n);
    if (!(err <= 1e-5))
        fail_msg("conv(conv(x, W), W^-1) differs from x by %g", err);
    free(got);
    free(x_host);
    free(w);
    free(wi);
    tu_tensor_free(x);
    tu_tensor_free(y);
    tu_tensor_free(back);
    tu_tensor_free(tw);
    tu_tensor_free(twi);
    lu_dev_free(&d);
    lu_host_free(&h);
    glow_backend_close(be);
}

/* log|det| of the 1x1 conv on a (1,2,2,3) sample, H*W*sum(log_s) from
 * logdet_sum, against log|det J| of its 12 x 12 Jacobian built by pushing unit
 * vectors through conv2d_forward (linear: J[:, j] = conv(e_j)). Entries of J are
 * float-rounded W entries (relative 6e-8), the log-det ~ 12 terms of size
 * <= 0.3: 2e-5. */
static void test_logdet_matches_jacobian(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    enum { h = 2, w = 2, c = 3, D = h * w * c };
    lu_host hp = lu_random(c, 41);
    lu_dev d = lu_upload(be, &hp);
    glow_tensor weight = tu_tensor(be, c, 1, 1, c, NULL);
    TU_OK(glow_lu_weight(be, d.lower, d.upper, d.log_s, d.sign, d.perm, weight, 0));
    glow_tensor x = tu_tensor(be, 1, h, w, c, NULL), y = tu_tensor(be, 1, h, w, c, NULL);
    float unit[D] = {0};
    double jac[D * D];
    for (int j = 0; j < D; j++) {
        unit[j] = 1.0f;
        TU_OK(glow_tensor_upload(x, unit));
        TU_OK(glow_conv2d_forward(be, x, weight, glow_tensor_none(), y, 0));
        float *col = tu_download(y);
        for (int i = 0; i < D; i++)
            jac[i * D + j] = col[i];
        free(col);
        unit[j] = 0.0f;
    }
    double want = tu_log_abs_det(jac, D);
    glow_tensor ld = tu_tensor(be, 1, 1, 1, 1, NULL);
    TU_OK(glow_logdet_sum(be, d.log_s, (float)(h * w), ld));
    float got;
    TU_OK(glow_tensor_download(ld, &got));
    if (!(fabs(got - want) <= 2e-5))
        fail_msg("1x1 conv logdet %.9g vs brute-force log|det J| %.9g", (double)got, want);
    tu_tensor_free(weight);
    tu_tensor_free(x);
    tu_tensor_free(y);
    tu_tensor_free(ld);
    lu_dev_free(&d);
    lu_host_free(&hp);
    glow_backend_close(be);
}

/* ---- gradient of W through the LU parameters -------------------------------- */

typedef struct {
    glow_backend *be;
    lu_host h;
    lu_dev d;
    float *r; /* C x C loss weights */
} lu_case;

/* loss = sum_ij R_ij W_ij in double. */
static double lu_loss(void *ctx)
{
    lu_case *k = ctx;
    lu_dev_reupload(&k->d, &k->h);
    float *w = lu_weight_host(k->be, &k->d, k->h.c, 0);
    double s = 0.0;
    for (int i = 0; i < k->h.c * k->h.c; i++)
        s += (double)k->r[i] * w[i];
    free(w);
    return s;
}

/* W is linear in lower (for fixed U) and in upper, so central differences are
 * exact there up to rounding; in log_s the truncation error is eps^2/6 ~ 2e-5
 * relative. Rounding: 49 float entries of W ~ O(1) give ~5e-7 in the loss,
 * / (2 eps = 0.02) ~ 3e-5. rtol 1e-3, atol 2e-4. Junk in the non-strict parts
 * of lower/upper must get gradient 0 (the FD is exactly 0 there). */
static void test_weight_backward_matches_finite_differences(void **state)
{
    (void)state;
    enum { C = 7 };
    lu_case k;
    k.be = tu_open_cpu();
    k.h = lu_random(C, 51);
    k.d = lu_upload(k.be, &k.h);
    k.r = tu_random((size_t)C * C, 52, -1.0f, 1.0f);
    glow_tensor dw = tu_tensor(k.be, C, 1, 1, C, k.r);
    glow_tensor dl = tu_tensor(k.be, C, 1, 1, C, NULL), du = tu_tensor(k.be, C, 1, 1, C, NULL);
    glow_tensor ds = tu_tensor(k.be, 1, 1, 1, C, NULL);
    TU_OK(glow_lu_weight_backward(k.be, dw, k.d.lower, k.d.upper, k.d.log_s, k.d.sign, k.d.perm, dl, du, ds));
    float *gl = tu_download(dl), *gu = tu_download(du), *gs = tu_download(ds);
    for (int i = 0; i < C; i++)
        for (int j = 0; j < C; j++) {
            if (i <= j)
                assert_true(gl[i * C + j] == 0.0f);
            if (i >= j)
                assert_true(gu[i * C + j] == 0.0f);
        }
    tu_check_gradient("lu dlower", k.h.lower, (size_t)C * C, gl, lu_loss, &k, 1e-2, 1e-3, 2e-4);
    tu_check_gradient("lu dupper", k.h.upper, (size_t)C * C, gu, lu_loss, &k, 1e-2, 1e-3, 2e-4);
    tu_check_gradient("lu dlog_s", k.h.log_s, C, gs, lu_loss, &k, 1e-2, 1e-3, 2e-4);
    free(gl);
    free(gu);
    free(gs);
    free(k.r);
    tu_tensor_free(dw);
    tu_tensor_free(dl);
    tu_tensor_free(du);
    tu_tensor_free(ds);
    lu_dev_free(&k.d);
    lu_host_free(&k.h);
    glow_backend_close(k.be);
}

/* ---- orthogonal initialisation ------------------------------------------------ */

/* For several sizes: the factors have the documented structure (perm a
 * permutation matrix, lower strictly lower, upper strictly upper, sign = +-1),
 * W = lu_weight(...) satisfies W W^T = I within 1e-5 (float entries of an
 * orthogonal matrix, <= 16 terms per product), and log|det W| = sum(log_s) = 0
 * within 1e-5, also by brute force on W in double. */
static void test_orthogonal_init(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    const int sizes[] = {1, 3, 7, 12, 16};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int c = sizes[s];
        size_t cc = (size_t)c * c;
        lu_host h = {c, malloc(cc * sizeof(float)), malloc(cc * sizeof(float)), malloc(c * sizeof(float)),
                     malloc(c * sizeof(float)), malloc(cc * sizeof(float))};
        glow_rng rng = {1234 + (uint64_t)c, GLOW_STREAM_INIT, 0, 0};
        TU_OK(glow_lu_init_orthogonal(c, rng, h.lower, h.upper, h.log_s, h.sign, h.perm));
        double sum_log_s = 0.0;
        for (int i = 0; i < c; i++) {
            int ones = 0, ones_col = 0;
            for (int j = 0; j < c; j++) {
                float p = h.perm[i * c + j];
                assert_true(p == 0.0f || p == 1.0f);
                ones += p == 1.0f;
                ones_col += h.perm[j * c + i] == 1.0f;
                if (i <= j)
                    assert_true(h.lower[i * c + j] == 0.0f);
                if (i >= j)
                    assert_true(h.upper[i * c + j] == 0.0f);
            }
            assert_int_equal(ones, 1);
            assert_int_equal(ones_col, 1);
            assert_true(h.sign[i] == 1.0f || h.sign[i] == -1.0f);
            sum_log_s += h.log_s[i];
        }
        if (!(fabs(sum_log_s) <= 1e-5))
            fail_msg("c=%d: sum(log_s) = %g, expected 0", c, sum_log_s);
        lu_dev d = lu_upload(be, &h);
        float *w = lu_weight_host(be, &d, c, 0);
        double *wd = malloc(cc * sizeof(double));
        for (int i = 0; i < c; i++)
            for (int j = 0; j < c; j++) {
                double dot = 0.0;
                for (int k = 0; k < c; k++)
                    dot += (double)w[i * c + k] * w[j * c + k];
                if (!(fabs(dot - (i == j)) <= 1e-5))
                    fail_msg("c=%d: (W W^T)[%d][%d] = %.9g", c, i, j, dot);
            }
        for (size_t e = 0; e < cc; e++)
            wd[e] = w[e];
        double logdet = tu_log_abs_det(wd, c);
        if (!(fabs(logdet) <= 1e-5))
            fail_msg("c=%d: log|det W| = %g, expected 0", c, logdet);
        free(wd);
        free(w);
        lu_dev_free(&d);
        lu_host_free(&h);
    }
    glow_backend_close(be);
}

/* Same seed, same factors; another seed, another matrix. */
static void test_orthogonal_init_is_deterministic(void **state)
{
    (void)state;
    enum { c = 5 };
    float a[5][c * c] = {{0}}, b[5][c * c] = {{0}}; /* log_s, sign use the first c entries */
    glow_rng rng = {77, GLOW_STREAM_INIT, 3, 0};
    TU_OK(glow_lu_init_orthogonal(c, rng, a[0], a[1], a[2], a[3], a[4]));
    TU_OK(glow_lu_init_orthogonal(c, rng, b[0], b[1], b[2], b[3], b[4]));
    assert_memory_equal(a, b, sizeof a);
    rng.counter = 4;
    TU_OK(glow_lu_init_orthogonal(c, rng, b[0], b[1], b[2], b[3], b[4]));
    assert_memory_not_equal(a[1], b[1], sizeof a[1]);
    assert_int_equal(glow_lu_init_orthogonal(0, rng, b[0], b[1], b[2], b[3], b[4]), GLOW_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weight_hand_example),
        cmocka_unit_test(test_conv_with_inverse_weight_is_identity),
        cmocka_unit_test(test_logdet_matches_jacobian),
        cmocka_unit_test(test_weight_backward_matches_finite_differences),
        cmocka_unit_test(test_orthogonal_init),
        cmocka_unit_test(test_orthogonal_init_is_deterministic),
    };
    return cmocka_run_group_tests_name("cpu lu 1x1 conv", tests, NULL, NULL);
}
