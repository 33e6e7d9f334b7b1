/* Fast CPU backend: gradient sum of squares and the Adam/Adamax step over one
 * flat arena (params, grads, m, v: equal element counts), in fixed-size parts
 * on the pool. */
#include "cpu_internal.h"

#include <math.h>
#include <stdlib.h>

enum { OPT_GRAIN = 1 << 15 };

typedef struct {
    const float *g;
    float *p, *m, *v;
    double *partial;
    size_t count;
    float clip, b1, b2, eps, lr, bc1, bc2;
    glow_optimizer kind;
} opt_ctx;

/* partial[part] = sum g^2 over the part: float lanes of 8, then double. */
static void sum_squares_part(void *ctxp, size_t part, int worker)
{
    (void)worker;
    const opt_ctx *k = ctxp;
    size_t b, e;
    cpu_part_range(part, OPT_GRAIN, k->count, &b, &e);
    float lane[8] = {0};
    size_t i = b;
    for (; i + 8 <= e; i += 8)
        for (int l = 0; l < 8; l++)
            lane[l] += k->g[i + l] * k->g[i + l];
    double sum = 0.0;
    for (int l = 0; l < 8; l++)
        sum += lane[l];
    for (; i < e; i++)
        sum += (double)k->g[i] * k->g[i];
    k->partial[part] = sum;
}

glow_status cpu_sum_squares(glow_backend *be, glow_tensor g, glow_tensor out)
{
    opt_ctx k = {.g = cpu_data(g), .count = glow_tensor_count(g)};
    size_t parts = cpu_parts(k.count, OPT_GRAIN);
    k.partial = calloc(parts, sizeof(double));
    if (k.partial == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "cpu sum_squares: no memory for %zu partial sums", parts);
    cpu_parallel(be, parts, sum_squares_part, &k);
    double sum = 0.0;
    for (size_t part = 0; part < parts; part++)
        sum += k.partial[part];
    cpu_data(out)[0] = (float)sum;
    free(k.partial);
    return GLOW_OK;
}

/*   g' = g clip;  m = b1 m + (1-b1) g'
 *   Adam:   v = b2 v + (1-b2) g'^2;   p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 *   Adamax: v = max(b2 v, |g'|);      p -= lr / (1-b1^t) * m / (v + eps) */
static void step_part(void *ctxp, size_t part, int worker)
{
    (void)worker;
    const opt_ctx *k = ctxp;
    size_t b, e;
    cpu_part_range(part, OPT_GRAIN, k->count, &b, &e);
    const float b1 = k->b1, b2 = k->b2, eps = k->eps, lr = k->lr, bc1 = k->bc1, bc2 = k->bc2, clip = k->clip;
    float *p = k->p, *m = k->m, *v = k->v;
    const float *g = k->g;
    if (k->kind == GLOW_OPT_ADAM) {
        for (size_t i = b; i < e; i++) {
            float gc = g[i] * clip;
            m[i] = b1 * m[i] + (1.0f - b1) * gc;
            v[i] = b2 * v[i] + (1.0f - b2) * gc * gc;
            p[i] -= lr * (m[i] / bc1) / (sqrtf(v[i] / bc2) + eps);
        }
    } else {
        for (size_t i = b; i < e; i++) {
            float gc = g[i] * clip;
            m[i] = b1 * m[i] + (1.0f - b1) * gc;
            float decayed = b2 * v[i], mag = fabsf(gc);
            v[i] = decayed > mag ? decayed : mag;
            p[i] -= lr / bc1 * m[i] / (v[i] + eps);
        }
    }
}

glow_status cpu_optimizer_step(glow_backend *be, glow_tensor params, glow_tensor grads, glow_tensor m, glow_tensor v,
                               const glow_adam_params *hp, glow_tensor sumsq)
{
    if (sumsq.buf && !isfinite(cpu_data(sumsq)[0]))
        return GLOW_OK;
    float clip = 1.0f;
    if (hp->max_grad_norm > 0.0f && sumsq.buf) {
        double norm = sqrt((double)cpu_data(sumsq)[0]);
        double c = (double)hp->max_grad_norm / (norm + 1e-6);
        clip = c < 1.0 ? (float)c : 1.0f;
    }
    opt_ctx k = {.g = cpu_data(grads), .p = cpu_data(params), .m = cpu_data(m), .v = cpu_data(v),
                 .count = glow_tensor_count(params), .clip = clip, .b1 = hp->beta1, .b2 = hp->beta2,
                 .eps = hp->eps, .lr = hp->lr, .kind = hp->kind,
                 .bc1 = (float)(1.0 - pow((double)hp->beta1, (double)hp->step)),
                 .bc2 = (float)(1.0 - pow((double)hp->beta2, (double)hp->step))};
    cpu_parallel(be, cpu_parts(k.count, OPT_GRAIN), step_part, &k);
    return GLOW_OK;
}
