/* Validated entry points to the backend ops. Each checks shapes, that every
 * tensor lies inside its buffer and belongs to `be`, and refuses impossible
 * shapes (odd H or W at a squeeze, mismatched channels, ...) with
 * GLOW_ERR_SHAPE and a message naming the op and the offending sizes; only
 * then does it call the backend's entry. Semantics: see glow/backend.h. */
#ifndef GLOW_OPS_H
#define GLOW_OPS_H

#include "glow/backend.h"

glow_status glow_fill(glow_backend *be, glow_tensor t, float value);
glow_status glow_copy_channels(glow_backend *be, glow_tensor src, int src_c0, glow_tensor dst, int dst_c0,
                               int count, int accumulate);
glow_status glow_squeeze(glow_backend *be, glow_tensor x, glow_tensor y, int accumulate);
glow_status glow_unsqueeze(glow_backend *be, glow_tensor y, glow_tensor x, int accumulate);
/* Split x (N,H,W,C) along channels into a = x[..][0, C/2) and b = x[..][C/2, C);
 * C must be even and a, b of shape (N,H,W,C/2). concat is the inverse (= or +=). */
glow_status glow_split_channels(glow_backend *be, glow_tensor x, glow_tensor a, glow_tensor b);
glow_status glow_concat_channels(glow_backend *be, glow_tensor a, glow_tensor b, glow_tensor x, int accumulate);
glow_status glow_relu_backward(glow_backend *be, glow_tensor y, glow_tensor dy);
glow_status glow_add_scalar(glow_backend *be, glow_tensor t, float value);
glow_status glow_logdet_sum(glow_backend *be, glow_tensor v, float scale, glow_tensor ld);

glow_status glow_actnorm_forward(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs, glow_tensor y);
glow_status glow_actnorm_inverse(glow_backend *be, glow_tensor y, glow_tensor bias, glow_tensor logs, glow_tensor x);
glow_status glow_actnorm_backward(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor bias, glow_tensor logs,
                                  glow_tensor dx, glow_tensor dbias, glow_tensor dlogs);
glow_status glow_actnorm_init(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs);

glow_status glow_lu_weight(glow_backend *be, glow_tensor lower, glow_tensor upper, glow_tensor log_s,
                           glow_tensor sign, glow_tensor perm, glow_tensor weight, int inverse);
glow_status glow_lu_weight_backward(glow_backend *be, glow_tensor dweight, glow_tensor lower, glow_tensor upper,
                                    glow_tensor log_s, glow_tensor sign, glow_tensor perm, glow_tensor dlower,
                                    glow_tensor dupper, glow_tensor dlog_s);

glow_status glow_conv2d_forward(glow_backend *be, glow_tensor x, glow_tensor w, glow_tensor bias, glow_tensor y,
                                int relu);
glow_status glow_conv2d_backward_data(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor dx);
glow_status glow_conv2d_backward_weight(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor dw,
                                        glow_tensor dbias);
glow_status glow_channel_scale_forward(glow_backend *be, glow_tensor y, glow_tensor logs, float factor);
glow_status glow_channel_scale_backward(glow_backend *be, glow_tensor y, glow_tensor dy, glow_tensor logs,
                                        float factor, glow_tensor dlogs);

glow_status glow_coupling_forward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor y, glow_tensor ld);
glow_status glow_coupling_inverse(glow_backend *be, glow_tensor y, glow_tensor h, glow_tensor x);
glow_status glow_coupling_backward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor dy, float g,
                                   glow_tensor dx, glow_tensor dh);

glow_status glow_gaussian_logp(glow_backend *be, glow_tensor z, glow_tensor h, glow_tensor logp);
glow_status glow_gaussian_logp_backward(glow_backend *be, glow_tensor z, glow_tensor h, float g, glow_tensor dz,
                                        glow_tensor dh);
glow_status glow_gaussian_sample(glow_backend *be, glow_tensor h, float temperature, glow_rng rng, glow_tensor z);

glow_status glow_rng_fill_uniform(glow_backend *be, glow_rng rng, glow_tensor out);
glow_status glow_rng_fill_normal(glow_backend *be, glow_rng rng, glow_tensor out);
glow_status glow_dequantize(glow_backend *be, const glow_buffer *pixels, size_t pixel_off, int n_bits, glow_rng rng,
                            glow_tensor x);

glow_status glow_sum_squares(glow_backend *be, glow_tensor g, glow_tensor out);
glow_status glow_optimizer_step(glow_backend *be, glow_tensor params, glow_tensor grads, glow_tensor m, glow_tensor v,
                                const glow_adam_params *hp, glow_tensor sumsq);

/* Composite: the zero-initialised conv of the coupling networks and priors:
 *   y = (conv3x3(x, w) + bias) * exp(3 * logs[co])          (relu off) */
glow_status glow_zeroconv_forward(glow_backend *be, glow_tensor x, glow_tensor w, glow_tensor bias,
                                  glow_tensor logs, glow_tensor y);
/* Backward of the above given its output y; dy is consumed (scaled in place). */
glow_status glow_zeroconv_backward(glow_backend *be, glow_tensor x, glow_tensor w, glow_tensor logs, glow_tensor y,
                                   glow_tensor dy, glow_tensor dx, glow_tensor dw, glow_tensor dbias,
                                   glow_tensor dlogs);
#define GLOW_ZEROCONV_LOGSCALE_FACTOR 3.0f

#endif
