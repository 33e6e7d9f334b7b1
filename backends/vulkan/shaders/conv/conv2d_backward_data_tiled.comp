// conv2d backward_data, tiled variant (GPUs):
//   dx[p][ci] += sum_{ky,kx,co} w[co][ky][kx][ci] * dy[p - (ky-pad, kx-pad)][co]
// Implicit GEMM with the flipped kernel: M = P, Ncols = Ci, K = k*k*Co, k = tap*Co + co,
//   A[p][k] = dy[p - shift(tap)][co] (0 outside),  B[k][ci] = w[co][tap][ci].
// (= with CONV_OVERWRITE; times [mask[p][ci] > 0] with CONV_RELU_MASK: conv2d_backward_data_relu)
// Workgroup (bx, by) owns rows [bx*BM, +BM) x columns [by*BN, +BN) of dx: the += is race-free.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "gemm_conv_push.glsl"

layout(local_size_x_id = 0) in;
layout(set = 0, binding = 0) readonly buffer DyBuffer { float dy_data[]; };
layout(set = 0, binding = 1) readonly buffer WBuffer { float w_data[]; };
layout(set = 0, binding = 2) buffer DxBuffer { float dx_data[]; };
// The ReLU output y of dx's layer (flags & CONV_RELU_MASK): dx = 0 where y <= 0 (offset bias_off).
layout(set = 0, binding = 3) readonly buffer MaskBuffer { float mask_data[]; };

float gemm_load_a(uint m, uint k)
{
    if (m >= pc.n * pc.h * pc.w)
        return 0.0;
    uint tap = k / pc.co, co = k % pc.co;
    uint pad = (pc.k - 1u) / 2u;
    uint hw = pc.h * pc.w;
    uint img = m / hw;
    int sy = int((m % hw) / pc.w + pad) - int(tap / pc.k);
    int sx = int(m % pc.w + pad) - int(tap % pc.k);
    if (sy < 0 || sy >= int(pc.h) || sx < 0 || sx >= int(pc.w))
        return 0.0;
    return dy_data[pc.y_off + ((img * pc.h + uint(sy)) * pc.w + uint(sx)) * pc.co + co];
}

float gemm_load_b(uint k, uint n)
{
    if (n >= pc.ci)
        return 0.0;
    uint tap = k / pc.co, co = k % pc.co;
    return w_data[pc.w_off + (co * pc.k * pc.k + tap) * pc.ci + n];
}

#define GEMM_A_K_FAST 1
#define GEMM_B_K_FAST 0
#include "gemm_tiled.glsl"

void main()
{
    uint m0 = gl_WorkGroupID.x * BM, n0 = gl_WorkGroupID.y * BN;
    float acc[16];
    gemm_tiled_block(m0, n0, 0u, pc.k * pc.k * pc.co, acc);
    uint pixels = pc.n * pc.h * pc.w;
    for (uint i = 0u; i < 4u; i++) {
        uint p = gemm_tiled_row(m0, i);
        for (uint j = 0u; j < 4u; j++) {
            uint ci = gemm_tiled_col(n0, j);
            if (p < pixels && ci < pc.ci) {
                float v = acc[i * 4u + j];
                if ((pc.flags & CONV_RELU_MASK) != 0u && !(mask_data[pc.bias_off + p * pc.ci + ci] > 0.0))
                    v = 0.0;
                uint e = pc.x_off + p * pc.ci + ci;
                dx_data[e] = (pc.flags & CONV_OVERWRITE) != 0u ? v : dx_data[e] + v;
            }
        }
    }
}
