#version 450
#extension GL_GOOGLE_include_directive : require
// actnorm_invconv_backward for CPU drivers (lavapipe; the host picks it when
// vk->gemm_variant == VK_GEMM_TEXEL): the same sums as actnorm_invconv_backward.comp,
//   g[p][i] = dy[p][i] + dxa[p][i] (i < Ca),  a[p][c] = (x[p][c] + bias[c]) e_c,  e_c = exp(logs[c])
//   dx[p][c] = e_c sum_i W[i][c] g[p][i]                            (=)
//   dbias[c] += sum_p dx[p][c];  dlogs[c] += sum_p dx[p][c] (x[p][c] + bias[c]) + ld_grad
//   dlog_s[c] += ld_grad;  dweight[i][c] = sum_p g[p][i] a[p][c]   (=)
// one workgroup per channel c, but:
// - x, dy, dxa and W are read through R32F storage texel buffers over their whole buffers
//   (x_off, dy_off, dxa_off, w_off: element offsets into them) with imageLoad, which
//   lavapipe inlines, while a storage-buffer load is a loop over the SIMD lanes;
// - the first ROWS rows of dweight's column are summed in the same pass over the pixels
//   as dx (one pass in all when C <= ROWS, instead of two), from the same g loads;
// - the multiply-adds are explicit fma (lavapipe does not contract a * b + c);
// - the sums of a pass (dbias, dlogs and ROWS dweight entries) share one workgroup tree
//   reduction (log2(workgroup) barriers per pass, not one tree per pair of values: on
//   lavapipe a barrier switches every SIMD group of the workgroup).
layout(local_size_x_id = 0) in;
#include "common.glsl"
#define ROWS 8u
#define NSUM (ROWS + 2u)
shared float red[NSUM][REDUCE_MAX];

// v[k] = sum over the workgroup of v[k], k < NSUM, for every invocation (uniform control
// flow; a fixed tree, so deterministic).
void workgroup_sums(inout float v[NSUM])
{
    uint t = gl_LocalInvocationID.x;
    for (uint k = 0u; k < NSUM; k++)
        red[k][t] = v[k];
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1) {
        if (t < s)
            for (uint k = 0u; k < NSUM; k++)
                red[k][t] += red[k][t + s];
        barrier();
    }
    for (uint k = 0u; k < NSUM; k++)
        v[k] = red[k][0];
    barrier(); // red is reused by the next pass
}
layout(set = 0, binding = 0, r32f) uniform readonly imageBuffer x_img;
layout(set = 0, binding = 1, r32f) uniform readonly imageBuffer dy_img;
layout(set = 0, binding = 2, r32f) uniform readonly imageBuffer dxa_img;
layout(set = 0, binding = 3) readonly buffer B { float bias[]; };
layout(set = 0, binding = 4) readonly buffer LS { float logs[]; };
layout(set = 0, binding = 5, r32f) uniform readonly imageBuffer w_img;
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
    float v = imageLoad(dy_img, int(pc.dy_off + p * pc.c + i)).x;
    if ((pc.flags & 1u) != 0u && i < pc.ca)
        v += imageLoad(dxa_img, int(pc.dxa_off + p * pc.ca + i)).x;
    return v;
}

void main()
{
    uint c = gl_WorkGroupID.x, t = gl_LocalInvocationID.x, C = pc.c;
    float e = exp(logs[pc.logs_off + c]), bc = bias[pc.bias_off + c];
    float wr[ROWS]; // W[r][c], r < ROWS
    for (uint r = 0u; r < ROWS; r++)
        wr[r] = r < C ? imageLoad(w_img, int(pc.w_off + r * C + c)).x : 0.0;
    float acc[ROWS]; // dweight[r][c] partial sums, r < ROWS
    for (uint r = 0u; r < ROWS; r++)
        acc[r] = 0.0;
    float sb = 0.0, sl = 0.0;
    for (uint p = t; p < pc.rows; p += gl_WorkGroupSize.x) {
        float xb = imageLoad(x_img, int(pc.x_off + p * C + c)).x + bc;
        float a = xb * e;
        float da = 0.0;
        for (uint r = 0u; r < ROWS; r++) {
            if (r < C) {
                float g = g_at(p, r);
                da = fma(wr[r], g, da);
                acc[r] = fma(g, a, acc[r]);
            }
        }
        for (uint i = ROWS; i < C; i++)
            da = fma(imageLoad(w_img, int(pc.w_off + i * C + c)).x, g_at(p, i), da);
        float gx = da * e;
        dx[pc.dx_off + p * C + c] = gx;
        sb += gx;
        sl = fma(gx, xb, sl);
    }
    for (uint i0 = 0u; i0 < C; i0 += ROWS) {
        if (i0 > 0u) { // rows i0 .. i0 + ROWS - 1: another pass over the pixels
            for (uint r = 0u; r < ROWS; r++)
                acc[r] = 0.0;
            for (uint p = t; p < pc.rows; p += gl_WorkGroupSize.x) {
                float a = (imageLoad(x_img, int(pc.x_off + p * C + c)).x + bc) * e;
                for (uint r = 0u; r < ROWS; r++)
                    if (i0 + r < C)
                        acc[r] = fma(g_at(p, i0 + r), a, acc[r]);
            }
        }
        float v[NSUM];
        v[0] = i0 == 0u ? sb : 0.0;
        v[1] = i0 == 0u ? sl : 0.0;
        for (uint r = 0u; r < ROWS; r++)
            v[2u + r] = acc[r];
        workgroup_sums(v);
        if (t == 0u) {
            if (i0 == 0u) {
                dbias[pc.db_off + c] += v[0];
                dlogs[pc.dl_off + c] += v[1] + pc.ld_grad;
                dlog_s[pc.dls_off + c] += pc.ld_grad;
            }
            for (uint r = 0u; r < ROWS; r++)
                if (i0 + r < C)
                    dweight[pc.dw_off + (i0 + r) * C + c] = v[2u + r];
        }
    }
}
