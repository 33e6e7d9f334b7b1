/* Floating-point work of one Glow training step, counted from the configuration.
 *
 * Only the convolutions are counted; each is a GEMM (glow/backend.h):
 *   conv k x k, Ci -> Co over P = N*H*W pixels: P * Co * k*k * Ci multiply-adds = 2 * P * Co * k*k * Ci FLOPs.
 * Per flow step of level l (P_l = N H_l W_l, C_l channels, Ca = C_l/2, Cb = C_l - Ca, F hidden):
 *   invertible 1x1 conv  C_l -> C_l (k=1)     conv1 3x3 Ca -> F (k=3)
 *   conv2 1x1 F -> F (k=1)                    zeroconv 3x3 F -> 2Cb (k=3)
 * per level l < L-1 the split prior 3x3 C_l/2 -> C_l, and the top prior 3x3 C -> 2C (C = C_{L-1}).
 * forward = the sum of those convolutions once; backward = each twice (data gradient and weight
 * gradient), except the top prior, whose input is a constant (zeros) and has no data gradient, so
 * it is counted once (weight gradient only).
 * Left out: elementwise ops (actnorm, coupling, ReLU, channel scale, squeeze, split), reductions
 * (log-dets, log-densities, gradient norm), the LU weight products (O(C^3) per step, independent
 * of the batch), dequantisation, the optimiser update, the data-dependent actnorm init of the
 * first step, and the reversible mode's recomputation (reported apart in `reversible_recompute`:
 * every flow step's inverse runs its coupling network and its 1x1 conv once more). */
#ifndef GLOW_MODEL_FLOPS_H
#define GLOW_MODEL_FLOPS_H

#include "glow/model.h"

typedef struct {
    double forward;              /* FLOPs of the forward pass's convolutions */
    double backward;             /* data and weight gradients of those convolutions */
    double step;                 /* forward + backward: the FLOPs of one training step */
    double reversible_recompute; /* extra convolution FLOPs of a step in GLOW_MEMORY_REVERSIBLE mode */
} glow_model_flops;

/* FLOPs of a conv k x k, Ci -> Co over `pixels` pixels (one GEMM: 2 * pixels * Co * k*k * Ci). */
double glow_conv_flops(double pixels, int k, int ci, int co);

/* Counts the FLOPs of one training step on a batch of `batch` images (see above).
 * Refuses a configuration glow_model_create would refuse (sizes not divisible by 2^L, ...). */
glow_status glow_model_count_flops(const glow_model_config *cfg, int batch, glow_model_flops *out);

#endif
