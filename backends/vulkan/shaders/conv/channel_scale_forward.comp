#version 450
#extension GL_GOOGLE_include_directive : require
// In place, y: (P, C) rows of channels: y[p][c] *= exp(factor * logs[c]).
// Grid-stride loop (common.glsl grid_size()).
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) buffer Y { float y[]; };
layout(set = 0, binding = 1) readonly buffer LOGS { float logs[]; };
layout(push_constant) uniform Push { uint y_off, count, c, logs_off; float factor; } pc;

void main()
{
    for (uint i = linear_index(); i < pc.count; i += grid_size()) {
        uint c = i % pc.c;
        y[pc.y_off + i] *= exp(pc.factor * logs[pc.logs_off + c]);
    }
}
