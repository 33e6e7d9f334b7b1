/* glow_model_memory_need against what the reference backend actually holds:
 * a model is created on a fresh `ref` backend and trained for one step in each
 * memory mode; the backend's peak byte counter must equal the plan up to the
 * backend's own rounding (each buffer rounded to 64 bytes instead of 16), and
 * the store plan must exceed the reversible one by the stored activations. */
#include <stdlib.h>

#include "glow/model.h"
#include "test_util.h"

static size_t trained_peak(const glow_model_config *cfg, int batch, glow_memory_mode mode)
{
    glow_backend *be = tu_open_cpu();
    glow_model *m = NULL;
    TU_OK(glow_model_create(be, cfg, 1, batch, &m));
    const size_t d = (size_t)cfg->in_c * cfg->in_h * cfg->in_w;
    uint8_t *pixels = malloc((size_t)batch * d);
    assert_non_null(pixels);
    for (size_t i = 0; i < (size_t)batch * d; i++)
        pixels[i] = (uint8_t)(i * 37u);
    glow_train_options opt = {{GLOW_OPT_ADAM, 1e-3f, 0.9f, 0.999f, 1e-8f, 1, 0.0f}, mode};
    float bpd;
    TU_OK(glow_model_train_step(m, pixels, batch, (glow_rng){1, GLOW_STREAM_DEQUANT, 1, 0}, &opt, &bpd));
    size_t current = 0, peak = 0;
    be->ops->memory_usage(be, &current, &peak);
    free(pixels);
    glow_model_destroy(m);
    glow_backend_close(be);
    return peak;
}

static void check_mode(glow_memory_mode mode)
{
    const glow_model_config cfg = {1, 16, 16, 2, 3, 24, 5, GLOW_PAD_ZERO, 0, 0.0f};
    const int batch = 5;
    glow_model_memory need;
    TU_OK(glow_model_memory_need(&cfg, batch, mode, &need));
    assert_true(need.arenas > 0 && need.fixed > 0 && need.workspace > 0);
    assert_int_equal(need.total, need.arenas + need.fixed + need.workspace);
    const size_t peak = trained_peak(&cfg, batch, mode);
    /* At most ~40 buffers, each rounded up by at most 48 more bytes on ref than in the plan. */
    print_message("mode %d: planned %zu bytes, ref peak %zu bytes\n", (int)mode, need.total, peak);
    assert_true(peak >= need.total);
    assert_true(peak - need.total <= 40 * 48);
}

static void test_store_plan_matches_ref_peak(void **state)
{
    (void)state;
    check_mode(GLOW_MEMORY_STORE);
}

static void test_reversible_plan_matches_ref_peak(void **state)
{
    (void)state;
    check_mode(GLOW_MEMORY_REVERSIBLE);
}

/* Store keeps every step's activations: its workspace grows with K, reversible's does not. */
static void test_workspace_scales_with_steps(void **state)
{
    (void)state;
    glow_model_config k2 = {3, 32, 32, 3, 2, 64, 5, GLOW_PAD_ZERO, 0, 0.0f}, k8 = k2;
    k8.steps = 8;
    glow_model_memory s2, s8, r2, r8;
    TU_OK(glow_model_memory_need(&k2, 16, GLOW_MEMORY_STORE, &s2));
    TU_OK(glow_model_memory_need(&k8, 16, GLOW_MEMORY_STORE, &s8));
    TU_OK(glow_model_memory_need(&k2, 16, GLOW_MEMORY_REVERSIBLE, &r2));
    TU_OK(glow_model_memory_need(&k8, 16, GLOW_MEMORY_REVERSIBLE, &r8));
    assert_true(s8.workspace > 3 * s2.workspace);
    assert_int_equal(r8.workspace, r2.workspace);
    assert_int_equal(s2.fixed, r2.fixed);
}

static void test_refuses_bad_configuration(void **state)
{
    (void)state;
    glow_model_memory need;
    glow_model_config odd = {1, 12, 12, 3, 1, 4, 5, GLOW_PAD_ZERO, 0, 0.0f}; /* 12 is not divisible by 2^3 */
    assert_int_equal(glow_model_memory_need(&odd, 1, GLOW_MEMORY_STORE, &need), GLOW_ERR_SHAPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_plan_matches_ref_peak),
        cmocka_unit_test(test_reversible_plan_matches_ref_peak),
        cmocka_unit_test(test_workspace_scales_with_steps),
        cmocka_unit_test(test_refuses_bad_configuration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
