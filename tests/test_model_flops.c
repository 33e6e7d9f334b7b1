/* The FLOP counter of glow/model_flops.h against two independent derivations:
 *  1. a hand count for a tiny configuration, and
 *  2. the parameter table of a real model: a conv weight (Co,k,k,Ci) applied at every pixel of
 *     its level costs P * Co*k*k*Ci = P * (weight count) multiply-adds, and the invertible 1x1
 *     conv of a step costs P * C^2 (C^2 = the count of its `lower` matrix).
 * FLOP counts are integers far below 2^53, so the comparisons are exact. */
#include <stdio.h>
#include <string.h>

#include "glow/model.h"
#include "glow/model_flops.h"
#include "test_util.h"

/* L=2, K=1, F=4, input 1x4x4, batch 1.
 * level 0: 2x2 pixels, C=4, Ca=Cb=2: invconv 4*16=64, conv1 4*4*9*2=288, conv2 4*16=64,
 *          zeroconv 4*4*9*4=576 MACs; split prior 3x3 2->4: 4*4*9*2=288 MACs.
 * level 1: 1x1 pixel, C=8, Ca=Cb=4: invconv 64, conv1 4*9*4=144, conv2 16, zeroconv 8*9*4=288 MACs;
 *          top prior 3x3 8->16: 16*9*8=1152 MACs.
 * flow steps: 992 + 512 = 1504 MACs; forward = 1504 + 288 + 1152 = 2944 MACs = 5888 FLOPs;
 * backward = 2 * (1504 + 288) + 1152 = 4736 MACs = 9472 FLOPs; recompute = 1504 MACs = 3008 FLOPs. */
static void test_hand_count(void **state)
{
    (void)state;
    glow_model_config cfg = {1, 4, 4, 2, 1, 4, 5, GLOW_PAD_ZERO, 0, 0.0f};
    glow_model_flops f;
    TU_OK(glow_model_count_flops(&cfg, 1, &f));
    assert_true(f.forward == 5888.0);
    assert_true(f.backward == 9472.0);
    assert_true(f.step == 5888.0 + 9472.0);
    assert_true(f.reversible_recompute == 3008.0);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_matches_parameter_table(void **state)
{
    (void)state;
    const glow_model_config cfg = {3, 16, 16, 3, 2, 6, 5, GLOW_PAD_ZERO, 0, 0.0f};
    const int batch = 3;
    glow_backend *be = tu_open_cpu();
    glow_model *m = NULL;
    TU_OK(glow_model_create(be, &cfg, 1, 1, &m));
    const glow_param_table *t = glow_model_param_table(m);

    double pixels[16];
    for (int l = 0; l < cfg.levels; l++)
        pixels[l] = (double)batch * (cfg.in_h >> (l + 1)) * (cfg.in_w >> (l + 1));

    double step_macs = 0.0, prior_macs = 0.0, top_macs = 0.0;
    for (int i = 0; i < t->count; i++) {
        const glow_param_entry *e = &t->entries[i];
        const double count = (double)e->n * e->h * e->w * e->c;
        int l = cfg.levels - 1;
        if (strncmp(e->name, "top_prior.", 10) != 0)
            assert_int_equal(sscanf(e->name, "l%d.", &l), 1);
        if (ends_with(e->name, ".invconv.lower") || (strstr(e->name, ".coupling.") && ends_with(e->name, ".w")))
            step_macs += pixels[l] * count;
        else if (strncmp(e->name, "top_prior.", 10) == 0 && ends_with(e->name, ".w"))
            top_macs += pixels[l] * count;
        else if (strstr(e->name, ".prior.") && ends_with(e->name, ".w"))
            prior_macs += pixels[l] * count;
    }
    glow_model_flops f;
    TU_OK(glow_model_count_flops(&cfg, batch, &f));
    assert_true(f.forward == 2.0 * (step_macs + prior_macs + top_macs));
    assert_true(f.backward == 2.0 * (2.0 * (step_macs + prior_macs) + top_macs));
    assert_true(f.reversible_recompute == 2.0 * step_macs);
    glow_model_destroy(m);
    glow_backend_close(be);
}

static void test_refuses_bad_configuration(void **state)
{
    (void)state;
    glow_model_flops f;
    glow_model_config odd = {1, 12, 12, 3, 1, 4, 5, GLOW_PAD_ZERO, 0, 0.0f}; /* 12 is not divisible by 2^3 */
    assert_int_equal(glow_model_count_flops(&odd, 1, &f), GLOW_ERR_SHAPE);
    glow_model_config ok = {1, 8, 8, 3, 1, 4, 5, GLOW_PAD_ZERO, 0, 0.0f};
    assert_int_equal(glow_model_count_flops(&ok, 0, &f), GLOW_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_count),
        cmocka_unit_test(test_matches_parameter_table),
        cmocka_unit_test(test_refuses_bad_configuration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
