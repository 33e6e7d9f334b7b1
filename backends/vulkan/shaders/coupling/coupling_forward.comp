#version 450
#extension GL_GOOGLE_include_directive : require
// Affine coupling, forward. x, y: (N,H,W,C), Ca = C/2, Cb = C - Ca, h: (N,H,W,2Cb)
// with shift = h[p][0..Cb), raw = h[p][Cb..2Cb), s = sigmoid(raw + 2):
//   y_a = x_a,  y_b = (x_b + shift) * s,  ld[n] += sum_{p in n, k} log s
// One workgroup per sample n (workgroup id x), looping over its HW*C elements,
// then a tree reduction of the log-scales.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "reduce.glsl"
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer H { float h[]; };
layout(set = 0, binding = 2) buffer Y { float y[]; };
layout(set = 0, binding = 3) buffer LD { float ld[]; };
layout(push_constant) uniform Push { uint x_off, h_off, y_off, ld_off, hw, c; } pc;

void main()
{
    uint n = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
    uint C = pc.c, ca = C / 2u, cb = C - ca;
    float part = 0.0;
    for (uint e = t; e < pc.hw * C; e += gl_WorkGroupSize.x) {
        uint p = n * pc.hw + e / C, ch = e % C;
        float v = x[pc.x_off + p * C + ch];
        if (ch >= ca) {
            uint k = ch - ca, hb = pc.h_off + p * 2u * cb;
            float z = h[hb + cb + k] + 2.0;
            v = (v + h[hb + k]) * sigmoid(z);
            part += log_sigmoid(z);
        }
        y[pc.y_off + p * C + ch] = v;
    }
    float total = workgroup_sum(part);
    if (t == 0u)
        ld[pc.ld_off + n] += total;
}
