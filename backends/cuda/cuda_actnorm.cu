/* CUDA: actnorm, y = (x + bias[c]) * exp(logs[c]) per channel c (shaders:
 * actnorm_forward.comp, actnorm_inverse.comp, actnorm_backward.comp,
 * actnorm_init.comp). x, y: (N,H,W,C) NHWC, P = N*H*W pixels; bias, logs: C.
 * Per-channel sums use the deterministic two-stage column reduction of
 * cuda_internal.h (double partials). */
#include "cuda_internal.h"

/* out[i] = (in[i] + before[c]) * exp(factor * logs[c]) - after[c], c = i % C (absent terms skipped):
 *   forward: factor = 1, before = bias, after = NULL;
 *   inverse: x = y * exp(-logs[c]) - bias[c]: factor = -1, before = NULL, after = bias.
 * y may alias x (each element is read then written by one thread). */
__global__ void actnorm_affine_kernel(const float *in, const float *before, const float *logs, const float *after,
                                      float factor, float *out, size_t count, int C)
{
    CU_FOR_EACH(i, count)
    {
        int c = (int)(i % C);
        float v = in[i];
        if (before)
            v += before[c];
        v *= expf(factor * logs[c]);
        if (after)
            v -= after[c];
        out[i] = v;
    }
}

glow_status cu_actnorm_forward(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs, glow_tensor y)
{
    size_t count = glow_tensor_count(x);
    actnorm_affine_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(cu_data(x), cu_data(bias), cu_data(logs),
                                                                             NULL, 1.0f, cu_data(y), count, x.c);
    return cu_launched("actnorm_forward");
}

glow_status cu_actnorm_inverse(glow_backend *be, glow_tensor y, glow_tensor bias, glow_tensor logs, glow_tensor x)
{
    size_t count = glow_tensor_count(y);
    actnorm_affine_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(cu_data(y), NULL, cu_data(logs),
                                                                             cu_data(bias), -1.0f, cu_data(x), count,
                                                                             y.c);
    return cu_launched("actnorm_inverse");
}

/* dx[i] += dy[i] * exp(logs[c]). */
__global__ void actnorm_backward_dx_kernel(const float *dy, const float *logs, float *dx, size_t count, int C)
{
    CU_FOR_EACH(i, count)
    dx[i] += dy[i] * expf(logs[(int)(i % C)]);
}

/* Terms per (pixel p, channel c): acc[0] += dy, acc[1] += dy * y with y = (x + b) e^logs. */
struct actnorm_grad_terms {
    const float *x, *dy, *bias, *logs;
    int C;
    __device__ void operator()(size_t p, int c, double acc[2]) const
    {
        size_t i = p * C + c;
        float y = (x[i] + bias[c]) * expf(logs[c]);
        acc[0] += dy[i];
        acc[1] += (double)dy[i] * y;
    }
};

/* dbias[c] += sum(dy) * e^logs[c];  dlogs[c] += sum(dy * y). */
struct actnorm_grad_finish {
    const float *logs;
    float *dbias, *dlogs;
    __device__ void operator()(int c, const double sum[2]) const
    {
        dbias[c] += (float)(sum[0] * expf(logs[c]));
        dlogs[c] += (float)sum[1];
    }
};

glow_status cu_actnorm_backward(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor bias, glow_tensor logs,
                                glow_tensor dx, glow_tensor dbias, glow_tensor dlogs)
{
    const char *op = "actnorm_backward";
    size_t count = glow_tensor_count(x);
    actnorm_backward_dx_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(cu_data(dy), cu_data(logs),
                                                                                  cu_data(dx), count, x.c);
    GLOW_TRY(cu_launched(op));
    actnorm_grad_terms terms = {cu_data(x), cu_data(dy), cu_data(bias), cu_data(logs), x.c};
    actnorm_grad_finish finish = {cu_data(logs), cu_data(dbias), cu_data(dlogs)};
    return cu_column_reduce<2>(be, op, glow_tensor_rows(x), x.c, terms, finish);
}

/* Pass 1: sum x per channel. */
struct channel_sum_terms {
    const float *x;
    int C;
    __device__ void operator()(size_t p, int c, double acc[1]) const { acc[0] += x[p * C + c]; }
};

/* Pass 2: sum (x - mean_c)^2 with the double mean of pass 1. */
struct centered_square_terms {
    const float *x;
    const double *mean;
    int C;
    __device__ void operator()(size_t p, int c, double acc[1]) const
    {
        double d = (double)x[p * C + c] - mean[c];
        acc[0] += d * d;
    }
};

struct store_mean {
    double *mean;
    float *bias;
    double inv_pixels;
    __device__ void operator()(int c, const double sum[1]) const
    {
        mean[c] = sum[0] * inv_pixels;
        bias[c] = (float)-mean[c];
    }
};

/* logs[c] = -log(sqrt(sumsq / P) + 1e-6). */
struct store_log_scale {
    float *logs;
    double inv_pixels;
    __device__ void operator()(int c, const double sum[1]) const { logs[c] = (float)-log(sqrt(sum[0] * inv_pixels) + 1e-6); }
};

/* Two passes as on the CPU: mean_c = sum x / P, std_c = sqrt(sum (x - mean_c)^2 / P),
 * bias = -mean, logs = -log(std + 1e-6). Scratch: the C double means, then the
 * partial sums of the reductions. */
glow_status cu_actnorm_init(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs)
{
    const char *op = "actnorm_init";
    size_t pixels = glow_tensor_rows(x);
    double inv_pixels = 1.0 / (double)pixels;
    size_t mean_bytes = ((size_t)x.c * sizeof(double) + 255) / 256 * 256;
    void *scratch;
    GLOW_TRY(cu_scratch(be, mean_bytes + cu_column_scratch_bytes(pixels, x.c, 1), op, &scratch));
    double *mean = (double *)scratch;
    double *partial = (double *)((char *)scratch + mean_bytes);
    channel_sum_terms sum_terms = {cu_data(x), x.c};
    store_mean means = {mean, cu_data(bias), inv_pixels};
    GLOW_TRY(cu_column_reduce_in<1>(be, op, pixels, x.c, sum_terms, means, partial));
    centered_square_terms sq_terms = {cu_data(x), mean, x.c};
    store_log_scale scales = {cu_data(logs), inv_pixels};
    return cu_column_reduce_in<1>(be, op, pixels, x.c, sq_terms, scales, partial);
}
