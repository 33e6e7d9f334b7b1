/* CPU reference: fill, add_scalar, copy_channels, squeeze/unsqueeze,
 * relu_backward, logdet_sum. Everything here is exact arithmetic (copies,
 * permutations, sums of values exactly representable in float), so every
 * comparison is for equality. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

static void assert_equal_arrays(const char *what, const float *got, const float *want, size_t n)
{
    tu_assert_close(what, got, want, n, 0.0);
}

static void test_fill_and_add_scalar(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    glow_tensor t = tu_tensor(be, 2, 5, 3, 7, NULL);
    size_t n = glow_tensor_count(t);
    TU_OK(glow_fill(be, t, 1.5f));
    TU_OK(glow_add_scalar(be, t, 0.25f));
    float *got = tu_download(t);
    for (size_t i = 0; i < n; i++)
        assert_true(got[i] == 1.75f);
    free(got);
    tu_tensor_free(t);
    glow_backend_close(be);
}

/* copy_channels on a hand example: src (1,1,2,3), dst (1,1,2,4);
 * copy src channels [1,3) to dst channels [2,4):
 *   pixel 0: src (1,2,3), dst (10,20,30,40) -> (10,20,2,3), then += gives (10,20,4,6)
 *   pixel 1: src (4,5,6), dst (50,60,70,80) -> (50,60,5,6), then += gives (50,60,10,12) */
static void test_copy_channels_hand_example(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    const float src_host[] = {1, 2, 3, 4, 5, 6};
    const float dst_host[] = {10, 20, 30, 40, 50, 60, 70, 80};
    glow_tensor src = tu_tensor(be, 1, 1, 2, 3, src_host);
    glow_tensor dst = tu_tensor(be, 1, 1, 2, 4, dst_host);
    TU_OK(glow_copy_channels(be, src, 1, dst, 2, 2, 0));
    float *got = tu_download(dst);
    const float want_copy[] = {10, 20, 2, 3, 50, 60, 5, 6};
    assert_equal_arrays("copy", got, want_copy, 8);
    free(got);
    TU_OK(glow_copy_channels(be, src, 1, dst, 2, 2, 1));
    got = tu_download(dst);
    const float want_acc[] = {10, 20, 4, 6, 50, 60, 10, 12};
    assert_equal_arrays("accumulate", got, want_acc, 8);
    free(got);
    tu_tensor_free(src);
    tu_tensor_free(dst);
    glow_backend_close(be);
}

/* split then concat reproduces x exactly, on an odd pixel grid (N=2,H=5,W=3, C=14). */
static void test_split_concat_roundtrip(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    const int N = 2, H = 5, W = 3, C = 14;
    size_t n = (size_t)N * H * W * C;
    float *x_host = tu_random(n, 11, -2.0f, 2.0f);
    glow_tensor x = tu_tensor(be, N, H, W, C, x_host);
    glow_tensor a = tu_tensor(be, N, H, W, C / 2, NULL), b = tu_tensor(be, N, H, W, C / 2, NULL);
    glow_tensor back = tu_tensor(be, N, H, W, C, NULL);
    TU_OK(glow_split_channels(be, x, a, b));
    float *a_host = tu_download(a);
    for (size_t p = 0; p < (size_t)N * H * W; p++)
        for (int k = 0; k < C / 2; k++)
            assert_true(a_host[p * (C / 2) + k] == x_host[p * C + k]);
    TU_OK(glow_concat_channels(be, a, b, back, 0));
    float *got = tu_download(back);
    assert_equal_arrays("concat(split(x))", got, x_host, n);
    free(a_host);
    free(got);
    free(x_host);
    tu_tensor_free(x);
    tu_tensor_free(a);
    tu_tensor_free(b);
    tu_tensor_free(back);
    glow_backend_close(be);
}

/* squeeze on a hand example: x (1,2,2,2) with x[dy][dx][c] = 100 dy + 10 dx + c,
 * y (1,1,1,8) with y[c*4 + dy*2 + dx] = x[dy][dx][c]:
 *   channel 0 -> y[0..4) = x[0][0][0], x[0][1][0], x[1][0][0], x[1][1][0] = 0, 10, 100, 110
 *   channel 1 -> y[4..8) = 1, 11, 101, 111 */
static void test_squeeze_hand_example(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    float x_host[8];
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++)
            for (int c = 0; c < 2; c++)
                x_host[(dy * 2 + dx) * 2 + c] = (float)(100 * dy + 10 * dx + c);
    glow_tensor x = tu_tensor(be, 1, 2, 2, 2, x_host);
    glow_tensor y = tu_tensor(be, 1, 1, 1, 8, NULL);
    TU_OK(glow_squeeze(be, x, y, 0));
    float *got = tu_download(y);
    const float want[] = {0, 10, 100, 110, 1, 11, 101, 111};
    assert_equal_arrays("squeeze", got, want, 8);
    free(got);
    tu_tensor_free(x);
    tu_tensor_free(y);
    glow_backend_close(be);
}

/* The index formula y[n][i][j][c*4 + dy*2 + dx] = x[n][2i+dy][2j+dx][c] on every
 * element of a (2,6,4,3) tensor (odd channel count, H != W). */
static void test_squeeze_index_formula(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    const int N = 2, H = 6, W = 4, C = 3;
    size_t n = (size_t)N * H * W * C;
    float *x_host = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x_host[i] = (float)i; /* every value distinct and exact */
    glow_tensor x = tu_tensor(be, N, H, W, C, x_host);
    glow_tensor y = tu_tensor(be, N, H / 2, W / 2, 4 * C, NULL);
    TU_OK(glow_squeeze(be, x, y, 0));
    float *got = tu_download(y);
    for (int b = 0; b < N; b++)
        for (int i = 0; i < H / 2; i++)
            for (int j = 0; j < W / 2; j++)
                for (int c = 0; c < C; c++)
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++) {
                            size_t yi = (((size_t)b * (H / 2) + i) * (W / 2) + j) * 4 * C + c * 4 + dy * 2 + dx;
                            size_t xi = (((size_t)b * H + 2 * i + dy) * W + 2 * j + dx) * C + c;
                            assert_true(got[yi] == x_host[xi]);
                        }
    free(got);
    free(x_host);
    tu_tensor_free(x);
    tu_tensor_free(y);
    glow_backend_close(be);
}

/* unsqueeze(squeeze(x)) == x and squeeze(unsqueeze(y)) == y, bit for bit. */
static void test_squeeze_unsqueeze_identity(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    const int N = 2, H = 6, W = 10, C = 5;
    size_t n = (size_t)N * H * W * C;
    float *x_host = tu_random(n, 21, -3.0f, 3.0f);
    glow_tensor x = tu_tensor(be, N, H, W, C, x_host);
    glow_tensor y = tu_tensor(be, N, H / 2, W / 2, 4 * C, NULL);
    glow_tensor x2 = tu_tensor(be, N, H, W, C, NULL);
    glow_tensor y2 = tu_tensor(be, N, H / 2, W / 2, 4 * C, NULL);
    TU_OK(glow_squeeze(be, x, y, 0));
    TU_OK(glow_unsqueeze(be, y, x2, 0));
    float *got = tu_download(x2);
    assert_equal_arrays("unsqueeze(squeeze(x))", got, x_host, n);
    free(got);
    float *y_host = tu_download(y);
    TU_OK(glow_unsqueeze(be, y, x2, 0));
    TU_OK(glow_squeeze(be, x2, y2, 0));
    got = tu_download(y2);
    assert_equal_arrays("squeeze(unsqueeze(y))", got, y_host, n);
    free(got);
    free(y_host);
    free(x_host);
    tu_tensor_free(x);
    tu_tensor_free(y);
    tu_tensor_free(x2);
    tu_tensor_free(y2);
    glow_backend_close(be);
}

/* ---- backward = transpose --------------------------------------------------
 * A linear data-movement op F (m outputs from n inputs) has the matrix
 * M[i][j] = F(e_j)[i], built by pushing every unit vector through it. Its
 * backward B (here the op in the other direction with accumulate = 1, starting
 * from zero) must be exactly M^T: B(e_i)[j] == M[i][j] for every i, j. */

typedef void (*linear_op)(glow_backend *be, glow_tensor in, glow_tensor out, int accumulate);

static void op_squeeze(glow_backend *be, glow_tensor in, glow_tensor out, int acc)
{
    TU_OK(glow_squeeze(be, in, out, acc));
}

static void op_unsqueeze(glow_backend *be, glow_tensor in, glow_tensor out, int acc)
{
    TU_OK(glow_unsqueeze(be, in, out, acc));
}

/* Channels [2, 5) of a C=7 tensor into channels [1, 4) of a C=4 tensor and back. */
static void op_copy_forward(glow_backend *be, glow_tensor in, glow_tensor out, int acc)
{
    TU_OK(glow_copy_channels(be, in, 2, out, 1, 3, acc));
}

static void op_copy_backward(glow_backend *be, glow_tensor in, glow_tensor out, int acc)
{
    TU_OK(glow_copy_channels(be, in, 1, out, 2, 3, acc));
}

/* Dense matrix of `op` from `in` to `out`: m = count(out) rows, n = count(in) columns. */
static float *op_matrix(glow_backend *be, linear_op op, glow_tensor in, glow_tensor out, int accumulate)
{
    size_t n = glow_tensor_count(in), m = glow_tensor_count(out);
    float *mat = calloc(m * n, sizeof(float));
    float *unit = calloc(n, sizeof(float));
    assert_non_null(mat);
    assert_non_null(unit);
    for (size_t j = 0; j < n; j++) {
        unit[j] = 1.0f;
        TU_OK(glow_tensor_upload(in, unit));
        TU_OK(glow_fill(be, out, 0.0f));
        op(be, in, out, accumulate);
        float *col = tu_download(out);
        for (size_t i = 0; i < m; i++)
            mat[i * n + j] = col[i];
        free(col);
        unit[j] = 0.0f;
    }
    free(unit);
    return mat;
}

static void check_backward_is_transpose(const char *what, linear_op fwd, linear_op bwd, int in_shape[4],
                                        int out_shape[4])
{
    glow_backend *be = tu_open_cpu();
    glow_tensor in = tu_tensor(be, in_shape[0], in_shape[1], in_shape[2], in_shape[3], NULL);
    glow_tensor out = tu_tensor(be, out_shape[0], out_shape[1], out_shape[2], out_shape[3], NULL);
    size_t n = glow_tensor_count(in), m = glow_tensor_count(out);
    float *f = op_matrix(be, fwd, in, out, 0);  /* m x n */
    float *b = op_matrix(be, bwd, out, in, 1);  /* n x m, accumulated into zeros */
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            if (f[i * n + j] != b[j * m + i])
                fail_msg("%s: forward matrix [%zu][%zu] = %g but backward [%zu][%zu] = %g", what, i, j,
                         (double)f[i * n + j], j, i, (double)b[j * m + i]);
    free(f);
    free(b);
    tu_tensor_free(in);
    tu_tensor_free(out);
    glow_backend_close(be);
}

static void test_squeeze_backward_is_transpose(void **state)
{
    (void)state;
    int x_shape[4] = {2, 4, 2, 3}, y_shape[4] = {2, 2, 1, 12};
    check_backward_is_transpose("squeeze", op_squeeze, op_unsqueeze, x_shape, y_shape);
    check_backward_is_transpose("unsqueeze", op_unsqueeze, op_squeeze, y_shape, x_shape);
}

static void test_copy_channels_backward_is_transpose(void **state)
{
    (void)state;
    int src_shape[4] = {2, 3, 1, 7}, dst_shape[4] = {2, 3, 1, 4};
    check_backward_is_transpose("copy_channels", op_copy_forward, op_copy_backward, src_shape, dst_shape);
}

/* Accumulate mode adds onto what is there: unsqueeze(y, x, 1) == x0 + unsqueeze(y). */
static void test_unsqueeze_accumulates(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    const int N = 1, H = 2, W = 4, C = 3;
    size_t n = (size_t)N * H * W * C;
    /* small integers keep every sum exact */
    float *x0 = malloc(n * sizeof(float)), *y_host = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        x0[i] = (float)(i % 5);
        y_host[i] = (float)(i % 7) - 3.0f;
    }
    glow_tensor y = tu_tensor(be, N, H / 2, W / 2, 4 * C, y_host);
    glow_tensor plain = tu_tensor(be, N, H, W, C, NULL);
    glow_tensor acc = tu_tensor(be, N, H, W, C, x0);
    TU_OK(glow_unsqueeze(be, y, plain, 0));
    TU_OK(glow_unsqueeze(be, y, acc, 1));
    float *p = tu_download(plain), *a = tu_download(acc);
    for (size_t i = 0; i < n; i++)
        assert_true(a[i] == x0[i] + p[i]);
    free(p);
    free(a);
    free(x0);
    free(y_host);
    tu_tensor_free(y);
    tu_tensor_free(plain);
    tu_tensor_free(acc);
    glow_backend_close(be);
}

/* relu_backward: dy = (5, 6, 7, 8) with y = (-1, 0, 2, 3) becomes (0, 0, 7, 8):
 * the gradient passes only where the ReLU output is strictly positive. */
static void test_relu_backward_hand_example(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    const float y_host[] = {-1, 0, 2, 3}, dy_host[] = {5, 6, 7, 8}, want[] = {0, 0, 7, 8};
    glow_tensor y = tu_tensor(be, 1, 1, 1, 4, y_host);
    glow_tensor dy = tu_tensor(be, 1, 1, 1, 4, dy_host);
    TU_OK(glow_relu_backward(be, y, dy));
    float *got = tu_download(dy);
    assert_equal_arrays("relu_backward", got, want, 4);
    free(got);
    tu_tensor_free(y);
    tu_tensor_free(dy);
    glow_backend_close(be);
}

/* logdet_sum: v = (0.5, 1.25, -0.25), scale 4: 4 * 1.5 = 6 added to every
 * sample of ld = (1, 2, 3) -> (7, 8, 9). */
static void test_logdet_sum_hand_example(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    const float v_host[] = {0.5f, 1.25f, -0.25f}, ld_host[] = {1, 2, 3}, want[] = {7, 8, 9};
    glow_tensor v = tu_tensor(be, 1, 1, 1, 3, v_host);
    glow_tensor ld = tu_tensor(be, 1, 1, 1, 3, ld_host);
    TU_OK(glow_logdet_sum(be, v, 4.0f, ld));
    float *got = tu_download(ld);
    assert_equal_arrays("logdet_sum", got, want, 3);
    free(got);
    tu_tensor_free(v);
    tu_tensor_free(ld);
    glow_backend_close(be);
}

/* Memory accounting: a 1000-byte buffer is counted (rounded up) while alive,
 * the peak remembers it after it is freed. */
static void test_memory_usage(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    size_t cur0 = 0, peak0 = 0, cur1 = 0, peak1 = 0, cur2 = 0, peak2 = 0;
    be->ops->memory_usage(be, &cur0, &peak0);
    glow_buffer *buf = NULL;
    TU_OK(glow_buffer_create(be, 1000, &buf));
    be->ops->memory_usage(be, &cur1, &peak1);
    assert_true(cur1 >= cur0 + 1000);
    assert_true(peak1 >= cur1);
    glow_buffer_destroy(buf);
    be->ops->memory_usage(be, &cur2, &peak2);
    assert_true(cur2 == cur0);
    assert_true(peak2 == peak1);
    assert_true(be->info.type == GLOW_DEVICE_CPU);
    assert_true(strcmp(be->info.backend, "ref") == 0);
    assert_true(be->info.memory_bytes > 0);
    glow_backend_close(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_and_add_scalar),
        cmocka_unit_test(test_copy_channels_hand_example),
        cmocka_unit_test(test_split_concat_roundtrip),
        cmocka_unit_test(test_squeeze_hand_example),
        cmocka_unit_test(test_squeeze_index_formula),
        cmocka_unit_test(test_squeeze_unsqueeze_identity),
        cmocka_unit_test(test_squeeze_backward_is_transpose),
        cmocka_unit_test(test_copy_channels_backward_is_transpose),
        cmocka_unit_test(test_unsqueeze_accumulates),
        cmocka_unit_test(test_relu_backward_hand_example),
        cmocka_unit_test(test_logdet_sum_hand_example),
        cmocka_unit_test(test_memory_usage),
    };
    return cmocka_run_group_tests_name("cpu elementwise", tests, NULL, NULL);
}
