// conv2d backward_weight, tiled variant (GPUs):
//   dw[co][ky][kx][ci] += sum_p dy[p][co] * x[p + (ky-pad, kx-pad)][ci],   dbias[co] += sum_p dy[p][co]
// GEMM M = Co, Ncols = k*k*Ci (+1 column of ones for dbias when present), K = P pixels:
//   A[co][p] = dy[p][co],  B[p][col] = x[p + shift(col / Ci)][col % Ci] (0 outside), B[p][k*k*Ci] = 1.
// Split K: workgroup z = s sums image rows [s*rows_per_split, +rows_per_split), i.e. pixels
// [s*rows_per_split*W, ...). With CONV_DIRECT (one split) it adds into dw/dbias, else it writes
// partials[s * part_stride + co * n_cols + col] for conv2d_backward_weight_reduce.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "gemm_conv_push.glsl"

layout(local_size_x_id = 0) in;
layout(set = 0, binding = 0) readonly buffer XBuffer { float x_data[]; };
layout(set = 0, binding = 1) readonly buffer DyBuffer { float dy_data[]; };
layout(set = 0, binding = 2) buffer DwBuffer { float dw_data[]; };
layout(set = 0, binding = 3) buffer DbiasBuffer { float dbias_data[]; };
layout(set = 0, binding = 4) writeonly buffer PartialBuffer { float partials[]; };

float gemm_load_a(uint m, uint k)
{
    return m < pc.co ? dy_data[pc.y_off + k * pc.co + m] : 0.0;
}

float gemm_load_b(uint k, uint n)
{
    uint kk_ci = pc.k * pc.k * pc.ci;
    if (n >= kk_ci)
        return (n == kk_ci && (pc.flags & CONV_HAS_BIAS) != 0u) ? 1.0 : 0.0;
    uint tap = n / pc.ci, ci = n % pc.ci;
    uint pad = (pc.k - 1u) / 2u;
    uint hw = pc.h * pc.w;
    uint img = k / hw;
    int sy = int((k % hw) / pc.w + tap / pc.k) - int(pad);
    int sx = int(k % pc.w + tap % pc.k) - int(pad);
    if (sy < 0 || sy >= int(pc.h) || sx < 0 || sx >= int(pc.w))
        return 0.0;
    return x_data[pc.x_off + ((img * pc.h + uint(sy)) * pc.w + uint(sx)) * pc.ci + ci];
}

#define GEMM_A_K_FAST 0
#define GEMM_B_K_FAST 0
#include "gemm_tiled.glsl"

void main()
{
    uint kk_ci = pc.k * pc.k * pc.ci;
    uint n_cols = kk_ci + ((pc.flags & CONV_HAS_BIAS) != 0u ? 1u : 0u);
    uint m0 = gl_WorkGroupID.x * BM, n0 = gl_WorkGroupID.y * BN;
    uint s = gl_WorkGroupID.z;
    uint p_begin = s * pc.rows_per_split * pc.w;
    uint p_end = min(pc.n * pc.h * pc.w, p_begin + pc.rows_per_split * pc.w);
    float acc[16];
    gemm_tiled_block(m0, n0, p_begin, p_end, acc);
    bool direct = (pc.flags & CONV_DIRECT) != 0u;
    for (uint i = 0u; i < 4u; i++) {
        uint co = gemm_tiled_row(m0, i);
        for (uint j = 0u; j < 4u; j++) {
            uint col = gemm_tiled_col(n0, j);
            if (co >= pc.co || col >= n_cols)
                continue;
            float v = acc[i * 4u + j];
            if (!direct)
                partials[s * pc.part_stride + co * n_cols + col] = v;
            else if (col < kk_ci)
                dw_data[pc.w_off + co * kk_ci + col] += v;
            else
                dbias_data[pc.bias_off + co] += v;
        }
    }
}
