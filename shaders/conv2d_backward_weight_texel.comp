// conv2d backward_weight, texel variant (CPU drivers):
//   dw[co][ky][kx][ci] += sum_p dy[p][co] * x[p + (ky-pad, kx-pad)][ci],   dbias[co] += sum_p dy[p][co]
// A GEMM  M = Co, Ncols = k*k*Ci (+1: a column of ones gives dbias), K = P pixels, computed
// as a sum of outer products: per pixel one texel of dy (4 co) and one of x (4 ci) update
// a 4x4 register block. Column blocks: k*k taps x ceil(Ci/4), then one bias block.
// Invocation t: co block t % ceil(Co/4), column block t / ceil(Co/4) (neighbouring lanes
// share the x texel and the pixel range).
//
// The pixel sum is split over gl_WorkGroupID.z = s, image rows (n, i) in
// [s * rows_per_split, (s+1) * rows_per_split). With CONV_DIRECT (one split) the block
// is added to dw/dbias; otherwise it is written to partials[s * part_stride + co * n_cols + col]
// (n_cols = k*k*Ci + has_bias) and conv2d_backward_weight_reduce adds the splits up.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "gemm_texel.glsl"
#include "gemm_conv_push.glsl"

layout(set = 0, binding = 0) uniform samplerBuffer x_view;
layout(set = 0, binding = 1) uniform samplerBuffer dy_view;
layout(set = 0, binding = 2) buffer DwBuffer { float dw_data[]; };
layout(set = 0, binding = 3) buffer DbiasBuffer { float dbias_data[]; };
layout(set = 0, binding = 4) writeonly buffer PartialBuffer { float partials[]; };

void main()
{
    bool has_bias = (pc.flags & CONV_HAS_BIAS) != 0u;
    uint ci_blocks = (pc.ci + 3u) / 4u;
    uint taps = pc.k * pc.k;
    uint n_col_blocks = taps * ci_blocks + (has_bias ? 1u : 0u);
    uint co_blocks = (pc.co + 3u) / 4u;
    uint t = texel_flat_index();
    if (t >= n_col_blocks * co_blocks)
        return;
    uint col_block = t / co_blocks;
    uint co0 = (t % co_blocks) * 4u;
    uint co_count = min(4u, pc.co - co0);
    bool bias_block = col_block == taps * ci_blocks;
    uint tap = bias_block ? 0u : col_block / ci_blocks;
    uint ky = tap / pc.k, kx = tap % pc.k;
    uint ci0 = bias_block ? 0u : (col_block % ci_blocks) * 4u;
    uint ci_count = bias_block ? 1u : min(4u, pc.ci - ci0);
    uint pad = (pc.k - 1u) / 2u;

    // Output columns j whose source column j + kx - pad is inside the image.
    uint j_lo = bias_block ? 0u : uint(max(int(pad) - int(kx), 0));
    uint j_hi = bias_block ? pc.w : uint(min(int(pc.w + pad) - int(kx), int(pc.w)));
    uint rows = pc.n * pc.h;
    uint row_begin = gl_WorkGroupID.z * pc.rows_per_split;
    uint row_end = min(rows, row_begin + pc.rows_per_split);

    vec4 acc[4] = vec4[4](vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0)); // acc[co - co0][ci - ci0]
    for (uint row = row_begin; row < row_end; row++) {
        uint i = row % pc.h;
        int sy = int(i + ky) - int(pad);
        if (!bias_block && (sy < 0 || sy >= int(pc.h)))
            continue;
        uint dy_row = pc.y_off + row * pc.w * pc.co + co0;
        uint x_row = pc.x_off + ((row - i + uint(sy)) * pc.w) * pc.ci + ci0;
        for (uint j = j_lo; j < j_hi; j++) {
            vec4 d = fetch4(dy_view, dy_row + j * pc.co, co_count);
            vec4 a = bias_block ? vec4(1.0, 0.0, 0.0, 0.0)
                                : fetch4(x_view, x_row + (j + kx - pad) * pc.ci, ci_count);
            acc[0] += d.x * a;
            acc[1] += d.y * a;
            acc[2] += d.z * a;
            acc[3] += d.w * a;
        }
    }

    uint kk_ci = taps * pc.ci;
    uint n_cols = kk_ci + (has_bias ? 1u : 0u);
    uint col0 = bias_block ? kk_ci : tap * pc.ci + ci0;
    bool direct = (pc.flags & CONV_DIRECT) != 0u;
    for (uint c = 0u; c < co_count; c++) {
        for (uint q = 0u; q < ci_count; q++) {
            float v = acc[c][q];
            if (!direct)
                partials[gl_WorkGroupID.z * pc.part_stride + (co0 + c) * n_cols + col0 + q] = v;
            else if (bias_block)
                dbias_data[pc.bias_off + co0 + c] += v;
            else
                dw_data[pc.w_off + (co0 + c) * kk_ci + col0 + q] += v;
        }
    }
}
