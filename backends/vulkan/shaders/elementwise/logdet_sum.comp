#version 450
#extension GL_GOOGLE_include_directive : require
// ld[ld_off + n] += scale * sum_i v[v_off + i],  0 <= i < count, 0 <= n < n_ld.
// One workgroup: strided per-invocation sums, then a tree reduction.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "reduce.glsl"
layout(set = 0, binding = 0) readonly buffer V { float v[]; };
layout(set = 0, binding = 1) buffer LD { float ld[]; };
layout(push_constant) uniform Push { uint v_off, count, ld_off, n_ld; float scale; } pc;

void main()
{
    uint t = gl_LocalInvocationID.x;
    float part = 0.0;
    for (uint i = t; i < pc.count; i += gl_WorkGroupSize.x)
        part += v[pc.v_off + i];
    float total = pc.scale * workgroup_sum(part);
    for (uint n = t; n < pc.n_ld; n += gl_WorkGroupSize.x)
        ld[pc.ld_off + n] += total;
}
