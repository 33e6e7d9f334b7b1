/* CPU reference: per-sample vectors of the class-conditional model (glow/ops.def,
 * "class-conditional prior and class prediction").
 * x: (N,H,W,C) NHWC; v: (N,1,1,C); logits, target: (N,1,1,K); loss: (1,1,1,N).
 * Sums in double. */
#include "ref_internal.h"

#include <math.h>

/* v[n][c] (= or +=) scale * sum_{i,j} x[n][i][j][c]. */
glow_status ref_spatial_sum(glow_backend *be, glow_tensor x, float scale, glow_tensor v, int accumulate)
{
    (void)be;
    const int C = x.c;
    const size_t hw = (size_t)x.h * x.w;
    const float *xv = ref_data(x);
    float *vv = ref_data(v);
    for (int n = 0; n < x.n; n++)
        for (int c = 0; c < C; c++) {
            double sum = 0.0;
            for (size_t q = 0; q < hw; q++)
                sum += xv[((size_t)n * hw + q) * C + c];
            float term = (float)((double)scale * sum);
            float *out = vv + (size_t)n * C + c;
            *out = accumulate ? *out + term : term;
        }
    return GLOW_OK;
}

/* x[n][i][j][c] += scale * v[n][c]. */
glow_status ref_spatial_broadcast_add(glow_backend *be, glow_tensor v, float scale, glow_tensor x)
{
    (void)be;
    const int C = x.c;
    const size_t hw = (size_t)x.h * x.w;
    const float *vv = ref_data(v);
    float *xv = ref_data(x);
    for (int n = 0; n < x.n; n++)
        for (size_t q = 0; q < hw; q++)
            for (int c = 0; c < C; c++)
                xv[((size_t)n * hw + q) * C + c] += scale * vv[(size_t)n * C + c];
    return GLOW_OK;
}

/* logsumexp of a row of K logits, max-shifted: m + log sum_k exp(l_k - m). */
static double row_logsumexp(const float *l, int K)
{
    double m = l[0];
    for (int k = 1; k < K; k++)
        m = l[k] > m ? l[k] : m;
    double s = 0.0;
    for (int k = 0; k < K; k++)
        s += exp((double)l[k] - m);
    return m + log(s);
}

/* loss[n] = -sum_k t_k log softmax(l)_k = (sum_k t_k) logsumexp_k l_k - sum_k t_k l_k,
 * l = logits[n], t = target[n]. */
glow_status ref_softmax_xent(glow_backend *be, glow_tensor logits, glow_tensor target, glow_tensor loss)
{
    (void)be;
    const int K = logits.c;
    const float *l = ref_data(logits), *t = ref_data(target);
    float *out = ref_data(loss);
    for (int n = 0; n < logits.n; n++) {
        const float *ln = l + (size_t)n * K, *tn = t + (size_t)n * K;
        double dot = 0.0, tsum = 0.0;
        for (int k = 0; k < K; k++) {
            dot += (double)tn[k] * ln[k];
            tsum += tn[k];
        }
        out[n] = (float)(tsum * row_logsumexp(ln, K) - dot);
    }
    return GLOW_OK;
}

/* dlogits[n][k] += g * (softmax(logits[n])[k] * sum_j target[n][j] - target[n][k]). */
glow_status ref_softmax_xent_backward(glow_backend *be, glow_tensor logits, glow_tensor target, float g,
                                      glow_tensor dlogits)
{
    (void)be;
    const int K = logits.c;
    const float *l = ref_data(logits), *t = ref_data(target);
    float *d = ref_data(dlogits);
    for (int n = 0; n < logits.n; n++) {
        const float *ln = l + (size_t)n * K, *tn = t + (size_t)n * K;
        double lse = row_logsumexp(ln, K), tsum = 0.0;
        for (int k = 0; k < K; k++)
            tsum += tn[k];
        for (int k = 0; k < K; k++) {
            double s = exp((double)ln[k] - lse);
            d[(size_t)n * K + k] += (float)((double)g * (s * tsum - (double)tn[k]));
        }
    }
    return GLOW_OK;
}
