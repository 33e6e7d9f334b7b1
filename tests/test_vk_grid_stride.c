/* The grid-stride elementwise kernels of the Vulkan backend (vk_launch_grid) on
 * tensors larger than the invocations of one launch on a CPU driver
 * (VK_LAUNCH_CPU_GRID_INVOCATIONS = 4096), so every invocation makes several trips round
 * its loop and the last trip is partial; compared with the CPU reference backend.
 * test_backend_ops covers every op at shapes below 4096 elements (one trip).
 *
 * Shape (N,H,W,C) = (3,18,22,7): 8316 elements, > 2 * 4096, no multiple of 4096 or of C,
 * even H and W for squeeze. Tensors sit at an odd element offset (37) in their buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "glow/ops.h"
#include "glow/vulkan.h"
#include "test_util.h"

#define OFFSET 37
/* Data movement must match exactly; float arithmetic (exp, sigmoid: the Vulkan ones are
 * not correctly rounded) within a normalised MSE of 1e-10, far below any indexing error,
 * which moves whole O(1) values and gives an NMSE of order 1 / count >= 1e-4. */
#define TOL_MOVE 0.0
#define TOL_F32 1e-10

static glow_backend *g_cpu, *g_vk;

typedef struct {
    glow_tensor cpu, vk;
} pair;

static glow_tensor make_on(glow_backend *be, int n, int h, int w, int c, const float *host)
{
    size_t count = (size_t)n * h * w * c;
    glow_buffer *buf = NULL;
    TU_OK(glow_buffer_create(be, (count + 2 * OFFSET) * sizeof(float), &buf));
    glow_tensor t = glow_tensor_make(buf, OFFSET, n, h, w, c);
    TU_OK(glow_tensor_upload(t, host));
    return t;
}

/* The same uniform [lo, hi) data on both backends. */
static pair make_pair(int n, int h, int w, int c, uint32_t seed, float lo, float hi)
{
    size_t count = (size_t)n * h * w * c;
    float *host = tu_random(count, seed, lo, hi);
    pair p = {make_on(g_cpu, n, h, w, c, host), make_on(g_vk, n, h, w, c, host)};
    free(host);
    return p;
}

static void free_pair(pair p)
{
    glow_buffer_destroy(p.cpu.buf);
    glow_buffer_destroy(p.vk.buf);
}

static void check_pair(const char *what, pair p, double tol)
{
    size_t count = glow_tensor_count(p.cpu);
    float *want = tu_download(p.cpu);
    float *got = tu_download(p.vk);
    tu_assert_finite(what, got, count);
    double nmse = tu_nmse(got, want, count), worst, scale;
    if (!(nmse <= tol))
        fail_msg("%s: vulkan vs cpu NMSE %.3g > %.3g over %zu elements", what, nmse, tol, count);
    /* and the worst element: exact for data movement, else 2e-5 of the largest |value|
     * (these elementwise ops differ by a few ulp at most; test_backend_ops.c, WORST_F32) */
    tu_worst_error(got, want, NULL, count, &worst, &scale);
    if (!(worst <= (tol == TOL_MOVE ? 0.0 : 2e-5 * scale)))
        fail_msg("%s: vulkan vs cpu worst element off by %.3g (largest |value| %.3g)", what, worst, scale);
    free(want);
    free(got);
}

static int setup(void **state)
{
    (void)state;
    setenv("GLOW_VK_VALIDATION", "1", 0);
    g_cpu = tu_open_cpu();
    if (glow_backend_open("vulkan", -1, &g_vk) != GLOW_OK)
        g_vk = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_vk)
        glow_backend_close(g_vk);
    glow_backend_close(g_cpu);
    return 0;
}

static void require_vulkan(void)
{
    tu_require(g_vk != NULL, "a Vulkan device");
}

#define SHAPE 3, 18, 22, 7
#define C_ 7

static void test_fill_add_relu(void **state)
{
    (void)state;
    require_vulkan();
    pair t = make_pair(SHAPE, 1, -1, 1);
    TU_OK(glow_fill(g_cpu, t.cpu, 0.5f));
    TU_OK(glow_fill(g_vk, t.vk, 0.5f));
    check_pair("fill", t, TOL_MOVE);
    TU_OK(glow_add_scalar(g_cpu, t.cpu, -1.25f));
    TU_OK(glow_add_scalar(g_vk, t.vk, -1.25f));
    check_pair("add_scalar", t, TOL_MOVE);
    pair y = make_pair(SHAPE, 2, -1, 1), dy = make_pair(SHAPE, 3, -1, 1);
    TU_OK(glow_relu_backward(g_cpu, y.cpu, dy.cpu));
    TU_OK(glow_relu_backward(g_vk, y.vk, dy.vk));
    check_pair("relu_backward", dy, TOL_MOVE);
    free_pair(t);
    free_pair(y);
    free_pair(dy);
}

static void test_copy_squeeze(void **state)
{
    (void)state;
    require_vulkan();
    pair src = make_pair(SHAPE, 4, -1, 1), dst = make_pair(3, 18, 22, 5, 5, -1, 1);
    TU_OK(glow_copy_channels(g_cpu, src.cpu, 2, dst.cpu, 1, 3, 1));
    TU_OK(glow_copy_channels(g_vk, src.vk, 2, dst.vk, 1, 3, 1));
    check_pair("copy_channels(accumulate)", dst, TOL_F32);
    pair y = make_pair(3, 9, 11, 4 * C_, 6, -1, 1);
    TU_OK(glow_squeeze(g_cpu, src.cpu, y.cpu, 1));
    TU_OK(glow_squeeze(g_vk, src.vk, y.vk, 1));
    check_pair("squeeze(accumulate)", y, TOL_F32);
    TU_OK(glow_unsqueeze(g_cpu, y.cpu, src.cpu, 0));
    TU_OK(glow_unsqueeze(g_vk, y.vk, src.vk, 0));
    check_pair("unsqueeze", src, TOL_MOVE);
    free_pair(src);
    free_pair(dst);
    free_pair(y);
}

static void test_scales(void **state)
{
    (void)state;
    require_vulkan();
    pair x = make_pair(SHAPE, 7, -2, 2), y = make_pair(SHAPE, 8, -1, 1);
    pair bias = make_pair(1, 1, 1, C_, 9, -0.5f, 0.5f), logs = make_pair(1, 1, 1, C_, 10, -0.5f, 0.5f);
    TU_OK(glow_actnorm_forward(g_cpu, x.cpu, bias.cpu, logs.cpu, y.cpu));
    TU_OK(glow_actnorm_forward(g_vk, x.vk, bias.vk, logs.vk, y.vk));
    check_pair("actnorm_forward", y, TOL_F32);
    TU_OK(glow_actnorm_inverse(g_cpu, y.cpu, bias.cpu, logs.cpu, x.cpu));
    TU_OK(glow_actnorm_inverse(g_vk, y.vk, bias.vk, logs.vk, x.vk));
    check_pair("actnorm_inverse", x, TOL_F32);
    TU_OK(glow_channel_scale_forward(g_cpu, x.cpu, logs.cpu, 3.0f));
    TU_OK(glow_channel_scale_forward(g_vk, x.vk, logs.vk, 3.0f));
    check_pair("channel_scale_forward", x, TOL_F32);
    free_pair(x);
    free_pair(y);
    free_pair(bias);
    free_pair(logs);
}

static void test_coupling_prior(void **state)
{
    (void)state;
    require_vulkan();
    const int cb = C_ - C_ / 2;
    pair x = make_pair(SHAPE, 11, -2, 2), y = make_pair(SHAPE, 12, -2, 2), h = make_pair(3, 18, 22, 2 * cb, 13, -2, 2);
    TU_OK(glow_coupling_inverse(g_cpu, y.cpu, h.cpu, x.cpu));
    TU_OK(glow_coupling_inverse(g_vk, y.vk, h.vk, x.vk));
    check_pair("coupling_inverse", x, TOL_F32);
    pair dx = make_pair(SHAPE, 14, -1, 1), dh = make_pair(3, 18, 22, 2 * cb, 15, -1, 1);
    TU_OK(glow_coupling_backward(g_cpu, x.cpu, h.cpu, y.cpu, 0.01f, dx.cpu, dh.cpu));
    TU_OK(glow_coupling_backward(g_vk, x.vk, h.vk, y.vk, 0.01f, dx.vk, dh.vk));
    check_pair("coupling_backward dx", dx, TOL_F32);
    check_pair("coupling_backward dh", dh, TOL_F32);
    pair hp = make_pair(3, 18, 22, 2 * C_, 16, -1, 1), dhp = make_pair(3, 18, 22, 2 * C_, 17, -1, 1);
    TU_OK(glow_gaussian_logp_backward(g_cpu, x.cpu, hp.cpu, 0.02f, dx.cpu, dhp.cpu));
    TU_OK(glow_gaussian_logp_backward(g_vk, x.vk, hp.vk, 0.02f, dx.vk, dhp.vk));
    check_pair("gaussian_logp_backward dz", dx, TOL_F32);
    check_pair("gaussian_logp_backward dh", dhp, TOL_F32);
    free_pair(x);
    free_pair(y);
    free_pair(h);
    free_pair(dx);
    free_pair(dh);
    free_pair(hp);
    free_pair(dhp);
}

static void test_no_validation_messages(void **state)
{
    (void)state;
    require_vulkan();
    TU_OK(glow_sync(g_vk));
    assert_int_equal(glow_vulkan_validation_errors(g_vk), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_add_relu),
        cmocka_unit_test(test_copy_squeeze),
        cmocka_unit_test(test_scales),
        cmocka_unit_test(test_coupling_prior),
        cmocka_unit_test(test_no_validation_messages),
    };
    return tu_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
