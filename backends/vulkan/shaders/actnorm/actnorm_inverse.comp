#version 450
#extension GL_GOOGLE_include_directive : require
// x = y * exp(-logs[c]) - bias[c] over (P, C); x may alias y exactly.
// Grid-stride loop (common.glsl grid_size()).
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer Y { float y[]; };
layout(set = 0, binding = 1) readonly buffer B { float bias[]; };
layout(set = 0, binding = 2) readonly buffer L { float logs[]; };
layout(set = 0, binding = 3) buffer X { float x[]; };
layout(push_constant) uniform Push { uint y_off, x_off, count, c, bias_off, logs_off; } pc;

void main()
{
    for (uint i = linear_index(); i < pc.count; i += grid_size()) {
        uint c = i % pc.c;
        x[pc.x_off + i] = y[pc.y_off + i] * exp(-logs[pc.logs_off + c]) - bias[pc.bias_off + c];
    }
}
