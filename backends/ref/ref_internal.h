/* CPU reference backend: shared helpers and the op entries of each family file.
 *
 * A CPU buffer is one 64-byte aligned host allocation; glow_buffer.impl points
 * at its first data byte (see ref_backend.c). Tensors are float32 NHWC, so a
 * tensor's data is ref_data(t)[0 .. glow_tensor_count(t)), element
 * (n, y, x, c) at ((n*H + y)*W + x)*C + c. The entries assume arguments already
 * validated by src/engine/ops.c. Every backward entry accumulates (+=). */
#ifndef GLOW_REF_INTERNAL_H
#define GLOW_REF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "glow/backend.h"

static inline float *ref_data(glow_tensor t)
{
    return (float *)t.buf->impl + t.off;
}

static inline const uint8_t *ref_bytes(const glow_buffer *buf, size_t byte_off)
{
    return (const uint8_t *)buf->impl + byte_off;
}

/* scale[c] = exp(factor * logs[c]) for the C entries of a parameter vector, in a
 * malloc'ed array the caller frees. NULL (with the error set) when out of memory. */
float *ref_channel_exp(glow_tensor logs, float factor, const char *op);
/* calloc of n doubles for a reduction, with the error set when out of memory. */
double *ref_zeros_f64(size_t n, const char *op);

/* ref_elementwise.c */
glow_status ref_fill(glow_backend *be, glow_tensor t, float value);
glow_status ref_copy_channels(glow_backend *be, glow_tensor src, int src_c0, glow_tensor dst, int dst_c0, int count,
                              int accumulate);
glow_status ref_squeeze(glow_backend *be, glow_tensor x, glow_tensor y, int accumulate);
glow_status ref_unsqueeze(glow_backend *be, glow_tensor y, glow_tensor x, int accumulate);
glow_status ref_relu_backward(glow_backend *be, glow_tensor y, glow_tensor dy);
glow_status ref_add_scalar(glow_backend *be, glow_tensor t, float value);
glow_status ref_logdet_sum(glow_backend *be, glow_tensor v, float scale, glow_tensor ld);

/* ref_actnorm.c */
glow_status ref_actnorm_forward(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs, glow_tensor y);
glow_status ref_actnorm_inverse(glow_backend *be, glow_tensor y, glow_tensor bias, glow_tensor logs, glow_tensor x);
glow_status ref_actnorm_backward(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor bias, glow_tensor logs,
                                 glow_tensor dx, glow_tensor dbias, glow_tensor dlogs);
glow_status ref_actnorm_init(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs);

/* ref_lu.c */
glow_status ref_lu_weight(glow_backend *be, glow_tensor lower, glow_tensor upper, glow_tensor log_s, glow_tensor sign,
                          glow_tensor perm, glow_tensor weight, int inverse);
glow_status ref_lu_weight_backward(glow_backend *be, glow_tensor dweight, glow_tensor lower, glow_tensor upper,
                                   glow_tensor log_s, glow_tensor sign, glow_tensor perm, glow_tensor dlower,
                                   glow_tensor dupper, glow_tensor dlog_s);

/* ref_conv.c */
glow_status ref_conv2d_forward(glow_backend *be, glow_tensor x, glow_tensor w, glow_tensor bias, glow_tensor y,
                               int relu);
glow_status ref_conv2d_backward_data(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor dx);
glow_status ref_conv2d_backward_weight(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor dw,
                                       glow_tensor dbias);
glow_status ref_channel_scale_forward(glow_backend *be, glow_tensor y, glow_tensor logs, float factor);
glow_status ref_channel_scale_backward(glow_backend *be, glow_tensor y, glow_tensor dy, glow_tensor logs, float factor,
                                       glow_tensor dlogs);

/* ref_coupling.c */
glow_status ref_coupling_forward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor y, glow_tensor ld);
glow_status ref_coupling_inverse(glow_backend *be, glow_tensor y, glow_tensor h, glow_tensor x);
glow_status ref_coupling_backward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor dy, float g,
                                  glow_tensor dx, glow_tensor dh);

/* ref_prior.c */
glow_status ref_gaussian_logp(glow_backend *be, glow_tensor z, glow_tensor h, glow_tensor logp);
glow_status ref_gaussian_logp_backward(glow_backend *be, glow_tensor z, glow_tensor h, float g, glow_tensor dz,
                                       glow_tensor dh);
glow_status ref_gaussian_sample(glow_backend *be, glow_tensor h, float temperature, glow_rng rng, glow_tensor z);

/* ref_random.c */
glow_status ref_rng_uniform(glow_backend *be, glow_rng rng, glow_tensor out);
glow_status ref_rng_normal(glow_backend *be, glow_rng rng, glow_tensor out);
glow_status ref_dequantize(glow_backend *be, const glow_buffer *pixels, size_t pixel_off, int n_bits, glow_rng rng,
                           glow_tensor x);

/* ref_optim.c */
glow_status ref_sum_squares(glow_backend *be, glow_tensor g, glow_tensor out);
glow_status ref_optimizer_step(glow_backend *be, glow_tensor params, glow_tensor grads, glow_tensor m, glow_tensor v,
                               const glow_adam_params *hp, glow_tensor sumsq);

#endif
