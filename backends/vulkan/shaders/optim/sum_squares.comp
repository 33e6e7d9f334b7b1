#version 450
#extension GL_GOOGLE_include_directive : require
// out[0] = sum_i g[i]^2 over the whole gradient arena (overwrites).
// One workgroup: each invocation walks a stride of the arena with a compensated
// (Kahan) running sum, then a tree reduction combines the partial sums.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "reduce.glsl"
layout(set = 0, binding = 0) readonly buffer G { float g[]; };
layout(set = 0, binding = 1) buffer OUT { float outv[]; };
layout(push_constant) uniform Push { uint g_off, count, out_off; } pc;

void main()
{
    uint t = gl_LocalInvocationID.x;
    precise float sum = 0.0;
    precise float comp = 0.0; // running compensation: the low-order bits lost so far
    for (uint i = t; i < pc.count; i += gl_WorkGroupSize.x) {
        float v = g[pc.g_off + i];
        precise float term = v * v - comp;
        precise float next = sum + term;
        comp = (next - sum) - term;
        sum = next;
    }
    float total = workgroup_sum(sum);
    if (t == 0u)
        outv[pc.out_off] = total;
}
