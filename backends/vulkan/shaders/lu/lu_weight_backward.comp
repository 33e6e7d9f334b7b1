#version 450
#extension GL_GOOGLE_include_directive : require
// Backward of weight = perm * L * U (see lu_weight.comp), with G = perm^T dW:
//   dA = G U^T  -> dlower[k][m] += dA[k][m] for m < k
//   dB = L^T G  -> dupper[m][j] += dB[m][j] for j > m,  dlog_s[j] += dB[j][j] * d[j]
// Workgroups 0..C-1: row k of G in shared memory, g[j] = sum_i perm[i][k] dW[i][j],
//   then dA[k][m] = sum_{j >= m} g[j] U[m][j] for m < k.
// Workgroups C..2C-1: column j of G in shared memory, g[k] = sum_i perm[i][k] dW[i][j],
//   then dB[m][j] = sum_{k >= m} L[k][m] g[k] for m <= j.
// Each output element is written by exactly one invocation.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
#define MAX_C 2048 // 8 KiB of shared memory (Vulkan guarantees 16 KiB): up to the 1536 channels
                   // of the top level of 256x256x3 images at L = 8
layout(set = 0, binding = 0) readonly buffer DW { float dweight[]; };
layout(set = 0, binding = 1) readonly buffer LO { float lower[]; };
layout(set = 0, binding = 2) readonly buffer UP { float upper[]; };
layout(set = 0, binding = 3) readonly buffer LS { float log_s[]; };
layout(set = 0, binding = 4) readonly buffer SG { float sign_[]; };
layout(set = 0, binding = 5) readonly buffer PM { float perm[]; };
layout(set = 0, binding = 6) buffer DLO { float dlower[]; };
layout(set = 0, binding = 7) buffer DUP { float dupper[]; };
layout(set = 0, binding = 8) buffer DLS { float dlog_s[]; };
layout(push_constant) uniform Push {
    uint dweight_off, lower_off, upper_off, log_s_off, sign_off, perm_off;
    uint dlower_off, dupper_off, dlog_s_off, c;
} pc;

shared float g[MAX_C];

float diag_u(uint k)
{
    return sign_[pc.sign_off + k] * exp(log_s[pc.log_s_off + k]);
}

void main()
{
    uint t = gl_LocalInvocationID.x, C = pc.c, WG = gl_WorkGroupSize.x;
    if (gl_WorkGroupID.x < C) {
        uint k = gl_WorkGroupID.x;
        for (uint j = t; j < C; j += WG) {
            float acc = 0.0;
            for (uint i = 0u; i < C; i++)
                acc += perm[pc.perm_off + i * C + k] * dweight[pc.dweight_off + i * C + j];
            g[j] = acc;
        }
        barrier();
        for (uint m = t; m < k; m += WG) {
            float acc = g[m] * diag_u(m);
            for (uint j = m + 1u; j < C; j++)
                acc += g[j] * upper[pc.upper_off + m * C + j];
            dlower[pc.dlower_off + k * C + m] += acc;
        }
    } else {
        uint j = gl_WorkGroupID.x - C;
        for (uint k = t; k < C; k += WG) {
            float acc = 0.0;
            for (uint i = 0u; i < C; i++)
                acc += perm[pc.perm_off + i * C + k] * dweight[pc.dweight_off + i * C + j];
            g[k] = acc;
        }
        barrier();
        for (uint m = t; m <= j; m += WG) {
            float acc = g[m];
            for (uint k = m + 1u; k < C; k++)
                acc += lower[pc.lower_off + k * C + m] * g[k];
            if (m < j)
                dupper[pc.dupper_off + m * C + j] += acc;
            else
                dlog_s[pc.dlog_s_off + j] += acc * diag_u(j);
        }
    }
}
