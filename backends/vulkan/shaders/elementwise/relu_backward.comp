#version 450
#extension GL_GOOGLE_include_directive : require
// In place: dy[i] = y[i] > 0 ? dy[i] : 0, 0 <= i < count, in a grid-stride loop
// (common.glsl's grid_size(); the host launches vk_ops_launch_grid).
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer Y { float y[]; };
layout(set = 0, binding = 1) buffer DY { float dy[]; };
layout(push_constant) uniform Push { uint y_off; uint dy_off; uint count; } pc;

void main()
{
    for (uint i = linear_index(); i < pc.count; i += grid_size())
        if (!(y[pc.y_off + i] > 0.0))
            dy[pc.dy_off + i] = 0.0;
}
