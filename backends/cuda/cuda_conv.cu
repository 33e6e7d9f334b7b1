/* CUDA: 2-D convolution (stride 1, zero padding pad = (k-1)/2, k in {1, 3}) with
 * optional bias and fused ReLU, its two backward passes, and the per-channel
 * output scale of the zero-initialised conv (shaders: conv2d_*_tiled.comp,
 * channel_scale_*.comp). All three convolutions are the tiled implicit GEMM of
 * cuda_gemm.h (fp32, or tf32 tensor cores with --precision tf32 on cc >= 8.0),
 * with taps = k*k and pixels p = (n, i, j), P = N*H*W (k = 1 reads the tensors
 * directly, without the im2col index arithmetic):
 *   forward:         y[p][co]  = act(bias[co] + sum_{kk} X(p, kk) w[co][kk]),
 *                    X(p, (ky,kx,ci)) = x[n][i+ky-pad][j+kx-pad][ci];  M = P, N = Co, K = taps*Ci
 *   backward data:   dx[p][ci] += sum_{(ky,kx,co)} D(p, (ky,kx,co)) w[co][ky][kx][ci],
 *                    D(p, (ky,kx,co)) = dy[n][i-ky+pad][j-kx+pad][co];  M = P, N = Ci, K = taps*Co
 *   backward weight: dw[co][kk] += sum_p dy[p][co] X(p, kk);  M = Co, N = taps*Ci, K = P,
 *                    split over the pixels into chunks whose partial products are
 *                    added in a fixed order by a second kernel (no atomics). */
#include "cuda_internal.h"
#include "cuda_gemm.h"

/* The implicit im2col matrix of an NHWC tensor t (N,H,W,Cs): entry (p, kk) with
 * kk = tap*Cs + c, tap = ky*k + kx, reads t[n][i + dir*(ky-pad)][j + dir*(kx-pad)][c]
 * (0 outside the image). dir = +1 gathers a forward window, -1 the transposed one. */
struct im2col_matrix {
    const float *t;
    int H, W, Cs, k, pad, dir;
    __device__ float at(int p, int kk) const
    {
        int tap = kk / Cs, c = kk - tap * Cs;
        int ky = tap / k, kx = tap - ky * k;
        int j = p % W, rest = p / W;
        int i = rest % H, n = rest / H;
        int si = i + dir * (ky - pad), sj = j + dir * (kx - pad);
        if (si < 0 || si >= H || sj < 0 || sj >= W)
            return 0.0f;
        return t[(((size_t)n * H + si) * W + sj) * Cs + c];
    }
};

/* A(m = p, k = kk): consecutive kk are consecutive channels. */
struct im2col_as_a {
    im2col_matrix x;
    static constexpr bool k_fastest = true;
    __device__ float operator()(int m, int k) const { return x.at(m, k); }
};

/* B(k = p, n = kk) for the weight gradient: consecutive n are consecutive channels. */
struct im2col_as_b {
    im2col_matrix x;
    static constexpr bool k_fastest = false;
    __device__ float operator()(int k, int n) const { return x.at(k, n); }
};

/* k = 1 (the invertible and zero 1x1 convolutions): the im2col matrix is the
 * tensor itself, (p, c) at p*C + c, so no division per element. */
struct pointwise_as_a {
    const float *t;
    int C;
    static constexpr bool k_fastest = true;
    __device__ float operator()(int m, int k) const { return t[(size_t)m * C + k]; }
};

struct pointwise_as_b {
    const float *t;
    int C;
    static constexpr bool k_fastest = false;
    __device__ float operator()(int k, int n) const { return t[(size_t)k * C + n]; }
};

/* Forward B(kk, co) = w[co][kk] (rows of K = taps*Ci floats). */
struct weight_rows_b {
    const float *w;
    int K;
    static constexpr bool k_fastest = true;
    __device__ float operator()(int k, int n) const { return w[(size_t)n * K + k]; }
};

/* Backward-data B((tap, co), ci) = w[co][tap][ci], kk = tap*Co + co. */
struct weight_transposed_b {
    const float *w;
    int taps, Co, Ci;
    static constexpr bool k_fastest = false;
    __device__ float operator()(int k, int n) const
    {
        int tap = k / Co, co = k - tap * Co;
        return w[((size_t)co * taps + tap) * Ci + n];
    }
};

/* Backward-data B(co, ci) = w[co][ci] when taps = 1 (no division). */
struct weight_pointwise_b {
    const float *w;
    int Ci;
    static constexpr bool k_fastest = false;
    __device__ float operator()(int k, int n) const { return w[(size_t)k * Ci + n]; }
};

/* Weight-gradient A(co, p) = dy[p][co]. */
struct dy_as_a {
    const float *dy;
    int Co;
    static constexpr bool k_fastest = false;
    __device__ float operator()(int m, int k) const { return dy[(size_t)k * Co + m]; }
};

struct store_forward {
    float *y;
    const float *bias; /* or NULL */
    int Co, relu;
    __device__ void operator()(int m, int n, float acc, int) const
    {
        float v = bias ? acc + bias[n] : acc;
        y[(size_t)m * Co + n] = (relu && !(v > 0.0f)) ? 0.0f : v;
    }
};

struct store_accumulate {
    float *out;
    int ld;
    __device__ void operator()(int m, int n, float acc, int) const { out[(size_t)m * ld + n] += acc; }
};

/* partial[split][m][n] = acc. */
struct store_split {
    float *partial;
    int M, N;
    __device__ void operator()(int m, int n, float acc, int split) const
    {
        partial[((size_t)split * M + m) * N + n] = acc;
    }
};

glow_status cu_conv2d_forward(glow_backend *be, glow_tensor x, glow_tensor w, glow_tensor bias, glow_tensor y,
                              int relu)
{
    const int k = w.h, pad = (k - 1) / 2, K = k * k * x.c;
    const int P = (int)glow_tensor_rows(x);
    weight_rows_b b = {cu_data(w), K};
    store_forward st = {cu_data(y), cu_data_or_null(bias), y.c, relu};
    int k_all = (K + GEMM_BK - 1) / GEMM_BK * GEMM_BK;
    if (k == 1) {
        pointwise_as_a a = {cu_data(x), x.c};
        return cu_gemm_tiled(be, "conv2d_forward", a, b, st, P, y.c, K, 1, k_all);
    }
    im2col_as_a a = {{cu_data(x), x.h, x.w, x.c, k, pad, +1}};
    return cu_gemm_tiled(be, "conv2d_forward", a, b, st, P, y.c, K, 1, k_all);
}

glow_status cu_conv2d_backward_data(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor dx)
{
    const int k = w.h, pad = (k - 1) / 2, taps = k * k, K = taps * dy.c;
    const int P = (int)glow_tensor_rows(dx);
    store_accumulate st = {cu_data(dx), dx.c};
    int k_all = (K + GEMM_BK - 1) / GEMM_BK * GEMM_BK;
    if (k == 1) {
        pointwise_as_a a = {cu_data(dy), dy.c};
        weight_pointwise_b b = {cu_data(w), dx.c};
        return cu_gemm_tiled(be, "conv2d_backward_data", a, b, st, P, dx.c, K, 1, k_all);
    }
    im2col_as_a a = {{cu_data(dy), dy.h, dy.w, dy.c, k, pad, -1}};
    weight_transposed_b b = {cu_data(w), taps, dy.c, dx.c};
    return cu_gemm_tiled(be, "conv2d_backward_data", a, b, st, P, dx.c, K, 1, k_all);
}

/* out[e] += (float) sum_{s < splits} partial[s][e], in order, in double. */
__global__ void conv_split_sum_kernel(const float *partial, int splits, size_t count, float *out)
{
    CU_FOR_EACH(e, count)
    {
        double s = 0.0;
        for (int z = 0; z < splits; z++)
            s += partial[(size_t)z * count + e];
        out[e] += (float)s;
    }
}

struct bias_grad_terms {
    const float *dy;
    int Co;
    __device__ void operator()(size_t p, int c, double acc[1]) const { acc[0] += dy[p * Co + c]; }
};

struct bias_grad_finish {
    float *dbias;
    __device__ void operator()(int c, const double sum[1]) const { dbias[c] += (float)sum[0]; }
};

/* Splits of at least 256 pixels, at most 64, and at most 64 MiB of partials:
 * a function of the shape only, so the result does not depend on the device. */
static int weight_grad_splits(int pixels, size_t outputs)
{
    int splits = (pixels + 255) / 256;
    if (splits > 64)
        splits = 64;
    size_t max_by_memory = ((size_t)16 << 20) / (outputs ? outputs : 1);
    if ((size_t)splits > max_by_memory)
        splits = (int)max_by_memory;
    return splits < 1 ? 1 : splits;
}

glow_status cu_conv2d_backward_weight(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor dw,
                                      glow_tensor dbias)
{
    const char *op = "conv2d_backward_weight";
    const int k = dw.h, pad = (k - 1) / 2, Co = dy.c, KK = k * k * x.c;
    const int P = (int)glow_tensor_rows(x);
    const size_t outputs = (size_t)Co * KK;
    if (P == 0 || outputs == 0)
        return GLOW_OK; /* no pixels: every gradient term is zero */
    int splits = weight_grad_splits(P, outputs);
    int per_split = (P + splits - 1) / splits;
    per_split = (per_split + GEMM_BK - 1) / GEMM_BK * GEMM_BK;
    splits = (P + per_split - 1) / per_split;
    void *scratch;
    GLOW_TRY(cu_scratch(be, (size_t)splits * outputs * sizeof(float), op, &scratch));
    float *partial = (float *)scratch;
    dy_as_a a = {cu_data(dy), Co};
    store_split st = {partial, Co, KK};
    if (k == 1) {
        pointwise_as_b b = {cu_data(x), x.c};
        GLOW_TRY(cu_gemm_tiled(be, op, a, b, st, Co, KK, P, splits, per_split));
    } else {
        im2col_as_b b = {{cu_data(x), x.h, x.w, x.c, k, pad, +1}};
        GLOW_TRY(cu_gemm_tiled(be, op, a, b, st, Co, KK, P, splits, per_split));
    }
    conv_split_sum_kernel<<<cu_blocks(outputs), CU_THREADS, 0, cu_stream(be)>>>(partial, splits, outputs,
                                                                               cu_data(dw));
    GLOW_TRY(cu_launched(op));
    if (dbias.buf == NULL)
        return GLOW_OK;
    /* The scratch region is reused: stream order puts this after the sum above. */
    bias_grad_terms terms = {cu_data(dy), Co};
    bias_grad_finish finish = {cu_data(dbias)};
    return cu_column_reduce<1>(be, op, (size_t)P, Co, terms, finish);
}

/* In place: y[p][c] *= exp(factor * logs[c]) (forward), or dy likewise (backward). */
__global__ void channel_scale_kernel(float *t, const float *logs, float factor, size_t count, int C)
{
    CU_FOR_EACH(i, count)
    t[i] *= expf(factor * logs[(int)(i % C)]);
}

glow_status cu_channel_scale_forward(glow_backend *be, glow_tensor y, glow_tensor logs, float factor)
{
    size_t count = glow_tensor_count(y);
    channel_scale_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(cu_data(y), cu_data(logs), factor,
                                                                            count, y.c);
    return cu_launched("channel_scale_forward");
}

struct scale_grad_terms {
    const float *y, *dy;
    int C;
    __device__ void operator()(size_t p, int c, double acc[1]) const
    {
        size_t i = p * C + c;
        acc[0] += (double)dy[i] * y[i];
    }
};

struct scale_grad_finish {
    float *dlogs;
    double factor;
    __device__ void operator()(int c, const double sum[1]) const { dlogs[c] += (float)(factor * sum[0]); }
};

/* dlogs[c] += factor * sum_p dy y (reading dy before it is scaled: stream
 * order), then dy *= exp(factor * logs[c]) in place. */
glow_status cu_channel_scale_backward(glow_backend *be, glow_tensor y, glow_tensor dy, glow_tensor logs, float factor,
                                      glow_tensor dlogs)
{
    const char *op = "channel_scale_backward";
    scale_grad_terms terms = {cu_data(y), cu_data(dy), y.c};
    scale_grad_finish finish = {cu_data(dlogs), (double)factor};
    GLOW_TRY(cu_column_reduce<1>(be, op, glow_tensor_rows(y), y.c, terms, finish));
    size_t count = glow_tensor_count(dy);
    channel_scale_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(cu_data(dy), cu_data(logs), factor,
                                                                            count, dy.c);
    return cu_launched(op);
}
