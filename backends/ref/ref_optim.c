/* CPU reference: gradient sum of squares and the Adam/Adamax step over one flat
 * arena (params, grads, m, v: equal element counts). */
#include "ref_internal.h"

#include <math.h>

/* out[0] = sum_i g[i]^2, accumulated in double. */
glow_status ref_sum_squares(glow_backend *be, glow_tensor g, glow_tensor out)
{
    (void)be;
    const float *gv = ref_data(g);
    size_t count = glow_tensor_count(g);
    double sum = 0.0;
    for (size_t i = 0; i < count; i++)
        sum += (double)gv[i] * gv[i];
    ref_data(out)[0] = (float)sum;
    return GLOW_OK;
}

/* Guard: when sumsq is given and sumsq[0] is NaN or +-Inf, nothing is written.
 * clip = min(1, max_grad_norm / (sqrt(sumsq) + 1e-6)) when clipping, else 1.
 *   g' = g clip;  m = b1 m + (1-b1) g'
 *   Adam:   v = b2 v + (1-b2) g'^2;   p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 *   Adamax: v = max(b2 v, |g'|);      p -= lr / (1-b1^t) * m / (v + eps)
 * The bias corrections 1 - b^t are computed once in double. */
glow_status ref_optimizer_step(glow_backend *be, glow_tensor params, glow_tensor grads, glow_tensor m, glow_tensor v,
                               const glow_adam_params *hp, glow_tensor sumsq)
{
    (void)be;
    if (sumsq.buf && !isfinite(ref_data(sumsq)[0]))
        return GLOW_OK;
    float clip = 1.0f;
    if (hp->max_grad_norm > 0.0f && sumsq.buf) {
        double norm = sqrt((double)ref_data(sumsq)[0]);
        double c = (double)hp->max_grad_norm / (norm + 1e-6);
        clip = c < 1.0 ? (float)c : 1.0f;
    }
    const float b1 = hp->beta1, b2 = hp->beta2, eps = hp->eps, lr = hp->lr;
    const float bc1 = (float)(1.0 - pow((double)b1, (double)hp->step));
    const float bc2 = (float)(1.0 - pow((double)b2, (double)hp->step));
    float *p = ref_data(params), *mv = ref_data(m), *vv = ref_data(v);
    const float *g = ref_data(grads);
    size_t count = glow_tensor_count(params);
    for (size_t i = 0; i < count; i++) {
        float gc = g[i] * clip;
        mv[i] = b1 * mv[i] + (1.0f - b1) * gc;
        if (hp->kind == GLOW_OPT_ADAM) {
            vv[i] = b2 * vv[i] + (1.0f - b2) * gc * gc;
            p[i] -= lr * (mv[i] / bc1) / (sqrtf(vv[i] / bc2) + eps);
        } else {
            float decayed = b2 * vv[i], mag = fabsf(gc);
            vv[i] = decayed > mag ? decayed : mag;
            p[i] -= lr / bc1 * mv[i] / (vv[i] + eps);
        }
    }
    return GLOW_OK;
}
