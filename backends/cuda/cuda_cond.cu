/* CUDA: per-sample vectors of the class-conditional model (shaders: cond/spatial_sum.comp,
 * spatial_broadcast_add.comp, softmax_xent.comp, softmax_xent_backward.comp).
 * x: (N,H,W,C); v: (N,1,1,C); logits, target: (N,1,1,K); loss: (1,1,1,N).
 * Semantics: include/glow/ops.def. One thread per output, sums in double in a fixed
 * order (no atomics), so results are deterministic. */
#include "cuda_internal.h"

/* v[n][c] (= or +=) scale * sum_q x[n][q][c], one thread per (n, c). */
__global__ void spatial_sum_kernel(const float *x, float scale, float *v, size_t count, size_t hw, int C,
                                   int accumulate)
{
    CU_FOR_EACH(i, count)
    {
        size_t n = i / C;
        int c = (int)(i - n * C);
        const float *xn = x + n * hw * C + c;
        double sum = 0.0;
        for (size_t q = 0; q < hw; q++)
            sum += xn[q * C];
        float term = (float)((double)scale * sum);
        v[i] = accumulate ? v[i] + term : term;
    }
}

glow_status cu_spatial_sum(glow_backend *be, glow_tensor x, float scale, glow_tensor v, int accumulate)
{
    size_t count = glow_tensor_count(v);
    spatial_sum_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(
        cu_data(x), scale, cu_data(v), count, (size_t)x.h * x.w, x.c, accumulate);
    return cu_launched("spatial_sum");
}

/* x[n][q][c] += scale * v[n][c], one thread per element of x. */
__global__ void spatial_broadcast_add_kernel(const float *v, float scale, float *x, size_t count, size_t hw, int C)
{
    CU_FOR_EACH(i, count)
    {
        size_t n = i / (hw * C);
        int c = (int)(i % C);
        x[i] += scale * v[n * C + c];
    }
}

glow_status cu_spatial_broadcast_add(glow_backend *be, glow_tensor v, float scale, glow_tensor x)
{
    size_t count = glow_tensor_count(x);
    spatial_broadcast_add_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(
        cu_data(v), scale, cu_data(x), count, (size_t)x.h * x.w, x.c);
    return cu_launched("spatial_broadcast_add");
}

/* m + log sum_k exp(l_k - m), m = max_k l_k, in double. */
__device__ double row_logsumexp(const float *l, int K)
{
    double m = l[0];
    for (int k = 1; k < K; k++)
        m = l[k] > m ? l[k] : m;
    double s = 0.0;
    for (int k = 0; k < K; k++)
        s += exp((double)l[k] - m);
    return m + log(s);
}

/* loss[n] = (sum_k target[n][k]) logsumexp_k logits[n][k] - sum_k target[n][k] logits[n][k],
 * one thread per sample. */
__global__ void softmax_xent_kernel(const float *logits, const float *target, float *loss, size_t n_rows, int K)
{
    CU_FOR_EACH(n, n_rows)
    {
        const float *l = logits + n * K, *t = target + n * K;
        double dot = 0.0, tsum = 0.0;
        for (int k = 0; k < K; k++) {
            dot += (double)t[k] * l[k];
            tsum += t[k];
        }
        loss[n] = (float)(tsum * row_logsumexp(l, K) - dot);
    }
}

glow_status cu_softmax_xent(glow_backend *be, glow_tensor logits, glow_tensor target, glow_tensor loss)
{
    size_t rows = (size_t)logits.n;
    softmax_xent_kernel<<<cu_blocks(rows), CU_THREADS, 0, cu_stream(be)>>>(cu_data(logits), cu_data(target),
                                                                          cu_data(loss), rows, logits.c);
    return cu_launched("softmax_xent");
}

/* dlogits[n][k] += g (softmax(logits[n])[k] sum_j target[n][j] - target[n][k]), one thread per logit. */
__global__ void softmax_xent_backward_kernel(const float *logits, const float *target, float g, float *dlogits,
                                             size_t count, int K)
{
    CU_FOR_EACH(i, count)
    {
        size_t n = i / K;
        int k = (int)(i - n * K);
        const float *l = logits + n * K, *t = target + n * K;
        double lse = row_logsumexp(l, K), tsum = 0.0;
        for (int j = 0; j < K; j++)
            tsum += t[j];
        double s = exp((double)l[k] - lse);
        dlogits[i] += (float)((double)g * (s * tsum - (double)t[k]));
    }
}

glow_status cu_softmax_xent_backward(glow_backend *be, glow_tensor logits, glow_tensor target, float g,
                                     glow_tensor dlogits)
{
    size_t count = glow_tensor_count(logits);
    softmax_xent_backward_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(
        cu_data(logits), cu_data(target), g, cu_data(dlogits), count, logits.c);
    return cu_launched("softmax_xent_backward");
}
