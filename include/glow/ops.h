/* Validated entry points to the backend ops. Each checks shapes, that every
 * tensor lies inside its buffer and belongs to `be`, and refuses impossible
 * shapes (odd H or W at a squeeze, mismatched channels, ...) with
 * GLOW_ERR_SHAPE and a message naming the op and the offending sizes; only
 * then does it call the backend's entry. Semantics: see glow/ops.def. */
#ifndef GLOW_OPS_H
#define GLOW_OPS_H

#include "glow/backend.h"

/* glow_<name> for every GLOW_OP line of glow/ops.def, with its parameters. */
#define GLOW_CORE(name, ret, params)
#define GLOW_OP(name, ret, params) ret glow_##name params;
#include "glow/ops.def"

/* Split x (N,H,W,C) along channels into a = x[..][0, C/2) and b = x[..][C/2, C);
 * C must be even and a, b of shape (N,H,W,C/2). concat is the inverse (= or +=). */
glow_status glow_split_channels(glow_backend *be, glow_tensor x, glow_tensor a, glow_tensor b);
glow_status glow_concat_channels(glow_backend *be, glow_tensor a, glow_tensor b, glow_tensor x, int accumulate);

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
