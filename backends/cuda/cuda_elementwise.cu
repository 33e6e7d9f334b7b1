/* CUDA: fill, copy_channels, squeeze/unsqueeze, relu_backward, add_scalar,
 * logdet_sum (shaders: fill.comp, copy_channels.comp, squeeze.comp,
 * relu_backward.comp, add_scalar.comp, logdet_sum.comp). Semantics: glow/backend.h.
 * One thread per element; each output element is written by exactly one thread. */
#include "cuda_internal.h"

__global__ void fill_kernel(float *t, size_t count, float value)
{
    CU_FOR_EACH(i, count)
    t[i] = value;
}

glow_status cu_fill(glow_backend *be, glow_tensor t, float value)
{
    size_t count = glow_tensor_count(t);
    fill_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(cu_data(t), count, value);
    return cu_launched("fill");
}

/* Element i = p * count + k:  dst[p*dst_c + dst_c0 + k] (= or +=) src[p*src_c + src_c0 + k]. */
__global__ void copy_channels_kernel(const float *src, int src_c, int src_c0, float *dst, int dst_c, int dst_c0,
                                     int count, size_t total, int accumulate)
{
    CU_FOR_EACH(i, total)
    {
        size_t p = i / (size_t)count;
        int k = (int)(i - p * (size_t)count);
        float v = src[p * src_c + src_c0 + k];
        float *d = &dst[p * dst_c + dst_c0 + k];
        *d = accumulate ? *d + v : v;
    }
}

glow_status cu_copy_channels(glow_backend *be, glow_tensor src, int src_c0, glow_tensor dst, int dst_c0, int count,
                             int accumulate)
{
    size_t total = glow_tensor_rows(src) * (size_t)count;
    if (total == 0)
        return GLOW_OK;
    copy_channels_kernel<<<cu_blocks(total), CU_THREADS, 0, cu_stream(be)>>>(
        cu_data(src), src.c, src_c0, cu_data(dst), dst.c, dst_c0, count, total, accumulate);
    return cu_launched("copy_channels");
}

/* The 2x2 space-to-depth permutation, one thread per element of the big tensor
 * big (N,H,W,C), element (n, y, x, c)  <->  small (N,H/2,W/2,4C) element
 * (n, y/2, x/2, c*4 + (y%2)*2 + x%2). to_small: small (=/+=) big, else big (=/+=) small. */
__global__ void space_to_depth_kernel(float *big, float *small, int H, int W, int C, size_t total, int to_small,
                                      int accumulate)
{
    CU_FOR_EACH(i, total)
    {
        size_t rest = i;
        int c = (int)(rest % C);
        rest /= C;
        int x = (int)(rest % W);
        rest /= W;
        int y = (int)(rest % H);
        size_t n = rest / H;
        size_t s = ((n * (H / 2) + y / 2) * (W / 2) + x / 2) * (size_t)(4 * C) + c * 4 + (y % 2) * 2 + x % 2;
        float *from = to_small ? &big[i] : &small[s];
        float *to = to_small ? &small[s] : &big[i];
        *to = accumulate ? *to + *from : *from;
    }
}

glow_status cu_squeeze(glow_backend *be, glow_tensor x, glow_tensor y, int accumulate)
{
    size_t total = glow_tensor_count(x);
    space_to_depth_kernel<<<cu_blocks(total), CU_THREADS, 0, cu_stream(be)>>>(cu_data(x), cu_data(y), x.h, x.w, x.c,
                                                                             total, 1, accumulate);
    return cu_launched("squeeze");
}

glow_status cu_unsqueeze(glow_backend *be, glow_tensor y, glow_tensor x, int accumulate)
{
    size_t total = glow_tensor_count(x);
    space_to_depth_kernel<<<cu_blocks(total), CU_THREADS, 0, cu_stream(be)>>>(cu_data(x), cu_data(y), x.h, x.w, x.c,
                                                                             total, 0, accumulate);
    return cu_launched("unsqueeze");
}

/* dy[i] = y[i] > 0 ? dy[i] : 0 (NaN in y masks too, as on the CPU). */
__global__ void relu_backward_kernel(const float *y, float *dy, size_t count)
{
    CU_FOR_EACH(i, count)
    if (!(y[i] > 0.0f))
        dy[i] = 0.0f;
}

glow_status cu_relu_backward(glow_backend *be, glow_tensor y, glow_tensor dy)
{
    size_t count = glow_tensor_count(y);
    relu_backward_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(cu_data(y), cu_data(dy), count);
    return cu_launched("relu_backward");
}

__global__ void add_scalar_kernel(float *t, size_t count, float value)
{
    CU_FOR_EACH(i, count)
    t[i] += value;
}

glow_status cu_add_scalar(glow_backend *be, glow_tensor t, float value)
{
    size_t count = glow_tensor_count(t);
    add_scalar_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(cu_data(t), count, value);
    return cu_launched("add_scalar");
}

/* One block: sum = sum_i v[i] (double, strided per thread then a tree), then
 * ld[n] += (float)(scale * sum) for every sample n. v is a parameter vector
 * (at most a few thousand entries), so one block is enough. */
__global__ void logdet_sum_kernel(const float *v, size_t count, float scale, float *ld, int samples)
{
    __shared__ double shared[CU_THREADS];
    double acc = 0.0;
    for (size_t i = threadIdx.x; i < count; i += CU_THREADS)
        acc += v[i];
    double sum = cu_block_sum(acc, shared);
    float term = (float)((double)scale * sum);
    for (int n = threadIdx.x; n < samples; n += CU_THREADS)
        ld[n] += term;
}

glow_status cu_logdet_sum(glow_backend *be, glow_tensor v, float scale, glow_tensor ld)
{
    logdet_sum_kernel<<<1, CU_THREADS, 0, cu_stream(be)>>>(cu_data(v), glow_tensor_count(v), scale, cu_data(ld),
                                                           (int)glow_tensor_count(ld));
    return cu_launched("logdet_sum");
}
