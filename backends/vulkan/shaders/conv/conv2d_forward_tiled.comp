// conv2d forward, tiled variant (GPUs):
//   y[p][co] = act(bias[co] + sum_{ky,kx,ci} w[co][ky][kx][ci] * x[p + (ky-pad, kx-pad)][ci])
// Implicit GEMM (im2col never materialised): M = P = N*H*W, Ncols = Co, K = k*k*Ci,
//   A[p][k] = x[p shifted by tap k / Ci][k % Ci] (0 in the padding),  B[k][co] = w[co*K + k].
// Workgroup (bx, by) computes rows [bx*BM, +BM) and columns [by*BN, +BN) of y.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "gemm_conv_push.glsl"

layout(local_size_x_id = 0) in;
layout(set = 0, binding = 0) readonly buffer XBuffer { float x_data[]; };
layout(set = 0, binding = 1) readonly buffer WBuffer { float w_data[]; };
layout(set = 0, binding = 2) readonly buffer BiasBuffer { float bias_data[]; };
layout(set = 0, binding = 3) writeonly buffer YBuffer { float y_data[]; };

float gemm_load_a(uint m, uint k)
{
    if (m >= pc.n * pc.h * pc.w)
        return 0.0;
    uint tap = k / pc.ci, ci = k % pc.ci;
    uint pad = (pc.k - 1u) / 2u;
    uint hw = pc.h * pc.w;
    uint img = m / hw;
    int sy = int((m % hw) / pc.w + tap / pc.k) - int(pad);
    int sx = int(m % pc.w + tap % pc.k) - int(pad);
    if (sy < 0 || sy >= int(pc.h) || sx < 0 || sx >= int(pc.w))
        return 0.0;
    return x_data[pc.x_off + ((img * pc.h + uint(sy)) * pc.w + uint(sx)) * pc.ci + ci];
}

float gemm_load_b(uint k, uint n)
{
    return n < pc.co ? w_data[pc.w_off + n * (pc.k * pc.k * pc.ci) + k] : 0.0;
}

#define GEMM_A_K_FAST 1
#define GEMM_B_K_FAST 1
#include "gemm_tiled.glsl"

void main()
{
    uint m0 = gl_WorkGroupID.x * BM, n0 = gl_WorkGroupID.y * BN;
    float acc[16];
    gemm_tiled_block(m0, n0, 0u, pc.k * pc.k * pc.ci, acc);
    uint pixels = pc.n * pc.h * pc.w;
    for (uint i = 0u; i < 4u; i++) {
        uint p = gemm_tiled_row(m0, i);
        for (uint j = 0u; j < 4u; j++) {
            uint co = gemm_tiled_col(n0, j);
            if (p >= pixels || co >= pc.co)
                continue;
            float v = acc[i * 4u + j];
            if ((pc.flags & CONV_HAS_BIAS) != 0u)
                v += bias_data[pc.bias_off + co];
            if ((pc.flags & CONV_RELU) != 0u)
                v = max(v, 0.0);
            y_data[pc.y_off + p * pc.co + co] = v;
        }
    }
}
