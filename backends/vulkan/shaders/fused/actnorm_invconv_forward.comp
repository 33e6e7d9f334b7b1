#version 450
#extension GL_GOOGLE_include_directive : require
// Actnorm folded into the invertible 1x1 convolution, forward. x, y: (P, C) with P = N*H*W;
// bias, logs, log_s: (C); weight W: (C, C) row-major [co][ci]; xa: (P, Ca) or absent; ld: (N).
//   y[p][co] = sum_ci W[co][ci] * (x[p][ci] + bias[ci]) * exp(logs[ci])
//   xa[p][co] = y[p][co] for co < Ca (flags & 1)
//   ld[n] += hw * (sum_c logs[c] + sum_c log_s[c])   (invocation 0 alone, every n)
// Grid-stride over the P*C outputs; C is the flow's channel count (small), so each
// output is a dot product of C terms.
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer B { float bias[]; };
layout(set = 0, binding = 2) readonly buffer LS { float logs[]; };
layout(set = 0, binding = 3) readonly buffer WT { float weight[]; };
layout(set = 0, binding = 4) readonly buffer LU { float log_s[]; };
layout(set = 0, binding = 5) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 6) writeonly buffer XA { float xa[]; };
layout(set = 0, binding = 7) buffer LD { float ld[]; };
layout(push_constant) uniform Push {
    uint x_off, bias_off, logs_off, w_off, log_s_off, y_off, xa_off, ld_off;
    uint count, c, ca, n, hw, flags;
} pc;

void main()
{
    uint C = pc.c;
    for (uint e = linear_index(); e < pc.count; e += grid_size()) {
        uint p = e / C, co = e % C;
        float acc = 0.0;
        for (uint ci = 0u; ci < C; ci++) {
            float a = (x[pc.x_off + p * C + ci] + bias[pc.bias_off + ci]) * exp(logs[pc.logs_off + ci]);
            acc += weight[pc.w_off + co * C + ci] * a;
        }
        y[pc.y_off + e] = acc;
        if ((pc.flags & 1u) != 0u && co < pc.ca)
            xa[pc.xa_off + p * pc.ca + co] = acc;
    }
    if (linear_index() == 0u) {
        float s = 0.0;
        for (uint c = 0u; c < C; c++)
            s += logs[pc.logs_off + c] + log_s[pc.log_s_off + c];
        float term = float(pc.hw) * s;
        for (uint n = 0u; n < pc.n; n++)
            ld[pc.ld_off + n] += term;
    }
}
