#version 450
#extension GL_GOOGLE_include_directive : require
// t[off + i] += value, 0 <= i < count (grid-stride loop).
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) buffer T { float t[]; };
layout(push_constant) uniform Push { uint off; uint count; float value; } pc;

void main()
{
    for (uint i = linear_index(); i < pc.count; i += grid_size())
        t[pc.off + i] += pc.value;
}
