/* Optimiser over a flat arena (glow/backend.h, optimizer_step and sum_squares) on the
 * CPU reference, against the formulas evaluated in double:
 *   clip = min(1, max_grad_norm / (sqrt(sumsq) + 1e-6)) (1 without clipping), g' = g clip
 *   m = b1 m + (1-b1) g'
 *   Adam:   v = b2 v + (1-b2) g'^2;  p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 *   Adamax: v = max(b2 v, |g'|);     p -= lr / (1-b1^t) * m / (v + eps)
 * and the guard: a sumsq that is given and not finite leaves params, m and v unchanged. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { K = 3 };

/* The step in double, with the hyper-parameters as the floats the backend receives. */
static void reference_step(double *p, double *m, double *v, const float *g, const glow_adam_params *hp, double clip)
{
    double b1 = hp->beta1, b2 = hp->beta2, lr = hp->lr, eps = hp->eps;
    double bc1 = 1.0 - pow(b1, hp->step), bc2 = 1.0 - pow(b2, hp->step);
    for (int i = 0; i < K; i++) {
        double gc = (double)g[i] * clip;
        m[i] = b1 * m[i] + (1.0 - b1) * gc;
        if (hp->kind == GLOW_OPT_ADAM) {
            v[i] = b2 * v[i] + (1.0 - b2) * gc * gc;
            p[i] -= lr * (m[i] / bc1) / (sqrt(v[i] / bc2) + eps);
        } else {
            v[i] = fmax(b2 * v[i], fabs(gc));
            p[i] -= lr / bc1 * m[i] / (v[i] + eps);
        }
    }
}

/* |got - want| <= 1e-6 |want|: float state carries 6e-8 relative rounding per operation,
 * and a step touches each value through about ten of them. */
static void assert_rel(const char *what, const float *got, const double *want)
{
    for (int i = 0; i < K; i++)
        if (!(fabs((double)got[i] - want[i]) <= 1e-6 * fabs(want[i])))
            fail_msg("%s[%d] = %.9g, expected %.9g", what, i, (double)got[i], want[i]);
}

typedef struct {
    glow_tensor p, g, m, v;
} arena;

static arena arena_make(glow_backend *be, const float *p0)
{
    arena a = {tu_tensor(be, 1, 1, 1, K, p0), tu_tensor(be, 1, 1, 1, K, NULL), tu_tensor(be, 1, 1, 1, K, NULL),
               tu_tensor(be, 1, 1, 1, K, NULL)};
    return a;
}

static void arena_free(arena a)
{
    tu_tensor_free(a.p);
    tu_tensor_free(a.g);
    tu_tensor_free(a.m);
    tu_tensor_free(a.v);
}

static void arena_check(const char *when, arena a, const double *p, const double *m, const double *v)
{
    float *gp = tu_download(a.p), *gm = tu_download(a.m), *gv = tu_download(a.v);
    char what[64];
    snprintf(what, sizeof what, "%s params", when);
    assert_rel(what, gp, p);
    snprintf(what, sizeof what, "%s m", when);
    assert_rel(what, gm, m);
    snprintf(what, sizeof what, "%s v", when);
    assert_rel(what, gv, v);
    free(gp);
    free(gm);
    free(gv);
}

static const float p0[K] = {1.0f, -2.0f, 0.5f};
static const float g1[K] = {0.1f, -0.2f, 0.3f};
static const float g2[K] = {-0.5f, 0.25f, 1e-3f};

/* Two steps from m = v = 0. Step 1 by hand: m/(1-b1) = g and (Adam) sqrt(v/(1-b2)) = |g|,
 * (Adamax) v = |g|, so both move each parameter by lr * sign(g) (eps changes it by
 * lr * eps / |g| = 1e-9): p = (0.99, -1.99, 0.49) with lr = 0.01. Step 2 follows the
 * formula in double. */
static void check_two_steps(glow_backend *be, glow_optimizer kind)
{
    glow_adam_params hp = {kind, 0.01f, 0.9f, 0.999f, 1e-8f, 1, 0.0f};
    arena a = arena_make(be, p0);
    double p[K], m[K] = {0, 0, 0}, v[K] = {0, 0, 0};
    for (int i = 0; i < K; i++)
        p[i] = p0[i];

    TU_OK(glow_tensor_upload(a.g, g1));
    TU_OK(glow_optimizer_step(be, a.p, a.g, a.m, a.v, &hp, glow_tensor_none()));
    const double p_hand[K] = {0.99, -1.99, 0.49};
    float *got = tu_download(a.p);
    assert_rel("step 1 params (by hand)", got, p_hand);
    free(got);
    reference_step(p, m, v, g1, &hp, 1.0);
    arena_check("step 1", a, p, m, v);

    hp.step = 2;
    TU_OK(glow_tensor_upload(a.g, g2));
    TU_OK(glow_optimizer_step(be, a.p, a.g, a.m, a.v, &hp, glow_tensor_none()));
    reference_step(p, m, v, g2, &hp, 1.0);
    arena_check("step 2", a, p, m, v);
    arena_free(a);
}

static void test_adam_two_steps(void **state)
{
    check_two_steps(*state, GLOW_OPT_ADAM);
}

static void test_adamax_two_steps(void **state)
{
    check_two_steps(*state, GLOW_OPT_ADAMAX);
}

/* g = (0.3, -0.4, 1.2) has norm sqrt(0.09 + 0.16 + 1.44) = 1.3. max_grad_norm 0.65 scales
 * it by clip = 0.65 / (1.3 + 1e-6) (about 1/2); max_grad_norm 5 leaves it alone (clip = 1).
 * sumsq comes from sum_squares as in training. */
static void check_clipping(glow_backend *be, float max_grad_norm, double clip)
{
    static const float g[K] = {0.3f, -0.4f, 1.2f};
    glow_adam_params hp = {GLOW_OPT_ADAM, 0.01f, 0.9f, 0.999f, 1e-8f, 1, max_grad_norm};
    arena a = arena_make(be, p0);
    glow_tensor sumsq = tu_tensor(be, 1, 1, 1, 1, NULL);
    TU_OK(glow_tensor_upload(a.g, g));
    TU_OK(glow_sum_squares(be, a.g, sumsq));
    TU_OK(glow_optimizer_step(be, a.p, a.g, a.m, a.v, &hp, sumsq));
    double p[K], m[K] = {0, 0, 0}, v[K] = {0, 0, 0};
    for (int i = 0; i < K; i++)
        p[i] = p0[i];
    reference_step(p, m, v, g, &hp, clip);
    /* m = 0.1 g clip and v = 0.001 (g clip)^2 show the scale (Adam's first step itself is
     * lr * sign(g) whatever the scale). */
    arena_check(clip < 1.0 ? "clipped" : "unclipped", a, p, m, v);
    tu_tensor_free(sumsq);
    arena_free(a);
}

static void test_clipping_scales_gradient(void **state)
{
    check_clipping(*state, 0.65f, (double)0.65f / (sqrt((double)0.3f * 0.3f + (double)0.4f * 0.4f +
                                                        (double)1.2f * 1.2f) + 1e-6));
}

static void test_clipping_below_threshold_keeps_gradient(void **state)
{
    check_clipping(*state, 5.0f, 1.0);
}

/* ---- non-finite guard: a given sumsq that is NaN or +-Inf leaves params, m and v unchanged --- */

/* One Adam step from m = v = 0 with g1 (state A), then a second step whose sumsq holds `bad`:
 * params, m and v must still be bit-identical to state A (nothing is written, so the
 * comparison is exact). The gradient of the second step is the finite g2, so only the
 * guard can have stopped it. Both with and without clipping. */
static void check_guard_skips(glow_backend *be, glow_optimizer kind, float max_grad_norm, float bad)
{
    glow_adam_params hp = {kind, 0.01f, 0.9f, 0.999f, 1e-8f, 1, max_grad_norm};
    arena a = arena_make(be, p0);
    glow_tensor sumsq = tu_tensor(be, 1, 1, 1, 1, NULL);
    TU_OK(glow_tensor_upload(a.g, g1));
    TU_OK(glow_sum_squares(be, a.g, sumsq));
    TU_OK(glow_optimizer_step(be, a.p, a.g, a.m, a.v, &hp, sumsq));
    float *p_a = tu_download(a.p), *m_a = tu_download(a.m), *v_a = tu_download(a.v);

    hp.step = 2;
    TU_OK(glow_tensor_upload(a.g, g2));
    TU_OK(glow_tensor_upload(sumsq, &bad));
    TU_OK(glow_optimizer_step(be, a.p, a.g, a.m, a.v, &hp, sumsq));
    float *p_b = tu_download(a.p), *m_b = tu_download(a.m), *v_b = tu_download(a.v);
    tu_assert_close("params after a guarded step", p_b, p_a, K, 0.0);
    tu_assert_close("m after a guarded step", m_b, m_a, K, 0.0);
    tu_assert_close("v after a guarded step", v_b, v_a, K, 0.0);
    free(p_a);
    free(m_a);
    free(v_a);
    free(p_b);
    free(m_b);
    free(v_b);
    tu_tensor_free(sumsq);
    arena_free(a);
}

static void test_guard_nan_sumsq_skips_step(void **state)
{
    check_guard_skips(*state, GLOW_OPT_ADAM, 0.0f, NAN);
    check_guard_skips(*state, GLOW_OPT_ADAMAX, 0.0f, NAN);
    check_guard_skips(*state, GLOW_OPT_ADAM, 1.0f, NAN);
}

static void test_guard_inf_sumsq_skips_step(void **state)
{
    check_guard_skips(*state, GLOW_OPT_ADAM, 0.0f, INFINITY);
    check_guard_skips(*state, GLOW_OPT_ADAM, 1.0f, -INFINITY);
    check_guard_skips(*state, GLOW_OPT_ADAMAX, 1.0f, INFINITY);
}

/* A gradient with one NaN: sum_squares gives NaN, and the step it guards writes nothing,
 * not even to the elements whose gradient is finite. */
static void test_guard_nan_gradient_end_to_end(void **state)
{
    glow_backend *be = *state;
    const float g_bad[K] = {0.1f, NAN, 0.3f};
    glow_adam_params hp = {GLOW_OPT_ADAM, 0.01f, 0.9f, 0.999f, 1e-8f, 1, 0.0f};
    arena a = arena_make(be, p0);
    glow_tensor sumsq = tu_tensor(be, 1, 1, 1, 1, NULL);
    TU_OK(glow_tensor_upload(a.g, g_bad));
    TU_OK(glow_sum_squares(be, a.g, sumsq));
    TU_OK(glow_optimizer_step(be, a.p, a.g, a.m, a.v, &hp, sumsq));
    float *gp = tu_download(a.p), *gm = tu_download(a.m), *gv = tu_download(a.v);
    for (int i = 0; i < K; i++)
        if (gp[i] != p0[i] || gm[i] != 0.0f || gv[i] != 0.0f)
            fail_msg("element %d written by a step with a NaN gradient: p %g m %g v %g", i, (double)gp[i],
                     (double)gm[i], (double)gv[i]);
    free(gp);
    free(gm);
    free(gv);
    tu_tensor_free(sumsq);
    arena_free(a);
}

/* A finite sumsq without clipping only guards: the step equals the unguarded formula
 * (1e-6 relative as in the other cases; here the update is in fact the same code path). */
static void test_guard_finite_sumsq_changes_nothing(void **state)
{
    glow_backend *be = *state;
    glow_adam_params hp = {GLOW_OPT_ADAM, 0.01f, 0.9f, 0.999f, 1e-8f, 3, 0.0f};
    arena a = arena_make(be, p0);
    const float huge = 1e30f; /* would clip hard if it were read as a norm */
    glow_tensor sumsq = tu_tensor(be, 1, 1, 1, 1, &huge);
    TU_OK(glow_tensor_upload(a.g, g2));
    TU_OK(glow_optimizer_step(be, a.p, a.g, a.m, a.v, &hp, sumsq));
    double p[K], m[K] = {0, 0, 0}, v[K] = {0, 0, 0};
    for (int i = 0; i < K; i++)
        p[i] = p0[i];
    reference_step(p, m, v, g2, &hp, 1.0);
    arena_check("guarded, finite sumsq", a, p, m, v);
    tu_tensor_free(sumsq);
    arena_free(a);
}

/* ---- sum_squares -------------------------------------------------------------------------- */

/* 1^2 + ... + 7^2 = 140, exact in float; out starts at 99 to show that it is overwritten. */
static void test_sum_squares_hand_example(void **state)
{
    glow_backend *be = *state;
    const float g[7] = {1, 2, 3, 4, 5, 6, 7};
    const float start = 99.0f;
    glow_tensor tg = tu_tensor(be, 1, 1, 1, 7, g), out = tu_tensor(be, 1, 1, 1, 1, &start);
    TU_OK(glow_sum_squares(be, tg, out));
    float got;
    TU_OK(glow_tensor_download(out, &got));
    assert_true(got == 140.0f);
    tu_tensor_free(tg);
    tu_tensor_free(out);
}

/* 12345 values (odd) at element offset 3 of a buffer whose other floats are 1e6: only the
 * tensor's own elements count. Against a double sum, 1e-5 relative: a careful fp32 reduction
 * (pairwise) is within log2(n) * 6e-8 = 1e-6; the result itself rounds to 6e-8. */
static void test_sum_squares_odd_count(void **state)
{
    glow_backend *be = *state;
    enum { N = 12345, OFF = 3, TOTAL = N + 8 };
    float *all = tu_random(TOTAL, 121, -2.0f, 2.0f);
    for (int i = 0; i < TOTAL; i++)
        if (i < OFF || i >= OFF + N)
            all[i] = 1e6f;
    glow_buffer *buf = NULL;
    TU_OK(glow_buffer_create(be, TOTAL * sizeof(float), &buf));
    TU_OK(glow_upload(buf, 0, all, TOTAL * sizeof(float)));
    glow_tensor g = glow_tensor_make(buf, OFF, 1, 1, 1, N), out = tu_tensor(be, 1, 1, 1, 1, NULL);
    TU_OK(glow_sum_squares(be, g, out));
    float got;
    TU_OK(glow_tensor_download(out, &got));
    double want = 0.0;
    for (int i = OFF; i < OFF + N; i++)
        want += (double)all[i] * all[i];
    if (!(fabs((double)got - want) <= 1e-5 * want))
        fail_msg("sum_squares = %.9g, double sum %.9g", (double)got, want);
    free(all);
    glow_buffer_destroy(buf);
    tu_tensor_free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adam_two_steps),
        cmocka_unit_test(test_adamax_two_steps),
        cmocka_unit_test(test_clipping_scales_gradient),
        cmocka_unit_test(test_clipping_below_threshold_keeps_gradient),
        cmocka_unit_test(test_guard_nan_sumsq_skips_step),
        cmocka_unit_test(test_guard_inf_sumsq_skips_step),
        cmocka_unit_test(test_guard_nan_gradient_end_to_end),
        cmocka_unit_test(test_guard_finite_sumsq_changes_nothing),
        cmocka_unit_test(test_sum_squares_hand_example),
        cmocka_unit_test(test_sum_squares_odd_count),
    };
    return cmocka_run_group_tests_name("optim", tests, tu_setup_cpu, tu_teardown_backend);
}
