#version 450
#extension GL_GOOGLE_include_directive : require
// Data-dependent init, one workgroup per channel c over the P pixels of x: (P, C):
//   mean = sum_p x / P,  var = sum_p (x - mean)^2 / P   (two passes, population)
//   bias[c] = -mean,  logs[c] = -log(sqrt(var) + 1e-6)
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "reduce.glsl"
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) buffer B { float bias[]; };
layout(set = 0, binding = 2) buffer L { float logs[]; };
layout(push_constant) uniform Push { uint x_off, rows, c, bias_off, logs_off; } pc;

void main()
{
    uint c = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
    float part = 0.0;
    for (uint p = t; p < pc.rows; p += gl_WorkGroupSize.x)
        part += x[pc.x_off + p * pc.c + c];
    float mean = workgroup_sum(part) / float(pc.rows);
    part = 0.0;
    for (uint p = t; p < pc.rows; p += gl_WorkGroupSize.x) {
        float d = x[pc.x_off + p * pc.c + c] - mean;
        part += d * d;
    }
    float var = workgroup_sum(part) / float(pc.rows);
    if (t == 0u) {
        bias[pc.bias_off + c] = -mean;
        logs[pc.logs_off + c] = -log(sqrt(var) + 1e-6);
    }
}
