/* CPU reference: conv2d (k = 1, 3; bias; fused ReLU), its backward passes and
 * the per-channel output scale of the zero-initialised conv, and the edge-indicator
 * term of --pad edge (against openai/glow's padded-input formulation). Odd shapes:
 * N=2, H=5, W=3, Ci=7, Co=5. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Hand example 1, k = 3, one channel in and out, x (1,2,2,1) = [[1,2],[3,4]],
 * w = [[1,0,0],[0,1,0],[0,0,2]] (w[ky][kx]), bias 0.5, pad 1:
 *   y[i][j] = 0.5 + x[i-1][j-1] + x[i][j] + 2 x[i+1][j+1]   (outside = 0)
 *   y[0][0] = 0.5 + 0 + 1 + 2*4 = 9.5     y[0][1] = 0.5 + 0 + 2 + 0 = 2.5
 *   y[1][0] = 0.5 + 0 + 3 + 0   = 3.5     y[1][1] = 0.5 + 1 + 4 + 0 = 5.5
 * Hand example 2, k = 1, Ci = Co = 2, one pixel x = (5, 6), w[co][ci] = [[1,2],[3,4]],
 * bias (-20, 0), ReLU: pre-activation (1*5 + 2*6 - 20, 3*5 + 4*6) = (-3, 39) -> (0, 39).
 * All exact small integers and halves. */
static void test_forward_hand_examples(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    const float x1[] = {1, 2, 3, 4}, w1[] = {1, 0, 0, 0, 1, 0, 0, 0, 2}, b1[] = {0.5f}, want1[] = {9.5f, 2.5f, 3.5f, 5.5f};
    glow_tensor x = tu_tensor(be, 1, 2, 2, 1, x1), w = tu_tensor(be, 1, 3, 3, 1, w1);
    glow_tensor b = tu_tensor(be, 1, 1, 1, 1, b1), y = tu_tensor(be, 1, 2, 2, 1, NULL);
    TU_OK(glow_conv2d_forward(be, x, w, b, y, 0));
    float *got = tu_download(y);
    tu_assert_close("conv3x3 hand example", got, want1, 4, 0.0);
    free(got);
    tu_tensor_free(x);
    tu_tensor_free(w);
    tu_tensor_free(b);
    tu_tensor_free(y);

    const float x2[] = {5, 6}, w2[] = {1, 2, 3, 4}, b2[] = {-20, 0}, want2[] = {0, 39}, want2_linear[] = {-3, 39};
    x = tu_tensor(be, 1, 1, 1, 2, x2);
    w = tu_tensor(be, 2, 1, 1, 2, w2);
    b = tu_tensor(be, 1, 1, 1, 2, b2);
    y = tu_tensor(be, 1, 1, 1, 2, NULL);
    TU_OK(glow_conv2d_forward(be, x, w, b, y, 1));
    got = tu_download(y);
    tu_assert_close("conv1x1 relu hand example", got, want2, 2, 0.0);
    free(got);
    TU_OK(glow_conv2d_forward(be, x, w, b, y, 0));
    got = tu_download(y);
    tu_assert_close("conv1x1 hand example", got, want2_linear, 2, 0.0);
    free(got);
    tu_tensor_free(x);
    tu_tensor_free(w);
    tu_tensor_free(b);
    tu_tensor_free(y);
    glow_backend_close(be);
}

/* ---- random odd-shaped cases ------------------------------------------------- */

enum { N = 2, H = 5, W = 3, CI = 7, CO = 5 };
#define XCOUNT ((size_t)N * H * W * CI)
#define YCOUNT ((size_t)N * H * W * CO)

typedef struct {
    glow_backend *be;
    int k, relu;
    float *x, *w, *b, *r; /* host inputs; r the loss weights */
    glow_tensor tx, tw, tb, ty;
} conv_case;

static conv_case conv_case_make(int k, int relu, uint32_t seed)
{
    conv_case c;
    c.be = tu_open_cpu();
    c.k = k;
    c.relu = relu;
    size_t wcount = (size_t)CO * k * k * CI;
    c.x = tu_random(XCOUNT, seed, -1.0f, 1.0f);
    c.w = tu_random(wcount, seed + 1, -0.5f, 0.5f);
    c.b = tu_random(CO, seed + 2, -0.5f, 0.5f);
    c.r = tu_random(YCOUNT, seed + 3, -1.0f, 1.0f);
    c.tx = tu_tensor(c.be, N, H, W, CI, c.x);
    c.tw = tu_tensor(c.be, CO, k, k, CI, c.w);
    c.tb = tu_tensor(c.be, 1, 1, 1, CO, c.b);
    c.ty = tu_tensor(c.be, N, H, W, CO, NULL);
    return c;
}

static void conv_case_free(conv_case *c)
{
    free(c->x);
    free(c->w);
    free(c->b);
    free(c->r);
    tu_tensor_free(c->tx);
    tu_tensor_free(c->tw);
    tu_tensor_free(c->tb);
    tu_tensor_free(c->ty);
    glow_backend_close(c->be);
}

/* The definition, in double, written as directly as possible. */
static double conv_reference(const conv_case *c, int n, int i, int j, int co)
{
    int pad = (c->k - 1) / 2;
    double s = c->b[co];
    for (int ky = 0; ky < c->k; ky++)
        for (int kx = 0; kx < c->k; kx++)
            for (int ci = 0; ci < CI; ci++) {
                int si = i + ky - pad, sj = j + kx - pad;
                if (si < 0 || si >= H || sj < 0 || sj >= W)
                    continue;
                s += (double)c->w[((co * c->k + ky) * c->k + kx) * CI + ci] * c->x[((n * H + si) * W + sj) * CI + ci];
            }
    return (c->relu && s < 0.0) ? 0.0 : s;
}

/* Forward on (2,5,3,7) -> Co=5 against the definition in double: the backend
 * sums in double too and rounds once, so the error is one float rounding of
 * |y| < 8: 1e-6. */
static void check_forward_against_definition(int k, int relu)
{
    conv_case c = conv_case_make(k, relu, 100 + k * 10 + relu);
    TU_OK(glow_conv2d_forward(c.be, c.tx, c.tw, c.tb, c.ty, relu));
    float *y = tu_download(c.ty);
    for (int n = 0; n < N; n++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++)
                for (int co = 0; co < CO; co++) {
                    double want = conv_reference(&c, n, i, j, co);
                    double got = y[((n * H + i) * W + j) * CO + co];
                    if (!(fabs(got - want) <= 1e-6))
                        fail_msg("k=%d relu=%d y[%d][%d][%d][%d] = %.9g, expected %.9g", k, relu, n, i, j, co, got,
                                 want);
                }
    free(y);
    conv_case_free(&c);
}

static void test_forward_against_definition(void **state)
{
    (void)state;
    for (int k = 1; k <= 3; k += 2)
        for (int relu = 0; relu <= 1; relu++)
            check_forward_against_definition(k, relu);
}

/* loss = sum_i r_i y_i, in double. */
static double conv_loss(void *ctx)
{
    conv_case *c = ctx;
    TU_OK(glow_tensor_upload(c->tx, c->x));
    TU_OK(glow_tensor_upload(c->tw, c->w));
    TU_OK(glow_tensor_upload(c->tb, c->b));
    TU_OK(glow_conv2d_forward(c->be, c->tx, c->tw, c->tb, c->ty, c->relu));
    float *y = tu_download(c->ty);
    double s = 0.0;
    for (size_t i = 0; i < YCOUNT; i++)
        s += (double)c->r[i] * y[i];
    free(y);
    return s;
}

/* Smallest |pre-activation| over all outputs (the definition without ReLU). */
static double min_abs_preactivation(conv_case *c)
{
    int relu = c->relu;
    c->relu = 0;
    double m = INFINITY;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++)
                for (int co = 0; co < CO; co++)
                    m = fmin(m, fabs(conv_reference(c, n, i, j, co)));
    c->relu = relu;
    return m;
}

/* Gradients of x, w and bias against central differences. Without ReLU the
 * loss is linear in each operand, so the differences are exact up to rounding:
 * outputs rounded once to float (|y| < 8, relative 6e-8) give ~5e-6 in the
 * loss at worst, / (2 eps = 0.02) ~ 3e-4, hence eps 1e-2, atol 1e-3, rtol 1e-3.
 * With ReLU the loss is piecewise linear and a central difference is exact
 * only if no pre-activation z crosses 0 within the step: one step of eps = 1e-3
 * moves any z by at most eps * max(|x|, |w|, 1) = 1e-3, so the data are drawn
 * (first seed that qualifies) with every |z| >= 2e-3. The rounding term grows
 * to ~3e-3 at that eps: atol 5e-3 (a wrong mask or a missing term is off by
 * O(0.1)). */
static void check_gradients(int k, int relu)
{
    uint32_t seed = 200 + k * 10 + relu;
    conv_case c = conv_case_make(k, relu, seed);
    for (int tries = 0; relu && min_abs_preactivation(&c) < 2e-3; tries++) {
        if (tries == 50)
            fail_msg("no seed in 50 gives pre-activations at least 2e-3 away from the ReLU kink");
        conv_case_free(&c);
        seed += 1000;
        c = conv_case_make(k, relu, seed);
    }
    size_t wcount = (size_t)CO * k * k * CI;
    TU_OK(glow_conv2d_forward(c.be, c.tx, c.tw, c.tb, c.ty, relu));
    glow_tensor dy = tu_tensor(c.be, N, H, W, CO, c.r);
    if (relu)
        TU_OK(glow_relu_backward(c.be, c.ty, dy));
    glow_tensor dx = tu_tensor(c.be, N, H, W, CI, NULL), dw = tu_tensor(c.be, CO, k, k, CI, NULL);
    glow_tensor db = tu_tensor(c.be, 1, 1, 1, CO, NULL);
    TU_OK(glow_conv2d_backward_data(c.be, dy, c.tw, dx));
    TU_OK(glow_conv2d_backward_weight(c.be, c.tx, dy, dw, db));
    float *gx = tu_download(dx), *gw = tu_download(dw), *gb = tu_download(db);
    double eps = relu ? 1e-3 : 1e-2, atol = relu ? 5e-3 : 1e-3;
    char what[64];
    snprintf(what, sizeof what, "conv k=%d relu=%d dx", k, relu);
    tu_check_gradient(what, c.x, XCOUNT, gx, conv_loss, &c, eps, 1e-3, atol);
    snprintf(what, sizeof what, "conv k=%d relu=%d dw", k, relu);
    tu_check_gradient(what, c.w, wcount, gw, conv_loss, &c, eps, 1e-3, atol);
    snprintf(what, sizeof what, "conv k=%d relu=%d dbias", k, relu);
    tu_check_gradient(what, c.b, CO, gb, conv_loss, &c, eps, 1e-3, atol);
    free(gx);
    free(gw);
    free(gb);
    tu_tensor_free(dy);
    tu_tensor_free(dx);
    tu_tensor_free(dw);
    tu_tensor_free(db);
    conv_case_free(&c);
}

static void test_gradients_k1(void **state)
{
    (void)state;
    check_gradients(1, 0);
}

static void test_gradients_k1_relu(void **state)
{
    (void)state;
    check_gradients(1, 1);
}

static void test_gradients_k3(void **state)
{
    (void)state;
    check_gradients(3, 0);
}

static void test_gradients_k3_relu(void **state)
{
    (void)state;
    check_gradients(3, 1);
}

/* The backward passes accumulate and dbias may be absent: calling
 * backward_weight twice (once without dbias) gives exactly twice dw. */
static void test_backward_weight_accumulates(void **state)
{
    (void)state;
    conv_case c = conv_case_make(3, 0, 300);
    glow_tensor dy = tu_tensor(c.be, N, H, W, CO, c.r);
    glow_tensor dw = tu_tensor(c.be, CO, 3, 3, CI, NULL), db = tu_tensor(c.be, 1, 1, 1, CO, NULL);
    TU_OK(glow_conv2d_backward_weight(c.be, c.tx, dy, dw, db));
    float *once = tu_download(dw);
    TU_OK(glow_conv2d_backward_weight(c.be, c.tx, dy, dw, glow_tensor_none()));
    float *twice = tu_download(dw);
    for (size_t i = 0; i < glow_tensor_count(dw); i++)
        assert_true(twice[i] == 2.0f * once[i]);
    free(once);
    free(twice);
    tu_tensor_free(dy);
    tu_tensor_free(dw);
    tu_tensor_free(db);
    conv_case_free(&c);
}

/* ---- channel scale y *= exp(factor * logs[c]) ---------------------------------- */

/* Hand example: y = (1, 2 | 3, 4) (two pixels, two channels), factor 3,
 * logs = (0, ln(2)/3): scale (1, 2) -> (1, 4 | 3, 8); expf rounding: 1e-6. */
static void test_channel_scale_hand_example(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    const float y_host[] = {1, 2, 3, 4}, l_host[] = {0.0f, logf(2.0f) / 3.0f}, want[] = {1, 4, 3, 8};
    glow_tensor y = tu_tensor(be, 1, 1, 2, 2, y_host), l = tu_tensor(be, 1, 1, 1, 2, l_host);
    TU_OK(glow_channel_scale_forward(be, y, l, 3.0f));
    float *got = tu_download(y);
    tu_assert_close("channel_scale", got, want, 4, 1e-6);
    free(got);
    tu_tensor_free(y);
    tu_tensor_free(l);
    glow_backend_close(be);
}

typedef struct {
    glow_backend *be;
    float *y0, *l, *r; /* unscaled input, logs, loss weights */
    glow_tensor ty, tl;
} scale_case;

enum { SN = 2, SH = 5, SW = 3, SC = 7 };
#define SCOUNT ((size_t)SN * SH * SW * SC)

static double scale_loss(void *ctx)
{
    scale_case *s = ctx;
    TU_OK(glow_tensor_upload(s->ty, s->y0));
    TU_OK(glow_tensor_upload(s->tl, s->l));
    TU_OK(glow_channel_scale_forward(s->be, s->ty, s->tl, GLOW_ZEROCONV_LOGSCALE_FACTOR));
    float *y = tu_download(s->ty);
    double sum = 0.0;
    for (size_t i = 0; i < SCOUNT; i++)
        sum += (double)s->r[i] * y[i];
    free(y);
    return sum;
}

/* Gradients of logs and of the unscaled input against central differences,
 * factor 3, |logs| <= 0.2: the loss is linear in y0 (exact differences) and
 * in logs the truncation is (3 eps)^2/6 ~ 1.5e-5 relative at eps = 1e-3;
 * rounding ~1e-6 / 2e-3 ~ 5e-4: rtol 1e-3, atol 1e-3. */
static void test_channel_scale_gradients(void **state)
{
    (void)state;
    scale_case s;
    s.be = tu_open_cpu();
    s.y0 = tu_random(SCOUNT, 400, -1.0f, 1.0f);
    s.l = tu_random(SC, 401, -0.2f, 0.2f);
    s.r = tu_random(SCOUNT, 402, -1.0f, 1.0f);
    s.ty = tu_tensor(s.be, SN, SH, SW, SC, s.y0);
    s.tl = tu_tensor(s.be, 1, 1, 1, SC, s.l);
    TU_OK(glow_channel_scale_forward(s.be, s.ty, s.tl, GLOW_ZEROCONV_LOGSCALE_FACTOR));
    glow_tensor dy = tu_tensor(s.be, SN, SH, SW, SC, s.r), dl = tu_tensor(s.be, 1, 1, 1, SC, NULL);
    TU_OK(glow_channel_scale_backward(s.be, s.ty, dy, s.tl, GLOW_ZEROCONV_LOGSCALE_FACTOR, dl));
    float *gl = tu_download(dl), *gy = tu_download(dy);
    tu_check_gradient("channel_scale dlogs", s.l, SC, gl, scale_loss, &s, 1e-3, 1e-3, 1e-3);
    tu_check_gradient("channel_scale dy (unscaled)", s.y0, SCOUNT, gy, scale_loss, &s, 1e-2, 1e-3, 1e-3);
    free(gl);
    free(gy);
    free(s.y0);
    free(s.l);
    free(s.r);
    tu_tensor_free(s.ty);
    tu_tensor_free(s.tl);
    tu_tensor_free(dy);
    tu_tensor_free(dl);
    glow_backend_close(s.be);
}

/* ---- edge-indicator padding (--pad edge) ------------------------------------------ */

/* openai/glow's formulation, in double, independent of the op's "taps outside" rule:
 * the input padded by one pixel with zeros, plus one more channel that is 1 in the
 * padded border and 0 inside, then a VALID 3x3 conv with the weights (w, w_edge):
 *   xp[n][i][j][ci] = x[n][i-1][j-1][ci] inside, 0 in the border (0 <= i < H+2, 0 <= j < W+2)
 *   xp[n][i][j][CI] = 1 in the border, 0 inside
 *   y[n][i][j][co] = act(b[co] + sum_{ky,kx} (sum_ci w[co][ky][kx][ci] xp[n][i+ky][j+kx][ci]
 *                                              + w_edge[co][ky][kx] xp[n][i+ky][j+kx][CI])) */
static double edge_conv_reference(const conv_case *c, const float *w_edge, int n, int i, int j, int co)
{
    double s = c->b[co];
    for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++) {
            int pi = i + ky, pj = j + kx; /* in the padded image */
            int border = pi == 0 || pi == H + 1 || pj == 0 || pj == W + 1;
            for (int ci = 0; ci <= CI; ci++) {
                double xv = ci == CI ? (double)border
                            : border ? 0.0
                                     : (double)c->x[((n * H + (pi - 1)) * W + (pj - 1)) * CI + ci];
                double wv = ci == CI ? w_edge[co * 9 + ky * 3 + kx] : c->w[((co * 3 + ky) * 3 + kx) * CI + ci];
                s += wv * xv;
            }
        }
    return (c->relu && s < 0.0) ? 0.0 : s;
}

/* conv2d_forward (no activation) then conv2d_edge_forward (with the activation) against
 * the padded-input definition above, on (2,5,3,7) -> Co=5: two float roundings of
 * |y| < 10 (the conv's and the edge term's addition): 2e-6. */
static void test_edge_against_openai_definition(void **state)
{
    (void)state;
    for (int relu = 0; relu <= 1; relu++) {
        conv_case c = conv_case_make(3, relu, 300 + relu);
        float *we = tu_random((size_t)CO * 9, 310 + relu, -1.0f, 1.0f);
        glow_tensor twe = tu_tensor(c.be, CO, 3, 3, 1, we);
        TU_OK(glow_conv2d_forward(c.be, c.tx, c.tw, c.tb, c.ty, 0));
        TU_OK(glow_conv2d_edge_forward(c.be, twe, c.ty, relu));
        float *y = tu_download(c.ty);
        int border_changed = 0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++)
                    for (int co = 0; co < CO; co++) {
                        double want = edge_conv_reference(&c, we, n, i, j, co);
                        double got = y[((n * H + i) * W + j) * CO + co];
                        if (!(fabs(got - want) <= 2e-6))
                            fail_msg("relu=%d y[%d][%d][%d][%d] = %.9g, openai/glow's edge padding gives %.9g", relu,
                                     n, i, j, co, got, want);
                        c.relu = 0;
                        border_changed += fabs(edge_conv_reference(&c, we, n, i, j, co) -
                                               conv_reference(&c, n, i, j, co)) > 1e-3;
                        c.relu = relu;
                    }
        /* every output pixel of a 5x3 image but the 3 interior ones is on the border */
        assert_true(border_changed >= N * (H * W - 3) * CO * 9 / 10);
        free(y);
        free(we);
        tu_tensor_free(twe);
        conv_case_free(&c);
    }
}

typedef struct {
    glow_backend *be;
    float *we, *y0, *r; /* w_edge (CO,3,3,1), the conv output before the term, loss weights */
    glow_tensor twe, ty;
} edge_case;

/* loss = sum_i r_i edge_forward(w_edge, y0)_i (no activation), in double. */
static double edge_loss(void *ctx)
{
    edge_case *e = ctx;
    TU_OK(glow_tensor_upload(e->twe, e->we));
    TU_OK(glow_tensor_upload(e->ty, e->y0));
    TU_OK(glow_conv2d_edge_forward(e->be, e->twe, e->ty, 0));
    float *y = tu_download(e->ty);
    double s = 0.0;
    for (size_t i = 0; i < YCOUNT; i++)
        s += (double)e->r[i] * y[i];
    free(y);
    return s;
}

/* dw_edge from conv2d_edge_backward_weight (accumulating onto a non-zero start) against
 * central differences of the loss above. The loss is linear in w_edge, so the difference
 * is exact up to rounding: outputs |y| < 5 rounded once (3e-7 each, 150 of them) give
 * ~5e-5 in the loss, / (2 eps = 0.02): atol 5e-3, rtol 1e-3 (a tap counted wrongly is off
 * by a whole |r| ~ 0.5). */
static void test_edge_gradient(void **state)
{
    (void)state;
    edge_case e;
    e.be = tu_open_cpu();
    e.we = tu_random((size_t)CO * 9, 320, -1.0f, 1.0f);
    e.y0 = tu_random(YCOUNT, 321, -1.0f, 1.0f);
    e.r = tu_random(YCOUNT, 322, -1.0f, 1.0f);
    e.twe = tu_tensor(e.be, CO, 3, 3, 1, e.we);
    e.ty = tu_tensor(e.be, N, H, W, CO, e.y0);
    float *start = tu_random((size_t)CO * 9, 323, -1.0f, 1.0f);
    glow_tensor dy = tu_tensor(e.be, N, H, W, CO, e.r), dwe = tu_tensor(e.be, CO, 3, 3, 1, start);
    TU_OK(glow_conv2d_edge_backward_weight(e.be, dy, dwe));
    float *g = tu_download(dwe);
    for (size_t i = 0; i < (size_t)CO * 9; i++)
        g[i] -= start[i];
    /* the centre tap is never outside the image: its gradient is exactly 0 */
    for (int co = 0; co < CO; co++)
        assert_true(g[co * 9 + 4] == 0.0f);
    tu_check_gradient("conv2d_edge dw_edge", e.we, (size_t)CO * 9, g, edge_loss, &e, 1e-2, 1e-3, 5e-3);
    free(g);
    free(start);
    free(e.we);
    free(e.y0);
    free(e.r);
    tu_tensor_free(e.twe);
    tu_tensor_free(e.ty);
    tu_tensor_free(dy);
    tu_tensor_free(dwe);
    glow_backend_close(e.be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_hand_examples),
        cmocka_unit_test(test_forward_against_definition),
        cmocka_unit_test(test_gradients_k1),
        cmocka_unit_test(test_gradients_k1_relu),
        cmocka_unit_test(test_gradients_k3),
        cmocka_unit_test(test_gradients_k3_relu),
        cmocka_unit_test(test_backward_weight_accumulates),
        cmocka_unit_test(test_channel_scale_hand_example),
        cmocka_unit_test(test_channel_scale_gradients),
        cmocka_unit_test(test_edge_against_openai_definition),
        cmocka_unit_test(test_edge_gradient),
    };
    return cmocka_run_group_tests_name("cpu conv", tests, NULL, NULL);
}
