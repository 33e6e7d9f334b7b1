/* The CUDA backend's TF32 GEMMs (--precision tf32) against the fp32 reference.
 * Needs a CUDA device: without one (this machine, CI) the suite prints why and
 * exits 77 (meson: SKIP), which GLOW_TEST_STRICT=1 allows; GLOW_TEST_REQUIRE=cuda
 * (tools/gpu-check.sh) makes a missing device a failure.
 *
 * For the three convolutions (forward, backward data, backward weight), k = 1
 * and 3, at shapes with and without partial 64-tiles and 8-column mma tiles:
 *   - the backend opened with tf32 reports what it uses (glow_device_info.precision):
 *     "tf32 (tensor cores)" on compute capability >= 8.0, else "fp32 (tf32 asked; ...)";
 *   - on a TF32 device, every element obeys the rounding bound of TF32 products
 *     accumulated in fp32:
 *         |got - ref| <= (2^-10 + K 2^-23) * S,   S = sum_k |a_k| |b_k|
 *     (each operand rounded to 10 mantissa bits: |a~ - a| <= 2^-11 |a|, so a
 *     product is off by at most ~2^-10 |a b|; K fp32 additions by K 2^-24 each,
 *     doubled for slack), with S computed by the reference on |x|, |w|, |dy|;
 *     and the result differs from the fp32 kernel's somewhere (the tensor-core
 *     path really ran);
 *   - on any other device, tf32 asked gives exactly the fp32 kernel's result. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    glow_backend *ref, *fp32, *tf32;
} backends;

static glow_backend *open_with(const char *name, glow_precision p)
{
    glow_set_precision(p);
    glow_backend *be = NULL;
    glow_status st = glow_backend_open(name, -1, &be);
    glow_set_precision(GLOW_PRECISION_FP32);
    return st == GLOW_OK ? be : NULL;
}

static void absolute(float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = fabsf(v[i]);
}

/* Runs `which` (0 forward, 1 backward data, 2 backward weight) on `be`; returns the output. */
static float *run_conv(glow_backend *be, int which, int N, int H, int W, int Ci, int Co, int k, const float *x,
                       const float *w, const float *dy)
{
    glow_tensor tw = tu_tensor(be, Co, k, k, Ci, w);
    glow_tensor none = {0};
    float *out = NULL;
    if (which == 0) {
        glow_tensor tx = tu_tensor(be, N, H, W, Ci, x), ty = tu_tensor(be, N, H, W, Co, NULL);
        TU_OK(glow_conv2d_forward(be, tx, tw, none, ty, 0));
        out = tu_download(ty);
        tu_tensor_free(tx);
        tu_tensor_free(ty);
    } else if (which == 1) {
        glow_tensor tdy = tu_tensor(be, N, H, W, Co, dy), tdx = tu_tensor(be, N, H, W, Ci, NULL);
        TU_OK(glow_conv2d_backward_data(be, tdy, tw, tdx));
        out = tu_download(tdx);
        tu_tensor_free(tdy);
        tu_tensor_free(tdx);
    } else {
        glow_tensor tx = tu_tensor(be, N, H, W, Ci, x), tdy = tu_tensor(be, N, H, W, Co, dy);
        glow_tensor tdw = tu_tensor(be, Co, k, k, Ci, NULL);
        TU_OK(glow_conv2d_backward_weight(be, tx, tdy, tdw, none));
        out = tu_download(tdw);
        tu_tensor_free(tx);
        tu_tensor_free(tdy);
        tu_tensor_free(tdw);
    }
    tu_tensor_free(tw);
    return out;
}

static void check_shape(const backends *b, int N, int H, int W, int Ci, int Co, int k)
{
    static const char *const names[3] = {"forward", "backward_data", "backward_weight"};
    const size_t nx = (size_t)N * H * W * Ci, ny = (size_t)N * H * W * Co, nw = (size_t)Co * k * k * Ci;
    float *x = tu_random(nx, 11, -1.0f, 1.0f), *w = tu_random(nw, 12, -1.0f, 1.0f), *dy = tu_random(ny, 13, -1.0f, 1.0f);
    float *ax = malloc(nx * sizeof *ax), *aw = malloc(nw * sizeof *aw), *ady = malloc(ny * sizeof *ady);
    assert_non_null(ax);
    assert_non_null(aw);
    assert_non_null(ady);
    memcpy(ax, x, nx * sizeof *x);
    memcpy(aw, w, nw * sizeof *w);
    memcpy(ady, dy, ny * sizeof *dy);
    absolute(ax, nx);
    absolute(aw, nw);
    absolute(ady, ny);
    const int tensor_cores = strncmp(b->tf32->info.precision, "tf32", 4) == 0;
    for (int which = 0; which < 3; which++) {
        const size_t n = which == 0 ? ny : which == 1 ? nx : nw;
        const double K = which == 0 ? (double)k * k * Ci : which == 1 ? (double)k * k * Co : (double)N * H * W;
        float *ref = run_conv(b->ref, which, N, H, W, Ci, Co, k, x, w, dy);
        float *sum_abs = run_conv(b->ref, which, N, H, W, Ci, Co, k, ax, aw, ady);
        float *f32 = run_conv(b->fp32, which, N, H, W, Ci, Co, k, x, w, dy);
        float *t32 = run_conv(b->tf32, which, N, H, W, Ci, Co, k, x, w, dy);
        double worst = 0.0, worst_ratio = 0.0, differs = 0.0;
        for (size_t i = 0; i < n; i++) {
            double err = fabs((double)t32[i] - ref[i]);
            double bound = (ldexp(1.0, -10) + K * ldexp(1.0, -23)) * sum_abs[i] + 1e-30;
            if (!(err <= bound))
                fail_msg("%s k=%d %dx%dx%dx%d->%d: element %zu: tf32 %.9g, reference %.9g, error %.3g > bound %.3g",
                         names[which], k, N, H, W, Ci, Co, i, t32[i], ref[i], err, bound);
            if (err / bound > worst_ratio)
                worst_ratio = err / bound;
            if (err > worst)
                worst = err;
            differs = fmax(differs, fabs((double)t32[i] - f32[i]));
        }
        print_message("%-16s k=%d N%d %dx%d Ci%d Co%d: worst |tf32 - ref| %.3g (%.1f%% of its bound), "
                      "max |tf32 - fp32| %.3g [%s]\n",
                      names[which], k, N, H, W, Ci, Co, worst, 100.0 * worst_ratio, differs,
                      b->tf32->info.precision);
        if (tensor_cores && !(differs > 0.0))
            fail_msg("%s k=%d: the tf32 backend's result equals the fp32 kernel's bit for bit: the tensor-core path "
                     "did not run", names[which], k);
        if (!tensor_cores && differs != 0.0)
            fail_msg("%s k=%d: no TF32 tensor cores (%s), yet the result differs from fp32 by %g", names[which], k,
                     b->tf32->info.precision, differs);
        free(ref);
        free(sum_abs);
        free(f32);
        free(t32);
    }
    free(x);
    free(w);
    free(dy);
    free(ax);
    free(aw);
    free(ady);
}

static void test_tf32_bound(void **state)
{
    const backends *b = *state;
    print_message("cuda opened with tf32 reports: precision %s\n", b->tf32->info.precision);
    print_message("cuda opened with fp32 reports: precision %s\n", b->fp32->info.precision);
    assert_string_equal(b->fp32->info.precision, "fp32");
    assert_true(strncmp(b->tf32->info.precision, "tf32 (tensor cores)", 19) == 0 ||
                strncmp(b->tf32->info.precision, "fp32 (tf32 asked", 16) == 0);
    check_shape(b, 2, 16, 16, 48, 40, 3); /* K = 432, M = 512: whole 64-tiles in M */
    check_shape(b, 2, 16, 16, 48, 40, 1); /* the k = 1 path */
    check_shape(b, 1, 9, 7, 37, 29, 3);   /* partial tiles everywhere, N not a multiple of 8 */
    check_shape(b, 3, 5, 11, 13, 70, 1);
}

static int setup(void **state)
{
    backends *b = calloc(1, sizeof *b);
    if (b == NULL)
        return -1;
    b->ref = open_with("ref", GLOW_PRECISION_FP32);
    b->fp32 = open_with("cuda", GLOW_PRECISION_FP32);
    b->tf32 = open_with("cuda", GLOW_PRECISION_TF32);
    *state = b;
    return b->ref && b->fp32 && b->tf32 ? 0 : -1;
}

static int teardown(void **state)
{
    backends *b = *state;
    glow_backend_close(b->ref);
    glow_backend_close(b->fp32);
    glow_backend_close(b->tf32);
    free(b);
    return 0;
}

int main(void)
{
    /* No CUDA here: a skip (fails when GLOW_TEST_REQUIRE names cuda, or CUDA is present but broken). */
    int status = tu_suite_backend_or_skip("cuda");
    if (status >= 0)
        return status;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tf32_bound),
    };
    return tu_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
