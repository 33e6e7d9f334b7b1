#version 450
#extension GL_GOOGLE_include_directive : require
// Backward of the coupling output stage, h the SCALED zero-conv output. x, dy, dx: (P, C),
// Ca = C/2, Cb = C - Ca; h, dhu: (P, 2Cb); logs, dlogs: (2Cb). With s = sigmoid(h[p][Cb+j] + 2):
//   dshift = dy_b s,  draw = (dy_b (x_b + shift) s + g) (1 - s)
//   dx_a = dy_a,  dx_b = dshift                                         (=)
//   dlogs[j] += factor sum_p dshift h[p][j];  dlogs[Cb+j] += factor sum_p draw h[p][Cb+j]
//   dhu[p][j] = dshift exp(factor logs[j]),  dhu[p][Cb+j] = draw exp(factor logs[Cb+j])  (=)
// Workgroups 0..Cb-1: transformed channel j (its shift/raw pair and both dlogs sums, tree
// reductions over the P pixels); workgroups Cb..Cb+Ca-1: pass-through channel (copy of dy).
layout(local_size_x_id = 0) in;
#include "reduce.glsl"
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer H { float h[]; };
layout(set = 0, binding = 2) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 3) readonly buffer LS { float logs[]; };
layout(set = 0, binding = 4) writeonly buffer DX { float dx[]; };
layout(set = 0, binding = 5) writeonly buffer DHU { float dhu[]; };
layout(set = 0, binding = 6) buffer DL { float dlogs[]; };
layout(push_constant) uniform Push {
    uint x_off, h_off, dy_off, logs_off, dx_off, dhu_off, dl_off, rows, c;
    float g, factor;
} pc;

void main()
{
    uint job = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
    uint C = pc.c, ca = C / 2u, cb = C - ca;
    if (job >= cb) {
        uint j = job - cb; // pass-through channel; no reduction, so an early exit is uniform
        for (uint p = t; p < pc.rows; p += gl_WorkGroupSize.x)
            dx[pc.dx_off + p * C + j] = dy[pc.dy_off + p * C + j];
        return;
    }
    uint j = job;
    float sc_shift = exp(pc.factor * logs[pc.logs_off + j]);
    float sc_raw = exp(pc.factor * logs[pc.logs_off + cb + j]);
    float acc_shift = 0.0, acc_raw = 0.0;
    for (uint p = t; p < pc.rows; p += gl_WorkGroupSize.x) {
        uint hb = pc.h_off + p * 2u * cb;
        float shift = h[hb + j], raw = h[hb + cb + j];
        float s = sigmoid(raw + 2.0);
        float gyb = dy[pc.dy_off + p * C + ca + j];
        float dshift = gyb * s;
        float draw = (gyb * (x[pc.x_off + p * C + ca + j] + shift) * s + pc.g) * (1.0 - s);
        dx[pc.dx_off + p * C + ca + j] = dshift;
        acc_shift += dshift * shift;
        acc_raw += draw * raw;
        dhu[pc.dhu_off + p * 2u * cb + j] = dshift * sc_shift;
        dhu[pc.dhu_off + p * 2u * cb + cb + j] = draw * sc_raw;
    }
    vec2 tot = workgroup_sum2(vec2(acc_shift, acc_raw));
    if (t == 0u) {
        dlogs[pc.dl_off + j] += pc.factor * tot.x;
        dlogs[pc.dl_off + cb + j] += pc.factor * tot.y;
    }
}
