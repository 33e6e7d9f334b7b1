#version 450
#extension GL_GOOGLE_include_directive : require
// Backward of actnorm_invconv_forward. x, dy, dx: (P, C); dxa: (P, Ca) or absent (flags & 1);
// weight W (C, C) [i][c]; bias, logs, dbias, dlogs, dlog_s: (C); dweight: (C, C).
//   g[p][i] = dy[p][i] + dxa[p][i] (i < Ca),  a[p][c] = (x[p][c] + bias[c]) e_c,  e_c = exp(logs[c])
//   dx[p][c] = e_c sum_i W[i][c] g[p][i]                            (=)
//   dbias[c] += sum_p dx[p][c];  dlogs[c] += sum_p dx[p][c] (x[p][c] + bias[c]) + ld_grad
//   dlog_s[c] += ld_grad;  dweight[i][c] = sum_p g[p][i] a[p][c]   (=)
// One workgroup per channel c (column c of W and of dweight): every reduction over the P
// pixels is a workgroup tree sum (deterministic, no atomics). dweight's column is summed
// ROWS rows at a time, one pass over the pixels per block of rows.
layout(local_size_x_id = 0) in;
#include "reduce.glsl"
#define ROWS 8u
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 2) readonly buffer DXA { float dxa[]; };
layout(set = 0, binding = 3) readonly buffer B { float bias[]; };
layout(set = 0, binding = 4) readonly buffer LS { float logs[]; };
layout(set = 0, binding = 5) readonly buffer WT { float weight[]; };
layout(set = 0, binding = 6) writeonly buffer DX { float dx[]; };
layout(set = 0, binding = 7) writeonly buffer DW { float dweight[]; };
layout(set = 0, binding = 8) buffer DB { float dbias[]; };
layout(set = 0, binding = 9) buffer DL { float dlogs[]; };
layout(set = 0, binding = 10) buffer DLS { float dlog_s[]; };
layout(push_constant) uniform Push {
    uint x_off, dy_off, dxa_off, bias_off, logs_off, w_off, dx_off, dw_off;
    uint db_off, dl_off, dls_off, rows, c, ca, flags;
    float ld_grad;
} pc;

float g_at(uint p, uint i)
{
    float v = dy[pc.dy_off + p * pc.c + i];
    if ((pc.flags & 1u) != 0u && i < pc.ca)
        v += dxa[pc.dxa_off + p * pc.ca + i];
    return v;
}

void main()
{
    uint c = gl_WorkGroupID.x, t = gl_LocalInvocationID.x, C = pc.c;
    float e = exp(logs[pc.logs_off + c]), bc = bias[pc.bias_off + c];
    float sb = 0.0, sl = 0.0;
    for (uint p = t; p < pc.rows; p += gl_WorkGroupSize.x) {
        float da = 0.0;
        for (uint i = 0u; i < C; i++)
            da += weight[pc.w_off + i * C + c] * g_at(p, i);
        float gx = da * e;
        dx[pc.dx_off + p * C + c] = gx;
        sb += gx;
        sl += gx * (x[pc.x_off + p * C + c] + bc);
    }
    vec2 tot = workgroup_sum2(vec2(sb, sl));
    if (t == 0u) {
        dbias[pc.db_off + c] += tot.x;
        dlogs[pc.dl_off + c] += tot.y + pc.ld_grad;
        dlog_s[pc.dls_off + c] += pc.ld_grad;
    }
    for (uint i0 = 0u; i0 < C; i0 += ROWS) {
        float acc[ROWS];
        for (uint r = 0u; r < ROWS; r++)
            acc[r] = 0.0;
        for (uint p = t; p < pc.rows; p += gl_WorkGroupSize.x) {
            float a = (x[pc.x_off + p * C + c] + bc) * e;
            for (uint r = 0u; r < ROWS; r++)
                if (i0 + r < C)
                    acc[r] += g_at(p, i0 + r) * a;
        }
        for (uint r = 0u; r < ROWS; r += 2u) {
            vec2 s = workgroup_sum2(vec2(acc[r], acc[r + 1u]));
            if (t == 0u && i0 + r < C)
                dweight[pc.dw_off + (i0 + r) * C + c] = s.x;
            if (t == 0u && i0 + r + 1u < C)
                dweight[pc.dw_off + (i0 + r + 1u) * C + c] = s.y;
        }
    }
}
