#version 450
#extension GL_GOOGLE_include_directive : require
// Spatial sum per sample and channel. x: (N,H,W,C), v: (N,1,1,C):
//   v[n][c] (= or += when accumulate != 0) scale * sum_{q < H*W} x[n][q][c]
// One loop trip per output (n, c) (grid-stride loop), summing its H*W pixels in
// pixel order: the model sums the top level (a few pixels per sample) only.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) buffer V { float v[]; };
layout(push_constant) uniform Push { uint x_off, v_off, count, hw, c, accumulate; float scale; } pc;

void main()
{
    for (uint i = linear_index(); i < pc.count; i += grid_size()) {
        uint C = pc.c, n = i / C, ch = i % C;
        uint base = pc.x_off + n * pc.hw * C + ch;
        float sum = 0.0;
        for (uint q = 0u; q < pc.hw; q++)
            sum += x[base + q * C];
        float term = pc.scale * sum;
        v[pc.v_off + i] = pc.accumulate != 0u ? v[pc.v_off + i] + term : term;
    }
}
