#version 450
#extension GL_GOOGLE_include_directive : require
// Softmax cross-entropy in nats. logits, target: (N,1,1,K), loss: (1,1,1,N):
//   loss[n] = -sum_k target[n][k] log softmax(logits[n])[k]
//           = (sum_k target[n][k]) logsumexp_k logits[n][k] - sum_k target[n][k] logits[n][k]
// with logsumexp = m + log sum_k exp(l_k - m), m = max_k l_k.
// One loop trip per sample (grid-stride loop) over its K classes.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer L { float logits[]; };
layout(set = 0, binding = 1) readonly buffer T { float target[]; };
layout(set = 0, binding = 2) buffer O { float loss[]; };
layout(push_constant) uniform Push { uint l_off, t_off, loss_off, n, k; } pc;

void main()
{
    for (uint n = linear_index(); n < pc.n; n += grid_size()) {
        uint lb = pc.l_off + n * pc.k, tb = pc.t_off + n * pc.k;
        float m = logits[lb];
        for (uint k = 1u; k < pc.k; k++)
            m = max(m, logits[lb + k]);
        float s = 0.0, dot = 0.0, tsum = 0.0;
        for (uint k = 0u; k < pc.k; k++) {
            s += exp(logits[lb + k] - m);
            dot += target[tb + k] * logits[lb + k];
            tsum += target[tb + k];
        }
        loss[pc.loss_off + n] = tsum * (m + log(s)) - dot;
    }
}
