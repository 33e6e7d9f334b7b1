/* The Vulkan cooperative-matrix GEMM (precision tf32: fp16 x fp16 products summed in fp32,
 * backends/vulkan/shaders/conv/gemm_coopmat.glsl) against the fp32 reference, op by op,
 * with an error bound per element derived from the arithmetic, not tuned:
 *
 *   |y_tf32 - y_ref| <= c_rel * S + c_abs,   S = the same GEMM on |A| and |B| (ref backend)
 *   c_rel = 2^-10 * 1.01        both operands rounded to fp16: (1 + 2^-11)^2 - 1 < 1.01 * 2^-10
 *         + 2 * K * 2^-24 * 1.01   fp32 summation of K terms, on the device and in the reference
 *         + 2^-22                  the epilogue (bias add) and the final rounding
 *   c_abs = K * 2^-25 * (max|A| + max|B|) * 1.01   fp16 subnormals (absolute step 2^-24)
 *
 * A wrong tile index, a transposed load or a lost K slice moves whole products and exceeds
 * the bound by orders of magnitude; the worst ratio error / bound is printed.
 *
 * Runs wherever a Vulkan device has a usable cooperative-matrix shape. Elsewhere (lavapipe,
 * CI) it reports why and exits 77 (meson: SKIP) also under GLOW_TEST_STRICT=1: "no such
 * device" is the expected answer on CI, and the selection logic itself is tested without a
 * device by test_vk_coopmat_select. GLOW_TEST_REQUIRE naming "vulkan-coopmat" (a GPU
 * machine: tools/gpu-check.sh) turns that skip into a failure. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "glow/ops.h"
#include "glow/vulkan.h"
#include "test_util.h"

static glow_backend *g_ref, *g_vk;

static float *host_uniform(size_t n, uint32_t seed, float lo, float hi)
{
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    tu_fill_uniform(x, n, seed, lo, hi);
    return x;
}

static float *host_abs(const float *x, size_t n)
{
    float *a = malloc(n * sizeof *a);
    assert_non_null(a);
    for (size_t i = 0; i < n; i++)
        a[i] = fabsf(x[i]);
    return a;
}

static float max_abs(const float *x, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmaxf(m, fabsf(x[i]));
    return m;
}

/* Checks got against want within the bound; prints the worst ratio and relative error. */
static void check_bound(const char *what, const float *got, const float *want, const float *s, size_t n, double k,
                        double max_a, double max_b)
{
    double c_rel = ldexp(1.0, -10) * 1.01 + 2.0 * k * ldexp(1.0, -24) * 1.01 + ldexp(1.0, -22);
    double c_abs = k * ldexp(1.0, -25) * (max_a + max_b) * 1.01;
    double worst = 0, worst_rel = 0;
    size_t bad = 0, first_bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i]))
            fail_msg("%s: element %zu is %g", what, i, (double)got[i]);
        double err = fabs((double)got[i] - (double)want[i]);
        double bound = c_rel * s[i] + c_abs;
        if (err / bound > worst)
            worst = err / bound;
        if (s[i] > 0 && err / s[i] > worst_rel)
            worst_rel = err / s[i];
        if (err > bound && bad++ == 0)
            first_bad = i;
    }
    printf("[ coopmat  ] %-34s K=%-6.0f worst error/bound %.3f, worst |error|/sum|a||b| %.3g\n", what, k, worst,
           worst_rel);
    if (bad)
        fail_msg("%s: %zu of %zu elements beyond the bound; first [%zu] got %.8g want %.8g bound %.3g", what, bad, n,
                 first_bad, (double)got[first_bad], (double)want[first_bad], c_rel * s[first_bad] + c_abs);
}

static glow_tensor on(glow_backend *be, int n, int h, int w, int c, const float *host)
{
    return tu_tensor(be, n, h, w, c, host);
}

/* conv2d_forward with bias (and ReLU), x (n,h,w,ci) * w (co,k,k,ci), data scaled by `scale`. */
static void forward_case(int n, int h, int w, int ci, int co, int k, int relu, float scale, uint32_t seed)
{
    size_t nx = (size_t)n * h * w * ci, nw = (size_t)co * k * k * ci, ny = (size_t)n * h * w * co;
    float *x = host_uniform(nx, seed, -scale, scale), *wt = host_uniform(nw, seed + 1, -0.3f, 0.3f);
    float *b = host_uniform((size_t)co, seed + 2, -0.5f, 0.5f);
    float *ax = host_abs(x, nx), *aw = host_abs(wt, nw);
    glow_tensor no_bias = {0};

    glow_tensor vx = on(g_vk, n, h, w, ci, x), vw = on(g_vk, co, k, k, ci, wt), vb = on(g_vk, 1, 1, 1, co, b);
    glow_tensor vy = on(g_vk, n, h, w, co, NULL);
    TU_OK(glow_conv2d_forward(g_vk, vx, vw, vb, vy, relu));
    glow_tensor rx = on(g_ref, n, h, w, ci, x), rw = on(g_ref, co, k, k, ci, wt), rb = on(g_ref, 1, 1, 1, co, b);
    glow_tensor ry = on(g_ref, n, h, w, co, NULL);
    TU_OK(glow_conv2d_forward(g_ref, rx, rw, rb, ry, relu));
    glow_tensor sx = on(g_ref, n, h, w, ci, ax), sw = on(g_ref, co, k, k, ci, aw), sy = on(g_ref, n, h, w, co, NULL);
    TU_OK(glow_conv2d_forward(g_ref, sx, sw, no_bias, sy, 0));
    float *got = tu_download(vy), *want = tu_download(ry), *s = tu_download(sy);
    char what[96];
    snprintf(what, sizeof what, "forward %dx%d %d->%d P=%d%s", k, k, ci, co, n * h * w, relu ? " relu" : "");
    check_bound(what, got, want, s, ny, (double)k * k * ci, max_abs(x, nx), max_abs(wt, nw));
    free(got), free(want), free(s), free(x), free(wt), free(b), free(ax), free(aw);
    glow_tensor all[] = {vx, vw, vb, vy, rx, rw, rb, ry, sx, sw, sy};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        tu_tensor_free(all[i]);
}

/* conv2d_backward_data: dx += dy (n,h,w,co) through w (co,k,k,ci); dy scaled by `scale`. */
static void backward_data_case(int n, int h, int w, int ci, int co, int k, float scale, uint32_t seed)
{
    size_t ndy = (size_t)n * h * w * co, nw = (size_t)co * k * k * ci, ndx = (size_t)n * h * w * ci;
    float *dy = host_uniform(ndy, seed, -scale, scale), *wt = host_uniform(nw, seed + 1, -0.3f, 0.3f);
    float *ady = host_abs(dy, ndy), *aw = host_abs(wt, nw);
    glow_tensor vdy = on(g_vk, n, h, w, co, dy), vw = on(g_vk, co, k, k, ci, wt), vdx = on(g_vk, n, h, w, ci, NULL);
    TU_OK(glow_conv2d_backward_data(g_vk, vdy, vw, vdx));
    glow_tensor rdy = on(g_ref, n, h, w, co, dy), rw = on(g_ref, co, k, k, ci, wt), rdx = on(g_ref, n, h, w, ci, NULL);
    TU_OK(glow_conv2d_backward_data(g_ref, rdy, rw, rdx));
    glow_tensor sdy = on(g_ref, n, h, w, co, ady), sw = on(g_ref, co, k, k, ci, aw), sdx = on(g_ref, n, h, w, ci, NULL);
    TU_OK(glow_conv2d_backward_data(g_ref, sdy, sw, sdx));
    float *got = tu_download(vdx), *want = tu_download(rdx), *s = tu_download(sdx);
    char what[96];
    snprintf(what, sizeof what, "backward_data %dx%d %d->%d P=%d dy~%g", k, k, ci, co, n * h * w, (double)scale);
    check_bound(what, got, want, s, ndx, (double)k * k * co, max_abs(dy, ndy), max_abs(wt, nw));
    free(got), free(want), free(s), free(dy), free(wt), free(ady), free(aw);
    glow_tensor all[] = {vdy, vw, vdx, rdy, rw, rdx, sdy, sw, sdx};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        tu_tensor_free(all[i]);
}

/* conv2d_backward_weight: dw += sum_p dy x, dbias += sum_p dy; dy scaled by `scale`. */
static void backward_weight_case(int n, int h, int w, int ci, int co, int k, float scale, uint32_t seed)
{
    size_t nx = (size_t)n * h * w * ci, ndy = (size_t)n * h * w * co, nw = (size_t)co * k * k * ci;
    float *x = host_uniform(nx, seed, -2.0f, 2.0f), *dy = host_uniform(ndy, seed + 1, -scale, scale);
    float *ax = host_abs(x, nx), *ady = host_abs(dy, ndy);
    glow_tensor t[3][4]; /* [vk, ref, ref on |.|][x, dy, dw, dbias] */
    glow_backend *bes[3] = {g_vk, g_ref, g_ref};
    const float *xs[3] = {x, x, ax}, *dys[3] = {dy, dy, ady};
    for (int i = 0; i < 3; i++) {
        t[i][0] = on(bes[i], n, h, w, ci, xs[i]);
        t[i][1] = on(bes[i], n, h, w, co, dys[i]);
        t[i][2] = on(bes[i], co, k, k, ci, NULL);
        t[i][3] = on(bes[i], 1, 1, 1, co, NULL);
        TU_OK(glow_conv2d_backward_weight(bes[i], t[i][0], t[i][1], t[i][2], t[i][3]));
    }
    char what[96];
    for (int part = 2; part <= 3; part++) {
        float *got = tu_download(t[0][part]), *want = tu_download(t[1][part]), *s = tu_download(t[2][part]);
        snprintf(what, sizeof what, "backward_weight %s %dx%d %d->%d dy~%g", part == 2 ? "dw" : "dbias", k, k, ci, co,
                 (double)scale);
        check_bound(what, got, want, s, part == 2 ? nw : (size_t)co, (double)n * h * w, max_abs(dy, ndy),
                    part == 2 ? max_abs(x, nx) : 1.0);
        free(got), free(want), free(s);
    }
    free(x), free(dy), free(ax), free(ady);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            tu_tensor_free(t[i][j]);
}

static void test_forward(void **state)
{
    (void)state;
    forward_case(2, 9, 11, 13, 37, 3, 0, 1.0f, 11);   /* odd sizes: partial tiles everywhere */
    forward_case(2, 16, 16, 24, 48, 3, 1, 2.0f, 12);  /* bias + ReLU, narrow side 64 */
    forward_case(4, 16, 16, 96, 192, 1, 0, 1.0f, 13); /* 1x1 (the invertible conv's shape) */
    forward_case(2, 8, 8, 64, 512, 3, 1, 1.0f, 14);   /* the hidden conv: K = 576, N = 512 */
}

static void test_backward_data(void **state)
{
    (void)state;
    backward_data_case(2, 9, 11, 13, 37, 3, 1.0f, 21);
    backward_data_case(2, 16, 16, 48, 24, 3, 1e-3f, 22); /* gradient-sized dy: fp16 normal range */
    backward_data_case(4, 16, 16, 192, 96, 1, 1.0f, 23);
}

static void test_backward_weight(void **state)
{
    (void)state;
    backward_weight_case(2, 9, 11, 13, 37, 3, 1.0f, 31);
    backward_weight_case(8, 32, 32, 24, 48, 3, 1e-3f, 32); /* P = 8192: split-K partials */
    backward_weight_case(4, 16, 16, 96, 192, 1, 1.0f, 33);
}

static void test_no_validation_messages(void **state)
{
    (void)state;
    TU_OK(glow_sync(g_vk));
    assert_int_equal(glow_vulkan_validation_errors(g_vk), 0);
}

int main(void)
{
    glow_set_precision(GLOW_PRECISION_TF32);
    glow_status st = glow_backend_open("vulkan", -1, &g_vk);
    const char *why = NULL;
    if (st != GLOW_OK)
        why = glow_last_error();
    else if (strcmp(glow_vulkan_gemm_variant(g_vk), "coopmat") != 0)
        why = glow_vulkan_gemm_description(g_vk);
    if (why != NULL) {
        printf("[ skipped  ] no Vulkan device with usable cooperative matrices: %s\n", why);
        int required = tu_name_in_list(getenv("GLOW_TEST_REQUIRE"), "vulkan-coopmat");
        if (g_vk)
            glow_backend_close(g_vk);
        if (required) {
            fprintf(stderr, "GLOW_TEST_REQUIRE names vulkan-coopmat, which is not available\n");
            return 1;
        }
        return 77; /* allowed under GLOW_TEST_STRICT=1: see the top of this file */
    }
    printf("[ coopmat  ] %s: %s\n", g_vk->info.name, glow_vulkan_gemm_description(g_vk));
    g_ref = tu_open_cpu();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward),
        cmocka_unit_test(test_backward_data),
        cmocka_unit_test(test_backward_weight),
        cmocka_unit_test(test_no_validation_messages),
    };
    int failures = cmocka_run_group_tests(tests, NULL, NULL);
    glow_backend_close(g_vk);
    glow_backend_close(g_ref);
    return failures;
}
