/* Loss curves with cairo: a plot area with a light grid, axes with "nice"
 * ticks (1, 2 or 5 times a power of ten), the training curve as a line and the
 * test curve as a line with markers, a legend and a title. */
#include "glow/plot.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>

#define DEFAULT_WIDTH 900
#define DEFAULT_HEIGHT 560
#define MARGIN_LEFT 80.0
#define MARGIN_RIGHT 30.0
#define MARGIN_TOP 50.0
#define MARGIN_BOTTOM 60.0

typedef struct {
    double x0, x1, y0, y1;             /* data range */
    double left, right, top, bottom;   /* plot area in pixels */
} plot_frame;

static double to_px_x(const plot_frame *f, double x)
{
    return f->left + (x - f->x0) / (f->x1 - f->x0) * (f->right - f->left);
}

static double to_px_y(const plot_frame *f, double y)
{
    return f->bottom - (y - f->y0) / (f->y1 - f->y0) * (f->bottom - f->top);
}

/* Tick spacing: the smallest 1/2/5 x 10^k giving at most `max_ticks` intervals over span. */
static double nice_step(double span, int max_ticks)
{
    double raw = span / max_ticks;
    double p = pow(10.0, floor(log10(raw)));
    const double mult[] = {1.0, 2.0, 5.0, 10.0};
    for (int i = 0; i < 4; i++)
        if (mult[i] * p >= raw)
            return mult[i] * p;
    return 10.0 * p;
}

static void data_range(const double *xs, const double *ys, int n, double *xmax, double *ymin, double *ymax, int *any)
{
    for (int i = 0; i < n; i++) {
        if (!isfinite(xs[i]) || !isfinite(ys[i]))
            continue;
        if (xs[i] > *xmax)
            *xmax = xs[i];
        if (ys[i] < *ymin)
            *ymin = ys[i];
        if (ys[i] > *ymax)
            *ymax = ys[i];
        *any = 1;
    }
}

/* %g with few digits, e.g. "1.25", "20000", "1e+06". */
static void format_tick(char *buf, size_t size, double v, double step)
{
    if (fabs(v) < step * 1e-9)
        v = 0.0;
    snprintf(buf, size, "%.6g", v);
}

static void draw_axes(cairo_t *cr, const plot_frame *f)
{
    char label[64];
    cairo_text_extents_t ext;
    cairo_set_font_size(cr, 12.0);
    double xstep = nice_step(f->x1 - f->x0, 8), ystep = nice_step(f->y1 - f->y0, 6);

    for (double x = ceil(f->x0 / xstep) * xstep; x <= f->x1 + xstep * 1e-9; x += xstep) {
        double px = to_px_x(f, x);
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, px, f->top);
        cairo_line_to(cr, px, f->bottom);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, px, f->bottom);
        cairo_line_to(cr, px, f->bottom + 5);
        cairo_stroke(cr);
        format_tick(label, sizeof label, x, xstep);
        cairo_text_extents(cr, label, &ext);
        cairo_move_to(cr, px - ext.width / 2 - ext.x_bearing, f->bottom + 8 + ext.height);
        cairo_show_text(cr, label);
    }
    for (double y = ceil(f->y0 / ystep) * ystep; y <= f->y1 + ystep * 1e-9; y += ystep) {
        double py = to_px_y(f, y);
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, f->left, py);
        cairo_line_to(cr, f->right, py);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, f->left - 5, py);
        cairo_line_to(cr, f->left, py);
        cairo_stroke(cr);
        format_tick(label, sizeof label, y, ystep);
        cairo_text_extents(cr, label, &ext);
        cairo_move_to(cr, f->left - 8 - ext.width - ext.x_bearing, py + ext.height / 2);
        cairo_show_text(cr, label);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, f->left, f->top, f->right - f->left, f->bottom - f->top);
    cairo_stroke(cr);

    cairo_set_font_size(cr, 14.0);
    cairo_text_extents(cr, "step", &ext);
    cairo_move_to(cr, (f->left + f->right) / 2 - ext.width / 2, f->bottom + 45);
    cairo_show_text(cr, "step");
    cairo_text_extents(cr, "bits/dim", &ext);
    cairo_save(cr);
    cairo_move_to(cr, 22, (f->top + f->bottom) / 2 + ext.width / 2);
    cairo_rotate(cr, -M_PI / 2);
    cairo_show_text(cr, "bits/dim");
    cairo_restore(cr);
}

/* A polyline through the finite points; with markers when `markers`. */
static void draw_series(cairo_t *cr, const plot_frame *f, const double *xs, const double *ys, int n, int markers)
{
    int pen_down = 0;
    cairo_set_line_width(cr, 1.8);
    for (int i = 0; i < n; i++) {
        if (!isfinite(xs[i]) || !isfinite(ys[i])) {
            pen_down = 0;
            continue;
        }
        if (pen_down)
            cairo_line_to(cr, to_px_x(f, xs[i]), to_px_y(f, ys[i]));
        else
            cairo_move_to(cr, to_px_x(f, xs[i]), to_px_y(f, ys[i]));
        pen_down = 1;
    }
    cairo_stroke(cr);
    if (markers)
        for (int i = 0; i < n; i++)
            if (isfinite(xs[i]) && isfinite(ys[i])) {
                cairo_arc(cr, to_px_x(f, xs[i]), to_px_y(f, ys[i]), 3.5, 0, 2 * M_PI);
                cairo_fill(cr);
            }
    cairo_set_line_width(cr, 1.0);
}

static void draw_legend(cairo_t *cr, const plot_frame *f, int has_train, int has_test)
{
    int entries = has_train + has_test;
    if (entries == 0)
        return;
    double w = 120, h = 10 + 20.0 * entries, x = f->right - w - 10, y = f->top + 10;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, x, y, w, h);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 12.0);
    double row = y + 20;
    if (has_train) {
        cairo_set_source_rgb(cr, 0.12, 0.47, 0.71);
        cairo_set_line_width(cr, 1.8);
        cairo_move_to(cr, x + 8, row - 4);
        cairo_line_to(cr, x + 38, row - 4);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, x + 46, row);
        cairo_show_text(cr, "train");
        row += 20;
    }
    if (has_test) {
        cairo_set_source_rgb(cr, 1.0, 0.5, 0.05);
        cairo_set_line_width(cr, 1.8);
        cairo_move_to(cr, x + 8, row - 4);
        cairo_line_to(cr, x + 38, row - 4);
        cairo_stroke(cr);
        cairo_arc(cr, x + 23, row - 4, 3.5, 0, 2 * M_PI);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, x + 46, row);
        cairo_show_text(cr, "test");
    }
    cairo_set_line_width(cr, 1.0);
}

glow_status glow_plot_loss(const char *path, const double *step, const double *train_bpd, int n_train,
                           const double *test_step, const double *test_bpd, int n_test, const char *title,
                           int width, int height)
{
    if (width == 0 && height == 0) {
        width = DEFAULT_WIDTH;
        height = DEFAULT_HEIGHT;
    }
    if (width < 200 || height < 150 || width > 16384 || height > 16384)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: plot size %dx%d outside 200x150 .. 16384x16384", path, width,
                          height);
    if (n_train < 0 || n_test < 0 || (n_train > 0 && (step == NULL || train_bpd == NULL)) ||
        (n_test > 0 && (test_step == NULL || test_bpd == NULL)))
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: plot series missing (n_train %d, n_test %d)", path, n_train,
                          n_test);

    double xmax = 0.0, ymin = INFINITY, ymax = -INFINITY;
    int has_train = 0, has_test = 0;
    data_range(step, train_bpd, n_train, &xmax, &ymin, &ymax, &has_train);
    data_range(test_step, test_bpd, n_test, &xmax, &ymin, &ymax, &has_test);
    if (!has_train && !has_test) {
        ymin = 0.0;
        ymax = 1.0;
    }
    double margin = (ymax - ymin) * 0.05;
    if (margin <= 0.0)
        margin = fabs(ymax) > 0 ? fabs(ymax) * 0.05 : 0.5;
    plot_frame f = {0.0, xmax > 0.0 ? xmax : 1.0, ymin - margin, ymax + margin, MARGIN_LEFT, width - MARGIN_RIGHT,
                    MARGIN_TOP, height - MARGIN_BOTTOM};

    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    cairo_t *cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_line_width(cr, 1.0);
    draw_axes(cr, &f);

    cairo_save(cr);
    cairo_rectangle(cr, f.left, f.top, f.right - f.left, f.bottom - f.top);
    cairo_clip(cr);
    cairo_set_source_rgb(cr, 0.12, 0.47, 0.71);
    draw_series(cr, &f, step, train_bpd, n_train, 0);
    cairo_set_source_rgb(cr, 1.0, 0.5, 0.05);
    draw_series(cr, &f, test_step, test_bpd, n_test, 1);
    cairo_restore(cr);
    draw_legend(cr, &f, has_train, has_test);

    if (title && title[0]) {
        cairo_text_extents_t ext;
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_font_size(cr, 16.0);
        cairo_text_extents(cr, title, &ext);
        cairo_move_to(cr, width / 2.0 - ext.width / 2 - ext.x_bearing, 30);
        cairo_show_text(cr, title);
    }

    cairo_status_t cs = cairo_status(cr);
    if (cs == CAIRO_STATUS_SUCCESS)
        cs = cairo_surface_write_to_png(surface, path);
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
    if (cs != CAIRO_STATUS_SUCCESS)
        return glow_error(cs == CAIRO_STATUS_WRITE_ERROR ? GLOW_ERR_IO : GLOW_ERR_BACKEND, "%s: plot failed: %s",
                          path, cairo_status_to_string(cs));
    return GLOW_OK;
}
