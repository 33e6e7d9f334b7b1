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

/* ---- ref_common.c: helpers of the family files -------------------------------- */
/* scale[c] = exp(factor * logs[c]) for the C entries of a parameter vector, in a
 * malloc'ed array the caller frees. NULL (with the error set) when out of memory. */
float *ref_channel_exp(glow_tensor logs, float factor, const char *op);
/* calloc of n doubles for a reduction, with the error set when out of memory. */
double *ref_zeros_f64(size_t n, const char *op);

/* ---- ref_<name> for every entry of glow/ops.def ---------------------------------
 * Each op in the family file of its section there (ref_elementwise.c, ref_actnorm.c, ref_lu.c, ref_conv.c,
 * ref_coupling.c, ref_prior.c, ref_random.c, ref_optim.c); the GLOW_CORE
 * entries (memory, lifecycle) are in ref_backend.c. */
#define GLOW_OP(name, ret, params) ret ref_##name params;
#include "glow/ops.def"

#endif
