/* Whole-model log-determinant against a brute-force Jacobian.
 *
 * On a tiny model (input 2x4x4, D = 32, L = 2, K = 1 or 2, F = 4) with every
 * layer perturbed away from the identity (coupling zeroconvs non-zero) and the
 * priors left at zero (so p(z) is a standard normal), the model's
 *   ld(x) = log p(x) - sum_i log N(z_i; 0, 1)
 * (log p(x) from glow_model_encode) must equal log|det dz/dx|, where the D x D
 * Jacobian is built column by column with central differences of encode and
 * its log-determinant taken by LU in double (tu_log_abs_det). */
#include <math.h>
#include <stdlib.h>

#include "model_test_util.h"

enum { C = 2, H = 4, W = 4, D = C * H * W, BATCH = 2 * D + 1 };

static void check_logdet(int steps, uint32_t seed)
{
    glow_backend *be = tu_open_cpu();
    glow_model *m = mt_create(be, C, H, W, 2, steps, 4, BATCH, seed);
    mt_perturb_params(m, seed * 10u, 0);

    /* inputs: x, then x + eps e_i and x - eps e_i for every i */
    const float eps = 1e-2f;
    float *x0 = tu_random(D, seed, -0.5f, 0.5f);
    float *x = malloc((size_t)BATCH * D * sizeof *x), *z = malloc((size_t)BATCH * D * sizeof *z);
    float logp[BATCH];
    for (int b = 0; b < BATCH; b++)
        for (int i = 0; i < D; i++)
            x[b * D + i] = x0[i];
    for (int i = 0; i < D; i++) {
        x[(1 + 2 * i) * D + i] += eps;
        x[(2 + 2 * i) * D + i] -= eps;
    }
    TU_OK(glow_model_encode(m, x, BATCH, z, logp));
    tu_assert_finite("z", z, (size_t)BATCH * D);

    /* J[r][i] = dz_r / dx_i; the perturbed inputs are not exactly x0 +- eps in
     * float, so divide by the actual difference */
    double *jac = malloc((size_t)D * D * sizeof *jac);
    for (int i = 0; i < D; i++) {
        const float *zp = z + (size_t)(1 + 2 * i) * D, *zm = z + (size_t)(2 + 2 * i) * D;
        double dx = (double)x[(1 + 2 * i) * D + i] - (double)x[(2 + 2 * i) * D + i];
        for (int r = 0; r < D; r++)
            jac[r * D + i] = ((double)zp[r] - (double)zm[r]) / dx;
    }
    double brute = tu_log_abs_det(jac, D);

    double log_normal = 0.0;
    for (int r = 0; r < D; r++)
        log_normal += -0.5 * log(2.0 * M_PI) - 0.5 * (double)z[r] * (double)z[r];
    double ld = (double)logp[0] - log_normal;
    print_message("K=%d: model log-det %.6f, brute force %.6f, diff %.2e\n", steps, ld, brute, fabs(ld - brute));
    /* The log-det must be clearly non-zero for the check to mean anything.
     * Errors: central differences of fp32 outputs with eps = 1e-2 give each
     * Jacobian entry ~1e-5 rounding (6e-8 |z| / eps) and ~1e-5 truncation
     * (eps^2 f'''/6); summed over 32 columns through a well-conditioned J the
     * log-det moves by a few 1e-4 (1e-4 observed). fp32 sums in log p(x) add
     * ~1e-5. Tolerance 2e-3: a wrong log-det term (one layer's H*W*sum(logs),
     * ~0.1 or more here) fails it. */
    assert_true(fabs(brute) > 0.5);
    assert_true(fabs(ld - brute) <= 2e-3);

    free(jac);
    free(x0);
    free(x);
    free(z);
    glow_model_destroy(m);
    glow_backend_close(be);
}

static void test_logdet_one_step(void **state)
{
    (void)state;
    check_logdet(1, 3);
}

static void test_logdet_two_steps(void **state)
{
    (void)state;
    check_logdet(2, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logdet_one_step),
        cmocka_unit_test(test_logdet_two_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
