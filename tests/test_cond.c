/* The per-sample vector ops of the class-conditional model (glow/ops.def) on the
 * CPU reference: hand examples, and each backward against finite differences
 * of its forward (spatial_broadcast_add is the backward of spatial_sum and
 * softmax_xent_backward that of softmax_xent). */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>

/* x (N=2, H=1, W=2, C=2) = [[1, 2], [3, 4]] | [[-1, 0.5], [0, 0.5]]:
 *   spatial_sum, scale 0.5: v = [2, 3] | [-0.5, 0.5]; accumulated onto 1: [3, 4] | [0.5, 1.5]
 *   broadcast of v' = [1, -1] | [2, 0], scale 2, onto x: [[3, 0], [5, 2]] | [[3, 0.5], [4, 0.5]] */
static void test_hand_examples(void **state)
{
    glow_backend *be = *state;
    const float x[8] = {1, 2, 3, 4, -1, 0.5f, 0, 0.5f};
    const float want_sum[4] = {2, 3, -0.5f, 0.5f}, want_acc[4] = {3, 4, 0.5f, 1.5f};
    const float vb[4] = {1, -1, 2, 0}, want_add[8] = {3, 0, 5, 2, 3, 0.5f, 4, 0.5f};
    glow_tensor tx = tu_tensor(be, 2, 1, 2, 2, x), tv = tu_tensor(be, 2, 1, 1, 2, NULL);
    TU_OK(glow_spatial_sum(be, tx, 0.5f, tv, 0));
    float *got = tu_download(tv);
    tu_assert_close("spatial_sum", got, want_sum, 4, 0.0);
    free(got);
    TU_OK(glow_fill(be, tv, 1.0f));
    TU_OK(glow_spatial_sum(be, tx, 0.5f, tv, 1));
    got = tu_download(tv);
    tu_assert_close("spatial_sum (+=)", got, want_acc, 4, 0.0);
    free(got);
    TU_OK(glow_tensor_upload(tv, vb));
    TU_OK(glow_spatial_broadcast_add(be, tv, 2.0f, tx));
    got = tu_download(tx);
    tu_assert_close("spatial_broadcast_add", got, want_add, 8, 0.0);
    free(got);
    tu_tensor_free(tx);
    tu_tensor_free(tv);

    /* logits [0, ln 3] (softmax [1/4, 3/4]), target class 1: loss = ln 4 - ln 3 = 0.2876820725;
     * target class 0: ln 4 = 1.3862943611. Gradient, g = 2: 2 (s - t) = [0.5, -0.5] and [-1.5, 1.5]. */
    const float l3 = (float)log(3.0);
    const float logits[4] = {0, l3, 0, l3}, target[4] = {0, 1, 1, 0};
    const float want_loss[2] = {0.2876820725f, 1.3862943611f}, want_grad[4] = {0.5f, -0.5f, -1.5f, 1.5f};
    glow_tensor tl = tu_tensor(be, 2, 1, 1, 2, logits), tt = tu_tensor(be, 2, 1, 1, 2, target);
    glow_tensor loss = tu_tensor(be, 1, 1, 1, 2, NULL), dl = tu_tensor(be, 2, 1, 1, 2, NULL);
    TU_OK(glow_softmax_xent(be, tl, tt, loss));
    TU_OK(glow_softmax_xent_backward(be, tl, tt, 2.0f, dl));
    got = tu_download(loss);
    tu_assert_close("softmax_xent", got, want_loss, 2, 3e-7); /* ln 3 rounded to float: 1e-8 */
    free(got);
    got = tu_download(dl);
    tu_assert_close("softmax_xent_backward", got, want_grad, 4, 3e-7);
    free(got);
    tu_tensor_free(tl);
    tu_tensor_free(tt);
    tu_tensor_free(loss);
    tu_tensor_free(dl);
}

/* loss = sum_{n,c} w[n][c] * v[n][c], v = spatial_sum(x, scale): dloss/dx = broadcast(w, scale). */
typedef struct {
    glow_backend *be;
    float *x, *w;
    float scale;
    glow_tensor tx, tv;
} sum_loss;

static double sum_loss_eval(void *ctx)
{
    sum_loss *L = ctx;
    TU_OK(glow_tensor_upload(L->tx, L->x));
    TU_OK(glow_spatial_sum(L->be, L->tx, L->scale, L->tv, 0));
    float *v = tu_download(L->tv);
    double loss = 0.0;
    for (size_t i = 0; i < glow_tensor_count(L->tv); i++)
        loss += (double)L->w[i] * v[i];
    free(v);
    return loss;
}

static void test_spatial_sum_backward_is_broadcast(void **state)
{
    glow_backend *be = *state;
    const int n = 3, h = 2, w = 3, c = 4;
    const size_t nx = (size_t)n * h * w * c, nv = (size_t)n * c;
    sum_loss L = {.be = be, .scale = 1.0f / 6.0f};
    L.x = tu_random(nx, 11, -1.0f, 1.0f);
    L.w = tu_random(nv, 12, -2.0f, 2.0f);
    L.tx = tu_tensor(be, n, h, w, c, NULL);
    L.tv = tu_tensor(be, n, 1, 1, c, NULL);
    glow_tensor tw = tu_tensor(be, n, 1, 1, c, L.w), dx = tu_tensor(be, n, h, w, c, NULL);
    TU_OK(glow_spatial_broadcast_add(be, tw, L.scale, dx));
    float *g = tu_download(dx);
    /* the loss is linear in x: no truncation error; float rounding of v (|v| <= 1, ulp 1.2e-7)
     * over eps = 1e-2: 1e-5 of noise. */
    tu_check_gradient("spatial_sum dx", L.x, nx, g, sum_loss_eval, &L, 1e-2, 1e-3, 5e-5);
    free(g);
    free(L.x);
    free(L.w);
    tu_tensor_free(L.tx);
    tu_tensor_free(L.tv);
    tu_tensor_free(tw);
    tu_tensor_free(dx);
}

/* loss = g * sum_n softmax_xent(logits, target)[n]. */
typedef struct {
    glow_backend *be;
    float *logits;
    float g;
    glow_tensor tl, tt, tloss;
} xent_loss;

static double xent_loss_eval(void *ctx)
{
    xent_loss *L = ctx;
    TU_OK(glow_tensor_upload(L->tl, L->logits));
    TU_OK(glow_softmax_xent(L->be, L->tl, L->tt, L->tloss));
    float *v = tu_download(L->tloss);
    double loss = 0.0;
    for (size_t i = 0; i < glow_tensor_count(L->tloss); i++)
        loss += (double)L->g * v[i];
    free(v);
    return loss;
}

static void test_softmax_xent_backward_matches_finite_differences(void **state)
{
    glow_backend *be = *state;
    for (int soft = 0; soft <= 1; soft++) {
        const int n = 4, k = 5;
        const size_t nl = (size_t)n * k;
        float *target = soft ? tu_random(nl, 21, 0.0f, 1.0f) : calloc(nl, sizeof(float));
        assert_non_null(target);
        if (!soft)
            for (int i = 0; i < n; i++)
                target[(size_t)i * k + (size_t)(3 * i + 1) % k] = 1.0f;
        xent_loss L = {.be = be, .g = -0.7f};
        L.logits = tu_random(nl, 22, -3.0f, 3.0f);
        L.tl = tu_tensor(be, n, 1, 1, k, NULL);
        L.tt = tu_tensor(be, n, 1, 1, k, target);
        L.tloss = tu_tensor(be, 1, 1, 1, n, NULL);
        glow_tensor dl = tu_tensor(be, n, 1, 1, k, NULL);
        TU_OK(glow_tensor_upload(L.tl, L.logits));
        TU_OK(glow_softmax_xent_backward(be, L.tl, L.tt, L.g, dl));
        float *g = tu_download(dl);
        /* eps = 1e-2: the loss is smooth with third derivatives below 1 (softmax), so
         * truncation eps^2/6 ~ 2e-5; losses below ~10 (ulp 1e-6) over 2e-2: 5e-5 of noise. */
        tu_check_gradient(soft ? "softmax_xent dlogits (soft)" : "softmax_xent dlogits", L.logits, nl, g,
                          xent_loss_eval, &L, 1e-2, 1e-3, 2e-4);
        free(g);
        free(target);
        free(L.logits);
        tu_tensor_free(L.tl);
        tu_tensor_free(L.tt);
        tu_tensor_free(L.tloss);
        tu_tensor_free(dl);
    }
}

/* A large logit does not overflow: loss of [1000, 0] with class 0 is log(1 + e^-1000) = 0. */
static void test_softmax_xent_is_stable(void **state)
{
    glow_backend *be = *state;
    const float logits[2] = {1000.0f, 0.0f}, target[2] = {1.0f, 0.0f};
    glow_tensor tl = tu_tensor(be, 1, 1, 1, 2, logits), tt = tu_tensor(be, 1, 1, 1, 2, target);
    glow_tensor loss = tu_tensor(be, 1, 1, 1, 1, NULL);
    TU_OK(glow_softmax_xent(be, tl, tt, loss));
    float *got = tu_download(loss);
    const float zero = 0.0f;
    tu_assert_close("softmax_xent of a large logit", got, &zero, 1, 0.0);
    free(got);
    tu_tensor_free(tl);
    tu_tensor_free(tt);
    tu_tensor_free(loss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_examples),
        cmocka_unit_test(test_spatial_sum_backward_is_broadcast),
        cmocka_unit_test(test_softmax_xent_backward_matches_finite_differences),
        cmocka_unit_test(test_softmax_xent_is_stable),
    };
    return tu_exit_status(cmocka_run_group_tests(tests, tu_setup_cpu, tu_teardown_backend));
}
