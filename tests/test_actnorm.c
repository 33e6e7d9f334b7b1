/* CPU reference: actnorm y = (x + bias[c]) * exp(logs[c]), its inverse, its
 * log-determinant H*W*sum(logs), its backward and the data-dependent init.
 * Shapes deliberately odd: N=2, H=5, W=3, C=7. */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>

enum { N = 2, H = 5, W = 3, C = 7 };
#define COUNT ((size_t)N * H * W * C)

/* forward on a hand example, x (1,1,2,2): pixels (1,2) and (3,4),
 * bias = (1,-1), logs = (0, ln 2), so scale = (1, 2):
 *   pixel 0: ((1+1)*1, (2-1)*2) = (2, 2);  pixel 1: ((3+1)*1, (4-1)*2) = (4, 6).
 * expf(logf(2)) is 2 to within 1 ulp, hence a tolerance of 2 ulp of 6 (~1e-6). */
static void test_forward_hand_example(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    const float x_host[] = {1, 2, 3, 4}, b_host[] = {1, -1}, l_host[] = {0.0f, logf(2.0f)};
    const float want[] = {2, 2, 4, 6};
    glow_tensor x = tu_tensor(be, 1, 1, 2, 2, x_host), y = tu_tensor(be, 1, 1, 2, 2, NULL);
    glow_tensor b = tu_tensor(be, 1, 1, 1, 2, b_host), l = tu_tensor(be, 1, 1, 1, 2, l_host);
    TU_OK(glow_actnorm_forward(be, x, b, l, y));
    float *got = tu_download(y);
    tu_assert_close("actnorm forward", got, want, 4, 1e-6);
    free(got);
    /* in place (y aliases x) gives the same result */
    TU_OK(glow_actnorm_forward(be, x, b, l, x));
    got = tu_download(x);
    tu_assert_close("actnorm forward in place", got, want, 4, 1e-6);
    free(got);
    tu_tensor_free(x);
    tu_tensor_free(y);
    tu_tensor_free(b);
    tu_tensor_free(l);
    glow_backend_close(be);
}

/* inverse(forward(x)) = x. |x| <= 2, |bias| <= 1, scale in [e^-0.5, e^0.5]:
 * two float roundings of values below ~5 leave errors of a few 1e-7, so 1e-5. */
static void test_inverse_of_forward(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    float *x_host = tu_random(COUNT, 1, -2.0f, 2.0f);
    float *b_host = tu_random(C, 2, -1.0f, 1.0f), *l_host = tu_random(C, 3, -0.5f, 0.5f);
    glow_tensor x = tu_tensor(be, N, H, W, C, x_host), y = tu_tensor(be, N, H, W, C, NULL);
    glow_tensor back = tu_tensor(be, N, H, W, C, NULL);
    glow_tensor b = tu_tensor(be, 1, 1, 1, C, b_host), l = tu_tensor(be, 1, 1, 1, C, l_host);
    TU_OK(glow_actnorm_forward(be, x, b, l, y));
    TU_OK(glow_actnorm_inverse(be, y, b, l, back));
    float *got = tu_download(back);
    double err = tu_max_abs_diff(got, x_host, COUNT);
    if (!(err <= 1e-5))
        fail_msg("actnorm inverse(forward(x)) differs from x by %g", err);
    free(got);
    free(x_host);
    free(b_host);
    free(l_host);
    tu_tensor_free(x);
    tu_tensor_free(y);
    tu_tensor_free(back);
    tu_tensor_free(b);
    tu_tensor_free(l);
    glow_backend_close(be);
}

/* The log-determinant H*W*sum(logs) (from logdet_sum) against log|det J| of the
 * Jacobian of one sample, built column by column by pushing unit vectors
 * through the (affine) forward op: J[:, j] = f(e_j) - f(0). Sample (1,2,2,3):
 * J is 12 x 12. The columns are exact to float rounding (relative 6e-8) and the
 * sum has 12 terms of |logs| <= 0.5, so 1e-5 is ample. */
static void test_logdet_matches_jacobian(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    enum { h = 2, w = 2, c = 3, D = h * w * c };
    float *b_host = tu_random(c, 4, -1.0f, 1.0f), *l_host = tu_random(c, 5, -0.5f, 0.5f);
    glow_tensor b = tu_tensor(be, 1, 1, 1, c, b_host), l = tu_tensor(be, 1, 1, 1, c, l_host);
    glow_tensor x = tu_tensor(be, 1, h, w, c, NULL), y = tu_tensor(be, 1, h, w, c, NULL);
    float unit[D] = {0};
    TU_OK(glow_actnorm_forward(be, x, b, l, y));
    float *f0 = tu_download(y);
    double jac[D * D];
    for (int j = 0; j < D; j++) {
        unit[j] = 1.0f;
        TU_OK(glow_tensor_upload(x, unit));
        TU_OK(glow_actnorm_forward(be, x, b, l, y));
        float *col = tu_download(y);
        for (int i = 0; i < D; i++)
            jac[i * D + j] = (double)col[i] - (double)f0[i];
        free(col);
        unit[j] = 0.0f;
    }
    double want = tu_log_abs_det(jac, D);
    glow_tensor ld = tu_tensor(be, 1, 1, 1, 1, NULL);
    TU_OK(glow_logdet_sum(be, l, (float)(h * w), ld));
    float got;
    TU_OK(glow_tensor_download(ld, &got));
    if (!(fabs(got - want) <= 1e-5))
        fail_msg("actnorm logdet %.9g vs brute-force log|det J| %.9g", (double)got, want);
    free(f0);
    free(b_host);
    free(l_host);
    tu_tensor_free(b);
    tu_tensor_free(l);
    tu_tensor_free(x);
    tu_tensor_free(y);
    tu_tensor_free(ld);
    glow_backend_close(be);
}

/* ---- gradients against central finite differences ------------------------- */

typedef struct {
    glow_backend *be;
    float *x, *b, *l, *r; /* host inputs; r the random loss weights */
    glow_tensor tx, tb, tl, ty;
} actnorm_case;

/* loss = sum_i r_i y_i, accumulated in double. */
static double actnorm_loss(void *ctx)
{
    actnorm_case *k = ctx;
    TU_OK(glow_tensor_upload(k->tx, k->x));
    TU_OK(glow_tensor_upload(k->tb, k->b));
    TU_OK(glow_tensor_upload(k->tl, k->l));
    TU_OK(glow_actnorm_forward(k->be, k->tx, k->tb, k->tl, k->ty));
    float *y = tu_download(k->ty);
    double s = 0.0;
    for (size_t i = 0; i < COUNT; i++)
        s += (double)k->r[i] * y[i];
    free(y);
    return s;
}

/* eps = 1e-2: the loss is linear in x and bias, and in logs its third
 * derivative is the loss itself, so the central-difference truncation error is
 * eps^2/6 ~ 2e-5 relative; float rounding of the ~210-term loss (each |y| < 7,
 * relative 6e-8) is ~1e-6, divided by 2 eps gives ~5e-5 absolute. Hence
 * rtol 1e-3, atol 5e-4. The analytic gradient is expected to pass by far. */
static void test_backward_matches_finite_differences(void **state)
{
    (void)state;
    actnorm_case k;
    k.be = tu_open_cpu();
    k.x = tu_random(COUNT, 6, -2.0f, 2.0f);
    k.b = tu_random(C, 7, -1.0f, 1.0f);
    k.l = tu_random(C, 8, -0.5f, 0.5f);
    k.r = tu_random(COUNT, 9, -1.0f, 1.0f);
    k.tx = tu_tensor(k.be, N, H, W, C, k.x);
    k.ty = tu_tensor(k.be, N, H, W, C, NULL);
    k.tb = tu_tensor(k.be, 1, 1, 1, C, k.b);
    k.tl = tu_tensor(k.be, 1, 1, 1, C, k.l);
    glow_tensor dy = tu_tensor(k.be, N, H, W, C, k.r), dx = tu_tensor(k.be, N, H, W, C, NULL);
    glow_tensor db = tu_tensor(k.be, 1, 1, 1, C, NULL), dl = tu_tensor(k.be, 1, 1, 1, C, NULL);
    TU_OK(glow_actnorm_backward(k.be, k.tx, dy, k.tb, k.tl, dx, db, dl));
    float *gx = tu_download(dx), *gb = tu_download(db), *gl = tu_download(dl);
    /* backward accumulates: a second call doubles dx (exactly: a + a = 2a) */
    TU_OK(glow_actnorm_backward(k.be, k.tx, dy, k.tb, k.tl, dx, db, dl));
    float *gx2 = tu_download(dx);
    for (size_t i = 0; i < COUNT; i++)
        assert_true(gx2[i] == 2.0f * gx[i]);
    free(gx2);
    tu_check_gradient("actnorm dx", k.x, COUNT, gx, actnorm_loss, &k, 1e-2, 1e-3, 5e-4);
    tu_check_gradient("actnorm dbias", k.b, C, gb, actnorm_loss, &k, 1e-2, 1e-3, 5e-4);
    tu_check_gradient("actnorm dlogs", k.l, C, gl, actnorm_loss, &k, 1e-2, 1e-3, 5e-4);
    free(gx);
    free(gb);
    free(gl);
    free(k.x);
    free(k.b);
    free(k.l);
    free(k.r);
    tu_tensor_free(k.tx);
    tu_tensor_free(k.ty);
    tu_tensor_free(k.tb);
    tu_tensor_free(k.tl);
    tu_tensor_free(dy);
    tu_tensor_free(dx);
    tu_tensor_free(db);
    tu_tensor_free(dl);
    glow_backend_close(k.be);
}

/* Data-dependent init: bias = -mean_c, logs = -log(std_c + 1e-6) against the
 * same statistics computed here in double (float results: relative 1e-6), and
 * afterwards the forward output has per-channel mean 0 and population std 1
 * (to 1e-5: float rounding of 30-pixel channels of values ~1). */
static void test_init_normalises_batch(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    float *x_host = tu_random(COUNT, 10, -3.0f, 5.0f);
    for (size_t i = 0; i < COUNT; i++)
        x_host[i] *= (float)(1 + i % C); /* a different spread per channel */
    glow_tensor x = tu_tensor(be, N, H, W, C, x_host), y = tu_tensor(be, N, H, W, C, NULL);
    glow_tensor b = tu_tensor(be, 1, 1, 1, C, NULL), l = tu_tensor(be, 1, 1, 1, C, NULL);
    TU_OK(glow_actnorm_init(be, x, b, l));
    float *gb = tu_download(b), *gl = tu_download(l);
    const size_t P = (size_t)N * H * W;
    for (int c = 0; c < C; c++) {
        double mean = 0.0, var = 0.0;
        for (size_t p = 0; p < P; p++)
            mean += x_host[p * C + c];
        mean /= (double)P;
        for (size_t p = 0; p < P; p++)
            var += (x_host[p * C + c] - mean) * (x_host[p * C + c] - mean);
        double logs = -log(sqrt(var / (double)P) + 1e-6);
        if (!(fabs(gb[c] + mean) <= 1e-6 * (1.0 + fabs(mean)) && fabs(gl[c] - logs) <= 1e-6 * (1.0 + fabs(logs))))
            fail_msg("channel %d: bias %g logs %g, expected %g %g", c, (double)gb[c], (double)gl[c], -mean, logs);
    }
    TU_OK(glow_actnorm_forward(be, x, b, l, y));
    float *out = tu_download(y);
    for (int c = 0; c < C; c++) {
        double mean = 0.0, sq = 0.0;
        for (size_t p = 0; p < P; p++) {
            mean += out[p * C + c];
            sq += (double)out[p * C + c] * out[p * C + c];
        }
        mean /= (double)P;
        double std = sqrt(sq / (double)P - mean * mean);
        if (!(fabs(mean) <= 1e-5 && fabs(std - 1.0) <= 1e-5))
            fail_msg("channel %d after init: mean %g std %g", c, mean, std);
    }
    free(out);
    free(gb);
    free(gl);
    free(x_host);
    tu_tensor_free(x);
    tu_tensor_free(y);
    tu_tensor_free(b);
    tu_tensor_free(l);
    glow_backend_close(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_hand_example),
        cmocka_unit_test(test_inverse_of_forward),
        cmocka_unit_test(test_logdet_matches_jacobian),
        cmocka_unit_test(test_backward_matches_finite_differences),
        cmocka_unit_test(test_init_normalises_batch),
    };
    return cmocka_run_group_tests_name("cpu actnorm", tests, NULL, NULL);
}
