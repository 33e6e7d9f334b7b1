/* PNG grids (exact round trip through libpng, layout formulas of glow/image.h)
 * and the cairo loss plot (a decodable PNG of the requested size whose curve
 * is drawn where the axis mapping puts it). */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "glow/image.h"
#include "glow/plot.h"

static uint8_t image_value(int i, int y, int x, int ch)
{
    return (uint8_t)((i * 53 + y * 19 + x * 7 + ch * 101) % 256);
}

/* Writes a grid and checks every pixel of the decoded PNG: image i's pixel
 * (y, x) at row pad + (i / cols) * (h + pad) + y, column pad + (i % cols) * (w + pad) + x,
 * everything else GLOW_PNG_PAD_VALUE. Lossless format: exact equality. */
static void check_grid_round_trip(int count, int h, int w, int c, int cols, int pad)
{
    uint8_t *images = malloc((size_t)count * h * w * c);
    for (int i = 0; i < count; i++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < c; ch++)
                    images[(((size_t)i * h + y) * w + x) * c + ch] = image_value(i, y, x, ch);
    char path[512];
    snprintf(path, sizeof path, "%s/grid.png", tu_temp_dir);
    TU_OK(glow_png_write_grid(path, images, count, h, w, c, cols, pad));

    int width, height, channels;
    uint8_t *px;
    TU_OK(glow_png_read(path, &width, &height, &channels, &px));
    int rows = (count + cols - 1) / cols;
    assert_int_equal(width, cols * w + (cols + 1) * pad);
    assert_int_equal(height, rows * h + (rows + 1) * pad);
    assert_int_equal(channels, c);
    for (int gy = 0; gy < height; gy++)
        for (int gx = 0; gx < width; gx++)
            for (int ch = 0; ch < c; ch++) {
                int cy = (gy - pad) / (h + pad), y = (gy - pad) % (h + pad);
                int cx = (gx - pad) / (w + pad), x = (gx - pad) % (w + pad);
                int i = cy * cols + cx;
                int in_image = gy >= pad && gx >= pad && y < h && x < w && i < count;
                uint8_t want = in_image ? image_value(i, y, x, ch) : GLOW_PNG_PAD_VALUE;
                uint8_t got = px[((size_t)gy * width + gx) * c + ch];
                if (got != want)
                    fail_msg("grid pixel (%d, %d) channel %d: got %u, want %u", gy, gx, ch, got, want);
            }
    free(px);
    free(images);
}

static void test_gray_grid_round_trip(void **state)
{
    (void)state;
    check_grid_round_trip(5, 3, 4, 1, 2, 1); /* 11 x 13, an empty last cell */
    check_grid_round_trip(8, 32, 32, 1, 4, 2);
}

static void test_rgb_grid_round_trip(void **state)
{
    (void)state;
    check_grid_round_trip(3, 5, 6, 3, 3, 0);
    check_grid_round_trip(7, 32, 32, 3, 3, 2);
}

static void test_grid_errors(void **state)
{
    (void)state;
    uint8_t img[4 * 4 * 2] = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/bad.png", tu_temp_dir);
    assert_int_equal(glow_png_write_grid(path, img, 1, 4, 4, 2, 1, 0), GLOW_ERR_INVALID_ARG);
    assert_int_equal(glow_png_write_grid(path, img, 0, 4, 4, 1, 1, 0), GLOW_ERR_INVALID_ARG);
    assert_int_equal(glow_png_write_grid("/nonexistent-dir/x.png", img, 1, 4, 4, 1, 1, 0), GLOW_ERR_IO);
    assert_non_null(strstr(glow_last_error(), "/nonexistent-dir/x.png"));

    /* Reading something that is not a PNG. */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("not a png at all", f);
    fclose(f);
    int w, h, c;
    uint8_t *px;
    assert_int_equal(glow_png_read(path, &w, &h, &c, &px), GLOW_ERR_FORMAT);
    assert_non_null(strstr(glow_last_error(), "not a PNG"));
}

/* Plot area of glow_plot_loss (margins left 80, right 30, top 50, bottom 60). */
typedef struct {
    double left, right, top, bottom;
} area;

/* Whether any pixel within r of (x, y) is within 40 (per channel) of rgb. */
static int color_near(const uint8_t *px, int width, int height, double x, double y, int r, const int rgb[3])
{
    for (int dy = -r; dy <= r; dy++)
        for (int dx = -r; dx <= r; dx++) {
            int xi = (int)lround(x) + dx, yi = (int)lround(y) + dy;
            if (xi < 0 || yi < 0 || xi >= width || yi >= height)
                continue;
            const uint8_t *p = px + ((size_t)yi * width + xi) * 3;
            if (abs(p[0] - rgb[0]) <= 40 && abs(p[1] - rgb[1]) <= 40 && abs(p[2] - rgb[2]) <= 40)
                return 1;
        }
    return 0;
}

static void test_loss_plot(void **state)
{
    (void)state;
    /* Train: a straight line from (0, 8) to (1000, 2); test: every 250 steps on the same line + 0.5. */
    enum { N = 101, M = 5 };
    double step[N], bpd[N], tstep[M], tbpd[M];
    for (int i = 0; i < N; i++) {
        step[i] = 10.0 * i;
        bpd[i] = 8.0 - 6.0 * step[i] / 1000.0;
    }
    for (int j = 0; j < M; j++) {
        tstep[j] = 250.0 * j;
        tbpd[j] = 8.5 - 6.0 * tstep[j] / 1000.0;
    }
    bpd[37] = NAN; /* skipped, not drawn, no failure */
    char path[512];
    snprintf(path, sizeof path, "%s/loss.png", tu_temp_dir);
    TU_OK(glow_plot_loss(path, step, bpd, N, tstep, tbpd, M, "Glow on test data", 800, 500));

    int width, height, channels;
    uint8_t *px;
    TU_OK(glow_png_read(path, &width, &height, &channels, &px));
    assert_int_equal(width, 800);
    assert_int_equal(height, 500);
    assert_int_equal(channels, 3);

    /* y range: data [2, 8.5] with a 5% margin -> [1.675, 8.825]. */
    area a = {80, 800 - 30, 50, 500 - 60};
    double y0 = 2.0 - 0.325, y1 = 8.5 + 0.325;
    const int train_rgb[3] = {31, 120, 181}, test_rgb[3] = {255, 128, 13}, white[3] = {255, 255, 255};
    /* The train line passes through (600, 4.4); the test marker at (500, 5.5). Tolerance: 3 px
     * for antialiasing and rounding of the mapping. */
    double tx = a.left + 0.6 * (a.right - a.left), ty = a.bottom - (4.4 - y0) / (y1 - y0) * (a.bottom - a.top);
    assert_true(color_near(px, width, height, tx, ty, 3, train_rgb));
    double mx = a.left + 0.5 * (a.right - a.left), my = a.bottom - (5.5 - y0) / (y1 - y0) * (a.bottom - a.top);
    assert_true(color_near(px, width, height, mx, my, 3, test_rgb));
    /* Far from both curves (low left of the plot area), the background is white. */
    double bx = a.left + 0.1 * (a.right - a.left) + 3, by = a.bottom - (2.2 - y0) / (y1 - y0) * (a.bottom - a.top);
    assert_true(color_near(px, width, height, bx, by, 0, white));
    assert_false(color_near(px, width, height, bx, by, 3, train_rgb));
    /* The title and tick labels put dark pixels above and left of the plot area. */
    const int black[3] = {0, 0, 0};
    int title_ink = 0, tick_ink = 0;
    for (int y = 10; y < 45; y++)
        for (int x = 300; x < 500; x++)
            title_ink += color_near(px, width, height, x, y, 0, black);
    for (int y = 50; y < 440; y++)
        for (int x = 40; x < 75; x++)
            tick_ink += color_near(px, width, height, x, y, 0, black);
    assert_true(title_ink > 20);
    assert_true(tick_ink > 20);
    free(px);

    /* Default size, and a plot with only a train series. */
    TU_OK(glow_plot_loss(path, step, bpd, N, NULL, NULL, 0, NULL, 0, 0));
    TU_OK(glow_png_read(path, &width, &height, &channels, &px));
    assert_int_equal(width, 900);
    assert_int_equal(height, 560);
    free(px);
}

static void test_loss_plot_errors(void **state)
{
    (void)state;
    double s[1] = {1}, b[1] = {3};
    char path[512];
    snprintf(path, sizeof path, "%s/loss.png", tu_temp_dir);
    assert_int_equal(glow_plot_loss(path, s, b, 1, NULL, NULL, 0, "t", 100, 100), GLOW_ERR_INVALID_ARG);
    assert_int_equal(glow_plot_loss(path, NULL, NULL, 3, NULL, NULL, 0, "t", 0, 0), GLOW_ERR_INVALID_ARG);
    assert_int_equal(glow_plot_loss("/nonexistent-dir/loss.png", s, b, 1, NULL, NULL, 0, "t", 0, 0), GLOW_ERR_IO);
    assert_non_null(strstr(glow_last_error(), "/nonexistent-dir/loss.png"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gray_grid_round_trip),
        cmocka_unit_test(test_rgb_grid_round_trip),
        cmocka_unit_test(test_grid_errors),
        cmocka_unit_test(test_loss_plot),
        cmocka_unit_test(test_loss_plot_errors),
    };
    return cmocka_run_group_tests(tests, tu_make_temp_dir, tu_remove_temp_dir);
}
