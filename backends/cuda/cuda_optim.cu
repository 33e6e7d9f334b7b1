/* CUDA: gradient sum of squares and the Adam/Adamax step over one flat arena
 * (shaders: sum_squares.comp, optimizer_step.comp). */
#include "cuda_internal.h"

#include <math.h>

enum { SUMSQ_MAX_BLOCKS = 1024 };

/* Stage 1: block b sums g[i]^2 over i = b*T + t, (b + B)*T + t, ... (strided by
 * the whole grid) in double, then a tree; partial[b]. */
__global__ void sum_squares_partial_kernel(const float *g, size_t count, double *partial)
{
    __shared__ double shared[CU_THREADS];
    double acc = 0.0;
    CU_FOR_EACH(i, count)
    acc += (double)g[i] * g[i];
    double total = cu_block_sum(acc, shared);
    if (threadIdx.x == 0)
        partial[blockIdx.x] = total;
}

/* Stage 2, one block: out[0] = (float) sum of the partials (strided, then a tree). */
__global__ void sum_squares_finish_kernel(const double *partial, int blocks, float *out)
{
    __shared__ double shared[CU_THREADS];
    double acc = 0.0;
    for (int b = threadIdx.x; b < blocks; b += CU_THREADS)
        acc += partial[b];
    double total = cu_block_sum(acc, shared);
    if (threadIdx.x == 0)
        out[0] = (float)total;
}

/* out[0] = sum_i g[i]^2. The grid size depends on the count only, so the
 * summation order (and the result) is fixed for a given arena. */
glow_status cu_sum_squares(glow_backend *be, glow_tensor g, glow_tensor out)
{
    const char *op = "sum_squares";
    size_t count = glow_tensor_count(g);
    size_t per_block = (size_t)CU_THREADS * 8;
    size_t want = (count + per_block - 1) / per_block;
    int blocks = want < 1 ? 1 : want > SUMSQ_MAX_BLOCKS ? SUMSQ_MAX_BLOCKS : (int)want;
    void *scratch;
    GLOW_TRY(cu_scratch(be, (size_t)blocks * sizeof(double), op, &scratch));
    sum_squares_partial_kernel<<<blocks, CU_THREADS, 0, cu_stream(be)>>>(cu_data(g), count, (double *)scratch);
    GLOW_TRY(cu_launched(op));
    sum_squares_finish_kernel<<<1, CU_THREADS, 0, cu_stream(be)>>>((const double *)scratch, blocks, cu_data(out));
    return cu_launched(op);
}

struct adam_step_args {
    int adamax;
    float b1, b2, eps;
    cu_adam_dyn dyn; /* lr, 1 - b1^t, 1 - b2^t (cu_adam_dyn_of, cuda_step.h) */
    float max_grad_norm;
};

/* Guard: sumsq given and sumsq[0] NaN or +-Inf: nothing is written (every thread reads the
 * same value, so the whole grid skips).
 * clip = min(1, max_grad_norm / (sqrt(sumsq[0]) + 1e-6)) when clipping, else 1.
 *   g' = g clip;  m = b1 m + (1-b1) g'
 *   Adam:   v = b2 v + (1-b2) g'^2;   p -= lr (m / bc1) / (sqrt(v / bc2) + eps)
 *   Adamax: v = max(b2 v, |g'|);      p -= lr / bc1 * m / (v + eps) */
__global__ void optimizer_step_kernel(float *p, const float *g, float *m, float *v, size_t count, adam_step_args a,
                                      const cu_adam_dyn *dyn, const float *sumsq)
{
    /* lr and the bias corrections: by value when launched eagerly, from the step graph's
     * slot (dyn != NULL, cuda_step.h) when captured, where they change per step. */
    const cu_adam_dyn d = dyn ? *dyn : a.dyn;
    if (sumsq && !isfinite(sumsq[0]))
        return;
    float clip = 1.0f;
    if (sumsq && a.max_grad_norm > 0.0f) {
        double c = (double)a.max_grad_norm / (sqrt((double)sumsq[0]) + 1e-6);
        clip = c < 1.0 ? (float)c : 1.0f;
    }
    CU_FOR_EACH(i, count)
    {
        float gc = g[i] * clip;
        float mi = a.b1 * m[i] + (1.0f - a.b1) * gc;
        m[i] = mi;
        if (!a.adamax) {
            float vi = a.b2 * v[i] + (1.0f - a.b2) * gc * gc;
            v[i] = vi;
            p[i] -= d.lr * (mi / d.bc1) / (sqrtf(vi / d.bc2) + a.eps);
        } else {
            float decayed = a.b2 * v[i], mag = fabsf(gc);
            float vi = decayed > mag ? decayed : mag;
            v[i] = vi;
            p[i] -= d.lr / d.bc1 * mi / (vi + a.eps);
        }
    }
}

glow_status cu_optimizer_step(glow_backend *be, glow_tensor params, glow_tensor grads, glow_tensor m, glow_tensor v,
                              const glow_adam_params *hp, glow_tensor sumsq)
{
    adam_step_args a;
    a.adamax = hp->kind == GLOW_OPT_ADAMAX;
    a.b1 = hp->beta1;
    a.b2 = hp->beta2;
    a.eps = hp->eps;
    a.dyn = cu_adam_dyn_of(hp);
    a.max_grad_norm = hp->max_grad_norm;
    const float *s = sumsq.buf ? cu_data(sumsq) : NULL; /* guard, and clipping when max_grad_norm > 0 */
    size_t count = glow_tensor_count(params);
    optimizer_step_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(
        cu_data(params), cu_data(grads), cu_data(m), cu_data(v), count, a,
        (const cu_adam_dyn *)cu_state(be)->step.adam_slot, s);
    return cu_launched("optimizer_step");
}
