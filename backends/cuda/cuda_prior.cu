/* CUDA: the learned Gaussian prior (shaders: gaussian_logp.comp,
 * gaussian_logp_backward.comp, gaussian_sample.comp).
 * z: (N,H,W,C); h: (N,H,W,2C) with mean = h[p][0..C), logsd = h[p][C..2C).
 *   logp[n] += sum_{p in n, c} -0.5 log(2 pi) - logsd - 0.5 (z - mean)^2 e^(-2 logsd). */
#include "cuda_internal.h"
#include "cuda_philox.h"

/* Element e = q*C + c of sample n (q the pixel within the sample), in double as on the CPU. */
struct gaussian_logp_terms {
    const float *z, *h;
    int C;
    size_t per_sample; /* H*W*C */
    __device__ double operator()(int n, size_t e) const
    {
        size_t q = e / C;
        int c = (int)(e - q * C);
        size_t p = (size_t)n * (per_sample / C) + q;
        double mean = h[p * 2 * C + c], logsd = h[p * 2 * C + C + c];
        double d = (double)z[p * C + c] - mean;
        return -0.91893853320467274178 - logsd - 0.5 * d * d * exp(-2.0 * logsd);
    }
};

glow_status cu_gaussian_logp(glow_backend *be, glow_tensor z, glow_tensor h, glow_tensor logp)
{
    size_t per_sample = (size_t)z.h * z.w * z.c;
    gaussian_logp_terms terms = {cu_data(z), cu_data(h), z.c, per_sample};
    return cu_sample_reduce(be, "gaussian_logp", z.n, per_sample, terms, cu_data(logp));
}

/* One thread per element (p, c), d = (z - mean) e^(-2 logsd):
 *   dz += -g d (dz may be NULL);  dmean += g d;  dlogsd += g ((z - mean) d - 1). */
__global__ void gaussian_logp_backward_kernel(const float *z, const float *h, float g, float *dz, float *dh,
                                              size_t count, int C)
{
    CU_FOR_EACH(i, count)
    {
        size_t p = i / C;
        int c = (int)(i - p * C);
        const float *hp = h + p * 2 * C;
        float *dhp = dh + p * 2 * C;
        float diff = z[i] - hp[c];
        float d = diff * expf(-2.0f * hp[C + c]);
        if (dz)
            dz[i] += -g * d;
        dhp[c] += g * d;
        dhp[C + c] += g * (diff * d - 1.0f);
    }
}

glow_status cu_gaussian_logp_backward(glow_backend *be, glow_tensor z, glow_tensor h, float g, glow_tensor dz,
                                      glow_tensor dh)
{
    size_t count = glow_tensor_count(z);
    gaussian_logp_backward_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(
        cu_data(z), cu_data(h), g, cu_data_or_null(dz), cu_data(dh), count, z.c);
    return cu_launched("gaussian_logp_backward");
}

/* z[i] = mean + e^logsd * temperature * normal(rng, i), i the flat index in z. */
__global__ void gaussian_sample_kernel(const float *h, float temperature, cu_philox_key key, float *z, size_t count,
                                       int C)
{
    CU_FOR_EACH(i, count)
    {
        size_t p = i / C;
        int c = (int)(i - p * C);
        const float *hp = h + p * 2 * C;
        z[i] = hp[c] + expf(hp[C + c]) * temperature * cu_rng_normal_at(key, i);
    }
}

glow_status cu_gaussian_sample(glow_backend *be, glow_tensor h, float temperature, glow_rng rng, glow_tensor z)
{
    size_t count = glow_tensor_count(z);
    gaussian_sample_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(cu_data(h), temperature,
                                                                              cu_philox_key_of(rng), cu_data(z),
                                                                              count, z.c);
    return cu_launched("gaussian_sample");
}
