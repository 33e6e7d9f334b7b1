/* CUDA: affine coupling (shaders: coupling_forward.comp, coupling_inverse.comp,
 * coupling_backward.comp).
 * x, y: (N,H,W,C); Ca = C/2 pass-through channels [0, Ca), Cb = C - Ca
 * transformed channels [Ca, C). h: (N,H,W,2Cb), shift = h[p][0..Cb),
 * raw = h[p][Cb..2Cb), s = sigmoid(raw + 2):
 *   y_a = x_a,  y_b = (x_b + shift) s,  ld[n] += sum_{p in n, k} log s. */
#include "cuda_internal.h"

static __device__ __forceinline__ float coupling_scale(float raw)
{
    return 1.0f / (1.0f + expf(-(raw + 2.0f)));
}

/* log sigmoid(z) = -log(1 + e^-z), without overflow for either sign of z. */
static __device__ __forceinline__ double log_sigmoid(double z)
{
    return z >= 0.0 ? -log1p(exp(-z)) : z - log1p(exp(z));
}

/* One thread per element (p, c) of y: forward (inverse == 0) or inverse. */
__global__ void coupling_apply_kernel(const float *in, const float *h, float *out, size_t count, int C, int inverse)
{
    const int Ca = C / 2, Cb = C - Ca;
    CU_FOR_EACH(i, count)
    {
        size_t p = i / C;
        int c = (int)(i - p * C);
        if (c < Ca) {
            out[i] = in[i];
            continue;
        }
        const float *hp = h + p * 2 * Cb;
        int k = c - Ca;
        float s = coupling_scale(hp[Cb + k]);
        out[i] = inverse ? in[i] / s - hp[k] : (in[i] + hp[k]) * s;
    }
}

/* log s of element e = q*Cb + k of sample n. */
struct coupling_logdet_terms {
    const float *h;
    int Cb;
    size_t pixels_per_sample;
    __device__ double operator()(int n, size_t e) const
    {
        size_t q = e / Cb;
        int k = (int)(e - q * Cb);
        size_t p = (size_t)n * pixels_per_sample + q;
        return log_sigmoid((double)h[p * 2 * Cb + Cb + k] + 2.0);
    }
};

glow_status cu_coupling_forward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor y, glow_tensor ld)
{
    const char *op = "coupling_forward";
    size_t count = glow_tensor_count(x);
    int Cb = x.c - x.c / 2;
    coupling_apply_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(cu_data(x), cu_data(h), cu_data(y),
                                                                             count, x.c, 0);
    GLOW_TRY(cu_launched(op));
    size_t pixels_per_sample = (size_t)x.h * x.w;
    coupling_logdet_terms terms = {cu_data(h), Cb, pixels_per_sample};
    return cu_sample_reduce(be, op, x.n, pixels_per_sample * Cb, terms, cu_data(ld));
}

glow_status cu_coupling_inverse(glow_backend *be, glow_tensor y, glow_tensor h, glow_tensor x)
{
    size_t count = glow_tensor_count(y);
    coupling_apply_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(cu_data(y), cu_data(h), cu_data(x),
                                                                             count, y.c, 1);
    return cu_launched("coupling_inverse");
}

/* One thread per element (p, c); g = dLoss/dld[n]:
 *   c < Ca: dx_a += dy_a;
 *   else k = c - Ca: dx_b += dy_b s;  dshift[k] += dy_b s;
 *                    draw[k] += (dy_b (x_b + shift) s + g) (1 - s). */
__global__ void coupling_backward_kernel(const float *x, const float *h, const float *dy, float g, float *dx, float *dh,
                                         size_t count, int C)
{
    const int Ca = C / 2, Cb = C - Ca;
    CU_FOR_EACH(i, count)
    {
        size_t p = i / C;
        int c = (int)(i - p * C);
        if (c < Ca) {
            dx[i] += dy[i];
            continue;
        }
        int k = c - Ca;
        const float *hp = h + p * 2 * Cb;
        float *dhp = dh + p * 2 * Cb;
        float s = coupling_scale(hp[Cb + k]);
        float gyb = dy[i];
        dx[i] += gyb * s;
        dhp[k] += gyb * s;
        dhp[Cb + k] += (gyb * (x[i] + hp[k]) * s + g) * (1.0f - s);
    }
}

glow_status cu_coupling_backward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor dy, float g,
                                 glow_tensor dx, glow_tensor dh)
{
    size_t count = glow_tensor_count(x);
    coupling_backward_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(
        cu_data(x), cu_data(h), cu_data(dy), g, cu_data(dx), cu_data(dh), count, x.c);
    return cu_launched("coupling_backward");
}
