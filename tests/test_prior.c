/* Learned Gaussian prior (glow/backend.h) on the CPU reference:
 *   z: (N,H,W,C), h: (N,H,W,2C) = [mean | logsd],
 *   logp[n] += sum -0.5 log(2 pi) - logsd - 0.5 (z - mean)^2 exp(-2 logsd),
 *   sample: z[i] = mean + exp(logsd) * T * glow_rng_normal(rng, i). */
#include "test_util.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

static size_t count_of(int n, int h, int w, int c)
{
    return (size_t)n * h * w * c;
}

/* N=2, H=W=1, C=2; 0.5 log(2 pi) = 0.9189385332.
 * sample 0: z = (1, -2), mean = (0, 1), logsd = (0, log 2)
 *   c0: -0.9189385332 - 0 - 0.5 * 1^2 * 1            = -1.4189385332
 *   c1: -0.9189385332 - 0.6931471806 - 0.5 * 9 / 4    = -2.7370857138
 *   sum = -4.1560242470; logp starts at 1   -> -3.1560242470
 * sample 1: z = (0.5, 0), mean = (0.5, -1), logsd = (-log 2, 0)
 *   c0: -0.9189385332 + 0.6931471806 - 0              = -0.2257913526
 *   c1: -0.9189385332 - 0 - 0.5 * 1 * 1              = -1.4189385332
 *   sum = -1.6447298858; logp starts at -1  -> -2.6447298858 */
static void test_logp_hand_example(void **state)
{
    glow_backend *be = *state;
    const float ln2 = (float)log(2.0);
    const float z[4] = {1.0f, -2.0f, 0.5f, 0.0f};
    const float h[8] = {0.0f, 1.0f, 0.0f, ln2, 0.5f, -1.0f, -ln2, 0.0f};
    const float logp0[2] = {1.0f, -1.0f};
    const float want[2] = {-3.1560242470f, -2.6447298858f};
    glow_tensor tz = tu_tensor(be, 2, 1, 1, 2, z), th = tu_tensor(be, 2, 1, 1, 4, h);
    glow_tensor tl = tu_tensor(be, 1, 1, 1, 2, logp0);
    TU_OK(glow_gaussian_logp(be, tz, th, tl));
    float *logp = tu_download(tl);
    /* log 2 rounded to float (error 2e-8) enters through logsd and exp(-2 logsd) * 4.5;
     * the result is a float near 3 (ulp 2.4e-7): 1e-6 allows a few ulp. */
    tu_assert_close("logp", logp, want, 2, 1e-6);
    free(logp);
    tu_tensor_free(tz);
    tu_tensor_free(th);
    tu_tensor_free(tl);
}

/* loss = w * sum_n logp[n], so g = w. */
typedef struct {
    glow_backend *be;
    float *z, *h;
    float w;
    glow_tensor tz, th, tl;
} prior_loss;

static double prior_loss_eval(void *ctx)
{
    prior_loss *L = ctx;
    TU_OK(glow_tensor_upload(L->tz, L->z));
    TU_OK(glow_tensor_upload(L->th, L->h));
    TU_OK(glow_fill(L->be, L->tl, 0.0f));
    TU_OK(glow_gaussian_logp(L->be, L->tz, L->th, L->tl));
    float *logp = tu_download(L->tl);
    double loss = 0.0;
    for (size_t k = 0; k < glow_tensor_count(L->tl); k++)
        loss += (double)L->w * logp[k];
    free(logp);
    return loss;
}

static void test_logp_backward_matches_finite_differences(void **state)
{
    glow_backend *be = *state;
    const int n = 2, hh = 2, ww = 3, c = 3;
    size_t nz = count_of(n, hh, ww, c), nh = count_of(n, hh, ww, 2 * c);
    prior_loss L = {.be = be, .w = -1.3f};
    L.z = tu_random(nz, 81, -1.5f, 1.5f);
    L.h = tu_random(nh, 82, -1.0f, 1.0f); /* mean and logsd in [-1, 1] */
    L.tz = tu_tensor(be, n, hh, ww, c, L.z);
    L.th = tu_tensor(be, n, hh, ww, 2 * c, L.h);
    L.tl = tu_tensor(be, 1, 1, 1, n, NULL);
    glow_tensor dz = tu_tensor(be, n, hh, ww, c, NULL), dh = tu_tensor(be, n, hh, ww, 2 * c, NULL);
    TU_OK(glow_gaussian_logp_backward(be, L.tz, L.th, L.w, dz, dh));
    float *gz = tu_download(dz), *gh = tu_download(dh);
    /* eps = 1e-2. logp is quadratic in z and mean (no truncation error) and in logsd a sum of
     * exp(-2 logsd) terms, whose third derivative is 4x the first: truncation eps^2/6 * 4 =
     * 7e-5 relative. logp is a float of magnitude up to ~64 (ulp 7.6e-6, times |w| = 1.3),
     * so the quotient carries 1e-5 / 2e-2 = 5e-4 of noise: atol 2e-3, rtol 1e-3. */
    tu_check_gradient("dz", L.z, nz, gz, prior_loss_eval, &L, 1e-2, 1e-3, 2e-3);
    tu_check_gradient("dh (mean, logsd)", L.h, nh, gh, prior_loss_eval, &L, 1e-2, 1e-3, 2e-3);

    /* dz absent: dh is the same, computed by the same float expressions (the finite
     * differences left a perturbed h on the device: upload the original again). */
    TU_OK(glow_tensor_upload(L.th, L.h));
    TU_OK(glow_tensor_upload(L.tz, L.z));
    glow_tensor dh_only = tu_tensor(be, n, hh, ww, 2 * c, NULL);
    TU_OK(glow_gaussian_logp_backward(be, L.tz, L.th, L.w, glow_tensor_none(), dh_only));
    float *gh_only = tu_download(dh_only);
    tu_assert_close("dh without dz", gh_only, gh, nh, 0.0);
    free(gh_only);
    tu_tensor_free(dh_only);

    free(gz);
    free(gh);
    free(L.z);
    free(L.h);
    tu_tensor_free(L.tz);
    tu_tensor_free(L.th);
    tu_tensor_free(L.tl);
    tu_tensor_free(dz);
    tu_tensor_free(dh);
}

/* logp and its backward accumulate: starting from 0.5 gives 0.5 + (result from zero),
 * up to the rounding of that one float addition (values < 40: ulp 3.8e-6). */
static void test_logp_and_backward_accumulate(void **state)
{
    glow_backend *be = *state;
    const int n = 2, hh = 1, ww = 2, c = 3;
    size_t nz = count_of(n, hh, ww, c), nh = count_of(n, hh, ww, 2 * c);
    float *z = tu_random(nz, 91, -2.0f, 2.0f), *h = tu_random(nh, 92, -1.0f, 1.0f);
    glow_tensor tz = tu_tensor(be, n, hh, ww, c, z), th = tu_tensor(be, n, hh, ww, 2 * c, h);
    glow_tensor l0 = tu_tensor(be, 1, 1, 1, n, NULL), l1 = tu_tensor(be, 1, 1, 1, n, NULL);
    glow_tensor dz0 = tu_tensor(be, n, hh, ww, c, NULL), dz1 = tu_tensor(be, n, hh, ww, c, NULL);
    glow_tensor dh0 = tu_tensor(be, n, hh, ww, 2 * c, NULL), dh1 = tu_tensor(be, n, hh, ww, 2 * c, NULL);
    TU_OK(glow_fill(be, l1, 0.5f));
    TU_OK(glow_fill(be, dz1, 0.5f));
    TU_OK(glow_fill(be, dh1, 0.5f));
    TU_OK(glow_gaussian_logp(be, tz, th, l0));
    TU_OK(glow_gaussian_logp(be, tz, th, l1));
    TU_OK(glow_gaussian_logp_backward(be, tz, th, 0.8f, dz0, dh0));
    TU_OK(glow_gaussian_logp_backward(be, tz, th, 0.8f, dz1, dh1));
    glow_tensor fresh[3] = {l0, dz0, dh0}, acc[3] = {l1, dz1, dh1};
    const char *names[3] = {"logp", "dz", "dh"};
    for (int k = 0; k < 3; k++) {
        float *a = tu_download(fresh[k]), *b = tu_download(acc[k]);
        size_t cnt = glow_tensor_count(fresh[k]);
        for (size_t i = 0; i < cnt; i++)
            a[i] += 0.5f;
        tu_assert_close(names[k], b, a, cnt, 4e-6);
        free(a);
        free(b);
        tu_tensor_free(fresh[k]);
        tu_tensor_free(acc[k]);
    }
    free(z);
    free(h);
    tu_tensor_free(tz);
    tu_tensor_free(th);
}

/* z[i] = mean + exp(logsd) * T * glow_rng_normal(rng, i), i the flat index in z; z sits
 * at element offset 7 of its buffer to show that i counts from the tensor's start. */
static void test_sample_follows_formula(void **state)
{
    glow_backend *be = *state;
    const int n = 2, hh = 3, ww = 2, c = 3;
    const float temperature = 0.7f;
    size_t nz = count_of(n, hh, ww, c), nh = count_of(n, hh, ww, 2 * c);
    float *h = tu_random(nh, 101, -1.5f, 1.5f);
    glow_tensor th = tu_tensor(be, n, hh, ww, 2 * c, h);
    glow_buffer *zbuf = NULL;
    TU_OK(glow_buffer_create(be, (nz + 7) * sizeof(float), &zbuf));
    glow_tensor tz = glow_tensor_make(zbuf, 7, n, hh, ww, c);
    glow_rng rng = {0x1234567890ull, GLOW_STREAM_SAMPLE, 3, 0};
    TU_OK(glow_gaussian_sample(be, th, temperature, rng, tz));
    float *z = tu_download(tz);
    for (size_t i = 0; i < nz; i++) {
        size_t p = i / (size_t)c, k = i % (size_t)c;
        double mean = h[p * 2 * c + k], logsd = h[p * 2 * c + c + k];
        double noise = exp(logsd) * temperature * glow_rng_normal(rng, i);
        double want = mean + noise;
        /* The normal is glow_rng_normal itself; expf (<= 1 ulp), two products and the sum
         * round in float: 4 float epsilons of the operands' magnitude bound them. */
        double tol = 4.0 * FLT_EPSILON * (fabs(mean) + fabs(noise));
        if (!(fabs((double)z[i] - want) <= tol))
            fail_msg("z[%zu] = %.9g, formula gives %.9g", i, (double)z[i], want);
    }
    free(z);
    free(h);
    tu_tensor_free(th);
    glow_buffer_destroy(zbuf);
}

/* T = 0: mean + exp(logsd) * 0 * normal = mean exactly. */
static void test_sample_at_zero_temperature_is_mean(void **state)
{
    glow_backend *be = *state;
    const int n = 1, hh = 2, ww = 2, c = 5;
    size_t nz = count_of(n, hh, ww, c), nh = count_of(n, hh, ww, 2 * c);
    float *h = tu_random(nh, 111, 0.25f, 2.0f); /* positive means: no signed-zero subtlety */
    glow_tensor th = tu_tensor(be, n, hh, ww, 2 * c, h), tz = tu_tensor(be, n, hh, ww, c, NULL);
    glow_rng rng = {99, GLOW_STREAM_SAMPLE, 0, 0};
    TU_OK(glow_gaussian_sample(be, th, 0.0f, rng, tz));
    float *z = tu_download(tz);
    for (size_t i = 0; i < nz; i++) {
        size_t p = i / (size_t)c, k = i % (size_t)c;
        if (z[i] != h[p * 2 * c + k])
            fail_msg("z[%zu] = %.9g is not the mean %.9g", i, (double)z[i], (double)h[p * 2 * c + k]);
    }
    free(z);
    free(h);
    tu_tensor_free(th);
    tu_tensor_free(tz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logp_hand_example),
        cmocka_unit_test(test_logp_backward_matches_finite_differences),
        cmocka_unit_test(test_logp_and_backward_accumulate),
        cmocka_unit_test(test_sample_follows_formula),
        cmocka_unit_test(test_sample_at_zero_temperature_is_mean),
    };
    return cmocka_run_group_tests_name("prior", tests, tu_setup_cpu, tu_teardown_backend);
}
