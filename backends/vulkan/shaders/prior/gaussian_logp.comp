#version 450
#extension GL_GOOGLE_include_directive : require
// Learned Gaussian prior, log-density. z: (N,H,W,C), h: (N,H,W,2C) with
// mean = h[p][0..C), logsd = h[p][C..2C):
//   logp[n] += sum_{p in n, c} -0.5 log(2 pi) - logsd - 0.5 (z - mean)^2 exp(-2 logsd)
// One workgroup per sample n, then a tree reduction.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "reduce.glsl"
layout(set = 0, binding = 0) readonly buffer Z { float z[]; };
layout(set = 0, binding = 1) readonly buffer H { float h[]; };
layout(set = 0, binding = 2) buffer LP { float logp[]; };
layout(push_constant) uniform Push { uint z_off, h_off, logp_off, hw, c; } pc;

const float HALF_LOG_2PI = 0.91893853320467274178;

void main()
{
    uint n = gl_WorkGroupID.x, t = gl_LocalInvocationID.x, C = pc.c;
    float part = 0.0;
    for (uint e = t; e < pc.hw * C; e += gl_WorkGroupSize.x) {
        uint p = n * pc.hw + e / C, ch = e % C;
        uint hb = pc.h_off + p * 2u * C;
        float mean = h[hb + ch], logsd = h[hb + C + ch];
        float d = z[pc.z_off + p * C + ch] - mean;
        part += -HALF_LOG_2PI - logsd - 0.5 * d * d * exp(-2.0 * logsd);
    }
    float total = workgroup_sum(part);
    if (t == 0u)
        logp[pc.logp_off + n] += total;
}
