/* The model is a bijection: decode(encode(x)) = x, and encode(decode(z)) = z.
 * Configuration from the issue: L=2, K=2, F=16, here on 3x8x8 inputs, batch 3,
 * with every layer moved away from the identity (mt_perturb_params). */
#include <math.h>
#include <stdlib.h>

#include "model_test_util.h"

enum { BATCH = 3, C = 3, H = 8, W = 8 };

static void test_decode_inverts_encode(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    glow_model *m = mt_create(be, C, H, W, 2, 2, 16, BATCH, 11);
    mt_perturb_params(m, 100, 1);
    const size_t d = glow_model_latent_size(m);
    assert_int_equal(d, C * H * W);
    float *x = tu_random(BATCH * d, 7, -0.5f, 0.5f);
    float *z = malloc(BATCH * d * sizeof *z), *x2 = malloc(BATCH * d * sizeof *x2), *logp = malloc(BATCH * 4);
    TU_OK(glow_model_encode(m, x, BATCH, z, logp));
    tu_assert_finite("z", z, BATCH * d);
    tu_assert_finite("logp", logp, BATCH);
    /* the latent must differ from the input: the flow is not an identity */
    assert_true(tu_max_abs_diff(z, x, BATCH * d) > 0.1);
    TU_OK(glow_model_decode(m, z, BATCH, x2));
    /* 8 fp32 layers (actnorm, 1x1 conv, coupling) each way with |x| <= ~3: rounding
     * errors of a few 1e-7 per op compound to ~1e-6 (3e-7 observed); the bound is 1e-4 */
    double err = tu_max_abs_diff(x2, x, BATCH * d);
    print_message("max |decode(encode(x)) - x| = %.3g\n", err);
    assert_true(err <= 1e-4);
    free(x);
    free(z);
    free(x2);
    free(logp);
    glow_model_destroy(m);
    glow_backend_close(be);
}

static void test_encode_inverts_decode(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    glow_model *m = mt_create(be, C, H, W, 2, 2, 16, BATCH, 12);
    mt_perturb_params(m, 200, 1);
    const size_t d = glow_model_latent_size(m);
    float *z = tu_random(BATCH * d, 9, -1.5f, 1.5f);
    float *x = malloc(BATCH * d * sizeof *x), *z2 = malloc(BATCH * d * sizeof *z2);
    TU_OK(glow_model_decode(m, z, BATCH, x));
    tu_assert_finite("x", x, BATCH * d);
    TU_OK(glow_model_encode(m, x, BATCH, z2, NULL));
    /* same argument as above; |z| <= 1.5 */
    double err = tu_max_abs_diff(z2, z, BATCH * d);
    print_message("max |encode(decode(z)) - z| = %.3g\n", err);
    assert_true(err <= 1e-4);
    free(z);
    free(x);
    free(z2);
    glow_model_destroy(m);
    glow_backend_close(be);
}

/* Sampling is reproducible for a given rng, differs between counters and
 * between the samples of a batch, and is finite. */
static void test_sample(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    glow_model *m = mt_create(be, C, H, W, 2, 2, 16, BATCH, 13);
    mt_perturb_params(m, 300, 1);
    const size_t d = glow_model_latent_size(m);
    float *a = malloc(BATCH * d * sizeof *a), *b = malloc(BATCH * d * sizeof *b);
    glow_rng r0 = {5, GLOW_STREAM_SAMPLE, 0, 0}, r1 = {5, GLOW_STREAM_SAMPLE, 1, 0};
    TU_OK(glow_model_sample(m, BATCH, 1.0f, r0, a));
    TU_OK(glow_model_sample(m, BATCH, 1.0f, r0, b));
    tu_assert_finite("sample", a, BATCH * d);
    tu_assert_close("same rng, same sample", a, b, BATCH * d, 0.0);
    TU_OK(glow_model_sample(m, BATCH, 1.0f, r1, b));
    assert_true(tu_max_abs_diff(a, b, BATCH * d) > 0.1);
    /* different samples of one batch differ */
    assert_true(tu_max_abs_diff(a, a + d, d) > 0.1);
    free(a);
    free(b);
    glow_model_destroy(m);
    glow_backend_close(be);
}

static void test_rejects_bad_config(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    glow_model *m = NULL;
    glow_model_config odd = {1, 12, 12, 3, 1, 4, 5, GLOW_PAD_ZERO, 0, 0.0f}; /* 12 is not divisible by 2^3 */
    assert_int_equal(glow_model_create(be, &odd, 1, 1, &m), GLOW_ERR_SHAPE);
    assert_null(m);
    glow_model_config bits = {1, 8, 8, 2, 1, 4, 9, GLOW_PAD_ZERO, 0, 0.0f};
    assert_int_equal(glow_model_create(be, &bits, 1, 1, &m), GLOW_ERR_INVALID_ARG);
    glow_model_config pad = {1, 8, 8, 2, 1, 4, 5, 2, 0, 0.0f}; /* neither GLOW_PAD_ZERO nor GLOW_PAD_EDGE */
    assert_int_equal(glow_model_create(be, &pad, 1, 1, &m), GLOW_ERR_INVALID_ARG);
    glow_model_config ok = {1, 8, 8, 2, 1, 4, 5, GLOW_PAD_ZERO, 0, 0.0f};
    TU_OK(glow_model_create(be, &ok, 1, 2, &m));
    float x[3 * 64] = {0}, z[3 * 64];
    assert_int_equal(glow_model_encode(m, x, 3, z, NULL), GLOW_ERR_INVALID_ARG); /* batch > max_batch */
    glow_model_destroy(m);
    glow_backend_close(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_inverts_encode),
        cmocka_unit_test(test_encode_inverts_decode),
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_rejects_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
