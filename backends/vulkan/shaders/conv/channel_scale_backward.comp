#version 450
#extension GL_GOOGLE_include_directive : require
// y (SCALED output) and dy: (P, C). One workgroup per channel c:
//   dlogs[c] += factor * sum_p dy[p][c] * y[p][c]
// then, in place, dy[p][c] *= exp(factor * logs[c]).
// The workgroup reads all of its channel's dy before any of them is rescaled
// (the reduction's barriers order the two phases); channels are disjoint.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "reduce.glsl"
layout(set = 0, binding = 0) readonly buffer Y { float y[]; };
layout(set = 0, binding = 1) buffer DY { float dy[]; };
layout(set = 0, binding = 2) readonly buffer LOGS { float logs[]; };
layout(set = 0, binding = 3) buffer DLOGS { float dlogs[]; };
layout(push_constant) uniform Push { uint y_off, dy_off, rows, c, logs_off, dlogs_off; float factor; } pc;

void main()
{
    uint c = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
    float part = 0.0;
    for (uint p = t; p < pc.rows; p += gl_WorkGroupSize.x)
        part += dy[pc.dy_off + p * pc.c + c] * y[pc.y_off + p * pc.c + c];
    float total = workgroup_sum(part);
    if (t == 0u)
        dlogs[pc.dlogs_off + c] += pc.factor * total;
    float scale = exp(pc.factor * logs[pc.logs_off + c]);
    for (uint p = t; p < pc.rows; p += gl_WorkGroupSize.x)
        dy[pc.dy_off + p * pc.c + c] *= scale;
}
