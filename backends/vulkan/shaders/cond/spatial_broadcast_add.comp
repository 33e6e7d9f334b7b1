#version 450
#extension GL_GOOGLE_include_directive : require
// Broadcast of a per-sample vector over the pixels. v: (N,1,1,C), x: (N,H,W,C):
//   x[n][q][c] += scale * v[n][c],  q < H*W
// One loop trip per element of x (grid-stride loop).
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer V { float v[]; };
layout(set = 0, binding = 1) buffer X { float x[]; };
layout(push_constant) uniform Push { uint v_off, x_off, count, hw, c; float scale; } pc;

void main()
{
    for (uint i = linear_index(); i < pc.count; i += grid_size()) {
        uint C = pc.c, n = i / (pc.hw * C), ch = i % C;
        x[pc.x_off + i] += pc.scale * v[pc.v_off + n * C + ch];
    }
}
