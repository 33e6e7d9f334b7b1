#version 450
#extension GL_GOOGLE_include_directive : require
// Inverse of actnorm_invconv_forward. y, x: (P, C); weight_inv = W^-1 (C, C) [row][col]:
//   x[p][c] = (sum_j W^-1[c][j] * y[p][j]) * exp(-logs[c]) - bias[c]
// Grid-stride over the P*C outputs.
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer Y { float y[]; };
layout(set = 0, binding = 1) readonly buffer B { float bias[]; };
layout(set = 0, binding = 2) readonly buffer LS { float logs[]; };
layout(set = 0, binding = 3) readonly buffer WT { float weight[]; };
layout(set = 0, binding = 4) writeonly buffer X { float x[]; };
layout(push_constant) uniform Push { uint y_off, bias_off, logs_off, w_off, x_off, count, c; } pc;

void main()
{
    uint C = pc.c;
    for (uint e = linear_index(); e < pc.count; e += grid_size()) {
        uint p = e / C, c = e % C;
        float acc = 0.0;
        for (uint j = 0u; j < C; j++)
            acc += weight[pc.w_off + c * C + j] * y[pc.y_off + p * C + j];
        x[pc.x_off + e] = acc * exp(-logs[pc.logs_off + c]) - bias[pc.bias_off + c];
    }
}
