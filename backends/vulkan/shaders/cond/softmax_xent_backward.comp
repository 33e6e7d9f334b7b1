#version 450
#extension GL_GOOGLE_include_directive : require
// Backward of softmax_xent (shapes there). g = dLoss/dloss[n], the same for every
// sample; s = softmax(logits[n]) = exp(l_k - m) / sum_j exp(l_j - m), m = max_j l_j:
//   dlogits[n][k] += g * (s[k] * sum_j target[n][j] - target[n][k])
// One loop trip per element (n, k) (grid-stride loop); each recomputes its row's
// max and sums over the K classes.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer L { float logits[]; };
layout(set = 0, binding = 1) readonly buffer T { float target[]; };
layout(set = 0, binding = 2) buffer D { float dlogits[]; };
layout(push_constant) uniform Push { uint l_off, t_off, d_off, count, k; float g; } pc;

void main()
{
    for (uint i = linear_index(); i < pc.count; i += grid_size()) {
        uint n = i / pc.k, lb = pc.l_off + n * pc.k, tb = pc.t_off + n * pc.k;
        float m = logits[lb];
        for (uint j = 1u; j < pc.k; j++)
            m = max(m, logits[lb + j]);
        float s = 0.0, tsum = 0.0;
        for (uint j = 0u; j < pc.k; j++) {
            s += exp(logits[lb + j] - m);
            tsum += target[tb + j];
        }
        float soft = exp(logits[lb + i % pc.k] - m) / s;
        dlogits[pc.d_off + i] += pc.g * (soft * tsum - target[tb + i % pc.k]);
    }
}
