#version 450
#extension GL_GOOGLE_include_directive : require
// One workgroup per channel c, over the P pixels of x, dy, dx: (P, C),
// with s = exp(logs[c]) and y = (x + bias[c]) * s recomputed:
//   dx[p][c] += dy[p][c] * s
//   dbias[c] += sum_p dy * s,   dlogs[c] += sum_p dy * y
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "reduce.glsl"
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 2) readonly buffer B { float bias[]; };
layout(set = 0, binding = 3) readonly buffer L { float logs[]; };
layout(set = 0, binding = 4) buffer DX { float dx[]; };
layout(set = 0, binding = 5) buffer DB { float dbias[]; };
layout(set = 0, binding = 6) buffer DL { float dlogs[]; };
layout(push_constant) uniform Push {
    uint x_off, dy_off, dx_off, rows, c;
    uint bias_off, logs_off, dbias_off, dlogs_off;
} pc;

void main()
{
    uint c = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
    float b = bias[pc.bias_off + c];
    float s = exp(logs[pc.logs_off + c]);
    vec2 part = vec2(0.0); // (sum dy*s, sum dy*y)
    for (uint p = t; p < pc.rows; p += gl_WorkGroupSize.x) {
        uint e = p * pc.c + c;
        float g = dy[pc.dy_off + e];
        float y = (x[pc.x_off + e] + b) * s;
        dx[pc.dx_off + e] += g * s;
        part += vec2(g * s, g * y);
    }
    vec2 total = workgroup_sum2(part);
    if (t == 0u) {
        dbias[pc.dbias_off + c] += total.x;
        dlogs[pc.dlogs_off + c] += total.y;
    }
}
