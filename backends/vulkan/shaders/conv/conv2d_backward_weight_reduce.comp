// Second pass of the split-K conv2d backward_weight (both variants):
//   for e = co * n_cols + col, 0 <= e < Co * n_cols (n_cols = k*k*Ci + has_bias):
//     v = sum_{s < n_splits} partials[s * part_stride + e]   (in split order: deterministic)
//     col < k*k*Ci: dw[co][col] += v,  else dbias[co] += v.
// Each element belongs to one invocation: the += is race-free.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "gemm_conv_push.glsl"

layout(local_size_x_id = 0) in;
layout(set = 0, binding = 0) buffer DwBuffer { float dw_data[]; };
layout(set = 0, binding = 1) buffer DbiasBuffer { float dbias_data[]; };
layout(set = 0, binding = 2) readonly buffer PartialBuffer { float partials[]; };

void main()
{
    uint kk_ci = pc.k * pc.k * pc.ci;
    uint n_cols = kk_ci + ((pc.flags & CONV_HAS_BIAS) != 0u ? 1u : 0u);
    uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    uint e = group * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (e >= pc.co * n_cols)
        return;
    float v = 0.0;
    for (uint s = 0u; s < pc.n_splits; s++)
        v += partials[s * pc.part_stride + e];
    uint co = e / n_cols, col = e % n_cols;
    if (col < kk_ci)
        dw_data[pc.w_off + co * kk_ci + col] += v;
    else
        dbias_data[pc.bias_off + co] += v;
}
