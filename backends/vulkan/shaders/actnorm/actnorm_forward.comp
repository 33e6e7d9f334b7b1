#version 450
#extension GL_GOOGLE_include_directive : require
// y = (x + bias[c]) * exp(logs[c]) over (P, C); y may alias x exactly
// (each element is read then written by the same invocation). Grid-stride loop.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer B { float bias[]; };
layout(set = 0, binding = 2) readonly buffer L { float logs[]; };
layout(set = 0, binding = 3) buffer Y { float y[]; };
layout(push_constant) uniform Push { uint x_off, y_off, count, c, bias_off, logs_off; } pc;

void main()
{
    for (uint i = linear_index(); i < pc.count; i += grid_size()) {
        uint c = i % pc.c;
        y[pc.y_off + i] = (x[pc.x_off + i] + bias[pc.bias_off + c]) * exp(logs[pc.logs_off + c]);
    }
}
