#version 450
#extension GL_GOOGLE_include_directive : require
// Inverse of actnorm_invconv_forward. y, x: (P, C); weight_inv = W^-1 (C, C) [row][col]:
//   x[p][c] = (sum_j W^-1[c][j] * y[p][j]) * exp(-logs[c]) - bias[c]
//   xa[p][c] = x[p][c] for c < Ca = C/2 (flags & 1)
// Grid-stride over the P*C outputs.
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer Y { float y[]; };
layout(set = 0, binding = 1) readonly buffer B { float bias[]; };
layout(set = 0, binding = 2) readonly buffer LS { float logs[]; };
layout(set = 0, binding = 3) readonly buffer WT { float weight[]; };
layout(set = 0, binding = 4) writeonly buffer X { float x[]; };
layout(set = 0, binding = 5) writeonly buffer XA { float xa[]; };
layout(push_constant) uniform Push { uint y_off, bias_off, logs_off, w_off, x_off, count, c, xa_off, flags; } pc;

void main()
{
    uint C = pc.c;
    for (uint e = linear_index(); e < pc.count; e += grid_size()) {
        uint p = e / C, c = e % C;
        float acc = 0.0;
        for (uint j = 0u; j < C; j++)
            acc += weight[pc.w_off + c * C + j] * y[pc.y_off + p * C + j];
        float v = acc * exp(-logs[pc.logs_off + c]) - bias[pc.bias_off + c];
        x[pc.x_off + e] = v;
        if ((pc.flags & 1u) != 0u && c < C / 2u)
            xa[pc.xa_off + p * (C / 2u) + c] = v;
    }
}
