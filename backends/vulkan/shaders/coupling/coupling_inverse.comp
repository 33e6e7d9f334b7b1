#version 450
#extension GL_GOOGLE_include_directive : require
// Affine coupling, inverse (shapes as in coupling_forward.comp), one loop trip per element
// (grid-stride loop):
//   x_a = y_a,  x_b = y_b / s - shift,  s = sigmoid(raw + 2)
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer Y { float y[]; };
layout(set = 0, binding = 1) readonly buffer H { float h[]; };
layout(set = 0, binding = 2) buffer X { float x[]; };
layout(push_constant) uniform Push { uint y_off, h_off, x_off, count, c; } pc;

void main()
{
    for (uint i = linear_index(); i < pc.count; i += grid_size()) {
        uint C = pc.c, ca = C / 2u, cb = C - ca;
        uint p = i / C, ch = i % C;
        float v = y[pc.y_off + i];
        if (ch >= ca) {
            uint k = ch - ca, hb = pc.h_off + p * 2u * cb;
            v = v / sigmoid(h[hb + cb + k] + 2.0) - h[hb + k];
        }
        x[pc.x_off + i] = v;
    }
}
