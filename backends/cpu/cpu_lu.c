/* Fast CPU backend: the LU-parametrised 1x1 convolution weight and its
 * gradient. These are C x C matrix products in double with C the flow's
 * channel count (4 to 48 in the model's configurations: under 0.3 MFLOP per
 * call, once per flow step), so the reference's code is used as it stands:
 * threads or a BLAS would cost more than they save. The buffers of both
 * backends have the same layout (glow_buffer.impl at the first data byte). */
#include "cpu_internal.h"

#include "../ref/ref_internal.h"

glow_status cpu_lu_weight(glow_backend *be, glow_tensor lower, glow_tensor upper, glow_tensor log_s, glow_tensor sign,
                          glow_tensor perm, glow_tensor weight, int inverse)
{
    return ref_lu_weight(be, lower, upper, log_s, sign, perm, weight, inverse);
}

glow_status cpu_lu_weight_backward(glow_backend *be, glow_tensor dweight, glow_tensor lower, glow_tensor upper,
                                   glow_tensor log_s, glow_tensor sign, glow_tensor perm, glow_tensor dlower,
                                   glow_tensor dupper, glow_tensor dlog_s)
{
    return ref_lu_weight_backward(be, dweight, lower, upper, log_s, sign, perm, dlower, dupper, dlog_s);
}
