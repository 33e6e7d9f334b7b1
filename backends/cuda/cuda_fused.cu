/* CUDA: the fused flow-step ops (shaders: shaders/fused/<name>.comp; semantics: include/glow/ops.def).
 *   actnorm_invconv_forward/inverse  one thread per output element, a C-term dot product
 *                                    (C is the flow's channel count); ld by thread 0
 *   actnorm_invconv_backward         one block per channel c (dx, dbias, dlogs, dlog_s, column c of dweight)
 *   coupling_zeroconv_forward/inverse one block per sample: the zero-conv (direct dot products of k*k*F
 *                                    terms), its scale, the coupling and ld[n]
 *   coupling_zeroconv_backward       one block per transformed channel (or pass-through copy)
 *   conv2d_backward_data_relu        memset, the backward_data GEMM, one masking pass
 * Reductions are block trees in double (deterministic, no atomics). */
#include "cuda_internal.h"

/* Block sum of v (CU_THREADS threads) returned to every thread; safe to call repeatedly. */
static __device__ double fused_block_sum(double v, double *shared /* CU_THREADS */)
{
    shared[threadIdx.x] = v;
    __syncthreads();
    for (unsigned half = CU_THREADS / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half)
            shared[threadIdx.x] += shared[threadIdx.x + half];
        __syncthreads();
    }
    double total = shared[0];
    __syncthreads();
    return total;
}

static __device__ __forceinline__ float fused_sigmoid(float z)
{
    return 1.0f / (1.0f + expf(-z));
}

static __device__ __forceinline__ double fused_log_sigmoid(double z)
{
    return z >= 0.0 ? -log1p(exp(-z)) : z - log1p(exp(z));
}

/* ---- actnorm + invertible 1x1 convolution ----------------------------------------- */

__global__ void invconv_forward_kernel(const float *x, const float *bias, const float *logs, const float *weight,
                                       const float *log_s, float *y, float *xa, float *ld, size_t count, int C,
                                       int N, float hw)
{
    const int Ca = C / 2;
    CU_FOR_EACH(e, count)
    {
        size_t p = e / C;
        int co = (int)(e - p * C);
        float acc = 0.0f;
        for (int ci = 0; ci < C; ci++)
            acc += weight[co * C + ci] * ((x[p * C + ci] + bias[ci]) * expf(logs[ci]));
        y[e] = acc;
        if (xa && co < Ca)
            xa[p * Ca + co] = acc;
    }
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        double s = 0.0;
        for (int c = 0; c < C; c++)
            s += (double)logs[c] + (double)log_s[c];
        float term = (float)(s * hw);
        for (int n = 0; n < N; n++)
            ld[n] += term;
    }
}

glow_status cu_actnorm_invconv_forward(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs,
                                       glow_tensor weight, glow_tensor log_s, glow_tensor y, glow_tensor xa,
                                       glow_tensor ld)
{
    size_t count = glow_tensor_count(y);
    invconv_forward_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(
        cu_data(x), cu_data(bias), cu_data(logs), cu_data(weight), cu_data(log_s), cu_data(y), cu_data_or_null(xa),
        cu_data(ld), count, x.c, x.n, (float)(x.h * x.w));
    return cu_launched("actnorm_invconv_forward");
}

__global__ void invconv_inverse_kernel(const float *y, const float *bias, const float *logs, const float *weight_inv,
                                       float *x, float *xa, size_t count, int C)
{
    const int Ca = C / 2;
    CU_FOR_EACH(e, count)
    {
        size_t p = e / C;
        int c = (int)(e - p * C);
        float acc = 0.0f;
        for (int j = 0; j < C; j++)
            acc += weight_inv[c * C + j] * y[p * C + j];
        float v = acc * expf(-logs[c]) - bias[c];
        x[e] = v;
        if (xa && c < Ca)
            xa[p * Ca + c] = v;
    }
}

glow_status cu_actnorm_invconv_inverse(glow_backend *be, glow_tensor y, glow_tensor bias, glow_tensor logs,
                                       glow_tensor weight_inv, glow_tensor x, glow_tensor xa)
{
    size_t count = glow_tensor_count(x);
    invconv_inverse_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(
        cu_data(y), cu_data(bias), cu_data(logs), cu_data(weight_inv), cu_data(x), cu_data_or_null(xa), count, x.c);
    return cu_launched("actnorm_invconv_inverse");
}

/* g[p][i] = dy[p][i] + dxa[p][i] (i < Ca, dxa present). */
static __device__ __forceinline__ float invconv_g(const float *dy, const float *dxa, size_t p, int i, int C)
{
    const int Ca = C / 2;
    float v = dy[p * C + i];
    if (dxa && i < Ca)
        v += dxa[p * Ca + i];
    return v;
}

/* Block c: dx[.][c], dbias[c], dlogs[c], dlog_s[c] and column c of dweight. */
__global__ void invconv_backward_kernel(const float *x, const float *dy, const float *dxa, const float *bias,
                                        const float *logs, const float *weight, float ld_grad, float *dx,
                                        float *dweight, float *dbias, float *dlogs, float *dlog_s, size_t P, int C)
{
    __shared__ double shared[CU_THREADS];
    const int c = blockIdx.x;
    const float e = expf(logs[c]), bc = bias[c];
    double sb = 0.0, sl = 0.0;
    for (size_t p = threadIdx.x; p < P; p += CU_THREADS) {
        float da = 0.0f;
        for (int i = 0; i < C; i++)
            da += weight[i * C + c] * invconv_g(dy, dxa, p, i, C);
        float gx = da * e;
        dx[p * C + c] = gx;
        sb += gx;
        sl += (double)gx * ((double)x[p * C + c] + bc);
    }
    double tb = fused_block_sum(sb, shared);
    double tl = fused_block_sum(sl, shared);
    if (threadIdx.x == 0) {
        dbias[c] += (float)tb;
        dlogs[c] += (float)tl + ld_grad;
        dlog_s[c] += ld_grad;
    }
    for (int i = 0; i < C; i++) {
        double acc = 0.0;
        for (size_t p = threadIdx.x; p < P; p += CU_THREADS)
            acc += (double)invconv_g(dy, dxa, p, i, C) * ((x[p * C + c] + bc) * e);
        double t = fused_block_sum(acc, shared);
        if (threadIdx.x == 0)
            dweight[i * C + c] = (float)t;
    }
}

glow_status cu_actnorm_invconv_backward(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor dxa,
                                        glow_tensor bias, glow_tensor logs, glow_tensor weight, float ld_grad,
                                        glow_tensor dx, glow_tensor dweight, glow_tensor dbias, glow_tensor dlogs,
                                        glow_tensor dlog_s)
{
    invconv_backward_kernel<<<(unsigned)x.c, CU_THREADS, 0, cu_stream(be)>>>(
        cu_data(x), cu_data(dy), cu_data_or_null(dxa), cu_data(bias), cu_data(logs), cu_data(weight), ld_grad,
        cu_data(dx), cu_data(dweight), cu_data(dbias), cu_data(dlogs), cu_data(dlog_s), glow_tensor_rows(x), x.c);
    return cu_launched("actnorm_invconv_backward");
}

/* ---- coupling output stage fused with the zero-conv ---------------------------------- */

struct zeroconv_args {
    const float *hin, *w, *bias, *edge, *logs, *in;
    float *h, *out, *ld;
    int height, width, f, k, c;
    float factor;
};

/* Unscaled conv output (bias and edge included) of channel co at pixel (n, py, px). */
static __device__ float zeroconv_at(const zeroconv_args &a, int n, int py, int px, int co)
{
    const int pad = (a.k - 1) / 2, Co = 2 * (a.c - a.c / 2);
    float acc = a.bias[co];
    if (a.edge)
        acc += a.edge[((size_t)py * a.width + px) * Co + co];
    for (int ky = 0; ky < a.k; ky++) {
        int sy = py + ky - pad;
        if (sy < 0 || sy >= a.height)
            continue;
        for (int kx = 0; kx < a.k; kx++) {
            int sx = px + kx - pad;
            if (sx < 0 || sx >= a.width)
                continue;
            const float *xr = a.hin + (((size_t)n * a.height + sy) * a.width + sx) * a.f;
            const float *wr = a.w + (((size_t)co * a.k + ky) * a.k + kx) * a.f;
            for (int ci = 0; ci < a.f; ci++)
                acc += wr[ci] * xr[ci];
        }
    }
    return acc;
}

/* Block n: every pixel of sample n; forward adds sum log s to ld[n] (a.ld != NULL), inverse does not. */
__global__ void coupling_zeroconv_kernel(zeroconv_args a)
{
    __shared__ double shared[CU_THREADS];
    const int n = blockIdx.x, C = a.c, Ca = C / 2, Cb = C - Ca, hw = a.height * a.width;
    const bool inverse = a.ld == NULL;
    double part = 0.0;
    for (int q = threadIdx.x; q < hw; q += CU_THREADS) {
        size_t p = (size_t)n * hw + q;
        int py = q / a.width, px = q % a.width;
        for (int j = 0; j < Ca; j++)
            a.out[p * C + j] = a.in[p * C + j];
        for (int j = 0; j < Cb; j++) {
            float shift = zeroconv_at(a, n, py, px, j) * expf(a.factor * a.logs[j]);
            float raw = zeroconv_at(a, n, py, px, Cb + j) * expf(a.factor * a.logs[Cb + j]);
            a.h[p * 2 * Cb + j] = shift;
            a.h[p * 2 * Cb + Cb + j] = raw;
            float s = fused_sigmoid(raw + 2.0f), v = a.in[p * C + Ca + j];
            a.out[p * C + Ca + j] = inverse ? v / s - shift : (v + shift) * s;
            part += fused_log_sigmoid((double)raw + 2.0);
        }
    }
    double total = fused_block_sum(part, shared);
    if (threadIdx.x == 0 && !inverse)
        a.ld[n] += (float)total;
}

static glow_status coupling_zeroconv(glow_backend *be, const char *op, glow_tensor hin, glow_tensor w,
                                     glow_tensor bias, glow_tensor edge, glow_tensor logs, float factor,
                                     glow_tensor in, glow_tensor h, glow_tensor out, glow_tensor ld)
{
    zeroconv_args a = {cu_data(hin), cu_data(w),  cu_data(bias),      cu_data_or_null(edge), cu_data(logs),
                       cu_data(in),  cu_data(h),  cu_data(out),       cu_data_or_null(ld),   hin.h,
                       hin.w,        hin.c,       w.h,                in.c,                  factor};
    coupling_zeroconv_kernel<<<(unsigned)in.n, CU_THREADS, 0, cu_stream(be)>>>(a);
    return cu_launched(op);
}

glow_status cu_coupling_zeroconv_forward(glow_backend *be, glow_tensor hin, glow_tensor w, glow_tensor bias,
                                         glow_tensor edge, glow_tensor logs, float factor, glow_tensor x,
                                         glow_tensor h, glow_tensor y, glow_tensor ld)
{
    return coupling_zeroconv(be, "coupling_zeroconv_forward", hin, w, bias, edge, logs, factor, x, h, y, ld);
}

glow_status cu_coupling_zeroconv_inverse(glow_backend *be, glow_tensor hin, glow_tensor w, glow_tensor bias,
                                         glow_tensor edge, glow_tensor logs, float factor, glow_tensor y,
                                         glow_tensor h, glow_tensor x)
{
    return coupling_zeroconv(be, "coupling_zeroconv_inverse", hin, w, bias, edge, logs, factor, y, h, x,
                             glow_tensor_none());
}

/* Block j < Cb: transformed channel j; block Cb + j: pass-through channel j (dx = dy). */
__global__ void coupling_zeroconv_backward_kernel(const float *x, const float *h, const float *dy, float g,
                                                  const float *logs, float factor, float *dx, float *dhu,
                                                  float *dlogs, size_t P, int C)
{
    __shared__ double shared[CU_THREADS];
    const int Ca = C / 2, Cb = C - Ca, job = blockIdx.x;
    if (job >= Cb) {
        int j = job - Cb;
        for (size_t p = threadIdx.x; p < P; p += CU_THREADS)
            dx[p * C + j] = dy[p * C + j];
        return;
    }
    const int j = job;
    const float sc_shift = expf(factor * logs[j]), sc_raw = expf(factor * logs[Cb + j]);
    double acc_shift = 0.0, acc_raw = 0.0;
    for (size_t p = threadIdx.x; p < P; p += CU_THREADS) {
        const float *hp = h + p * 2 * Cb;
        float shift = hp[j], raw = hp[Cb + j], s = fused_sigmoid(raw + 2.0f);
        float gyb = dy[p * C + Ca + j];
        float dshift = gyb * s;
        float draw = (gyb * (x[p * C + Ca + j] + shift) * s + g) * (1.0f - s);
        dx[p * C + Ca + j] = dshift;
        acc_shift += (double)dshift * shift;
        acc_raw += (double)draw * raw;
        dhu[p * 2 * Cb + j] = dshift * sc_shift;
        dhu[p * 2 * Cb + Cb + j] = draw * sc_raw;
    }
    double ts = fused_block_sum(acc_shift, shared);
    double tr = fused_block_sum(acc_raw, shared);
    if (threadIdx.x == 0) {
        dlogs[j] += factor * (float)ts;
        dlogs[Cb + j] += factor * (float)tr;
    }
}

glow_status cu_coupling_zeroconv_backward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor dy, float g,
                                          glow_tensor logs, float factor, glow_tensor dx, glow_tensor dhu,
                                          glow_tensor dlogs)
{
    coupling_zeroconv_backward_kernel<<<(unsigned)x.c, CU_THREADS, 0, cu_stream(be)>>>(
        cu_data(x), cu_data(h), cu_data(dy), g, cu_data(logs), factor, cu_data(dx), cu_data(dhu), cu_data(dlogs),
        glow_tensor_rows(x), x.c);
    return cu_launched("coupling_zeroconv_backward");
}

/* ---- backward_data with the ReLU backward folded in ---------------------------------- */

__global__ void relu_mask_kernel(const float *y, float *dx, size_t count)
{
    CU_FOR_EACH(i, count)
    if (!(y[i] > 0.0f))
        dx[i] = 0.0f;
}

glow_status cu_conv2d_backward_data_relu(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor y,
                                         glow_tensor dx)
{
    const char *op = "conv2d_backward_data_relu";
    size_t count = glow_tensor_count(dx);
    cudaError_t err = cudaMemsetAsync(cu_data(dx), 0, count * sizeof(float), cu_stream(be));
    if (err != cudaSuccess)
        return cu_error(GLOW_ERR_BACKEND, "cuda %s: cudaMemsetAsync: %s", op, cudaGetErrorString(err));
    GLOW_TRY(cu_conv2d_backward_data(be, dy, w, dx));
    if (y.buf == NULL)
        return GLOW_OK;
    relu_mask_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(cu_data(y), cu_data(dx), count);
    return cu_launched(op);
}

/* W and W^-1 of the same parameters: lu_weight twice. */
glow_status cu_lu_weight_pair(glow_backend *be, glow_tensor lower, glow_tensor upper, glow_tensor log_s,
                              glow_tensor sign, glow_tensor perm, glow_tensor weight, glow_tensor weight_inv)
{
    GLOW_TRY(cu_lu_weight(be, lower, upper, log_s, sign, perm, weight, 0));
    return cu_lu_weight(be, lower, upper, log_s, sign, perm, weight_inv, 1);
}
