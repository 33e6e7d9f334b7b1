// conv2d backward_weight, texel variant (CPU drivers):
//   dw[co][ky][kx][ci] += sum_p dy[p][co] * x[p + (ky-pad, kx-pad)][ci],   dbias[co] += sum_p dy[p][co]
// A GEMM  M = Co, Ncols = k*k*Ci (+1: a column of ones gives dbias), K = P pixels, computed
// as a sum of outer products: per pixel two texels of dy (8 co) and one of x (4 ci) update
// an 8x4 register block. Co blocks of 8; column blocks: k*k taps x ceil(Ci/4), then one
// bias block.
//
// Workgroup tile: the 64 invocations of a workgroup own G = group_co_blocks co blocks x
// 64/G column blocks (lane l: co block l % G, column block l / G), so per pixel a
// workgroup reads 8*G dy floats and 4*64/G x floats instead of a whole dy row: the
// traffic that bounds this kernel on CPU drivers. Workgroup g (flat over x, y): co tile
// g % ceil(co_blocks / G), column tile g / ceil(co_blocks / G).
//
// The pixel sum is split over gl_WorkGroupID.z = s, image rows (n, i) in
// [s * rows_per_split, (s+1) * rows_per_split); the host sizes splits so that the dy and
// x rows of one split stay in the CPU cache while all workgroups of that split run.
// With CONV_DIRECT (one split) the block is added to dw/dbias; otherwise it is written
// to partials[s * part_stride + co * n_cols + col] (n_cols = k*k*Ci + has_bias) and
// conv2d_backward_weight_reduce adds the splits up.
#version 450
#extension GL_GOOGLE_include_directive : require
#define A_VIEW x_view  // binding 0: x
#define B_VIEW dy_view // binding 1: dy
#include "gemm_texel.glsl"
#include "gemm_conv_push.glsl"

layout(set = 0, binding = 2) buffer DwBuffer { float dw_data[]; };
layout(set = 0, binding = 3) buffer DbiasBuffer { float dbias_data[]; };
layout(set = 0, binding = 4) writeonly buffer PartialBuffer { float partials[]; };
// CI8 (specialization constant 1; the host sets it when Ci % 8 == 0 and x has an RGBA32F
// view): column blocks of 8 input channels, so each invocation owns 8 co x 8 ci (two 8x4
// halves sharing the two dy fetches: 4 fetches per 64 multiply-adds instead of 3 per 32).
layout(constant_id = 1) const bool CI8 = false;

void main()
{
    bool has_bias = (pc.flags & CONV_HAS_BIAS) != 0u;
    uint ci_block = CI8 ? 8u : 4u;
    uint ci_blocks = (pc.ci + ci_block - 1u) / ci_block;
    uint taps = pc.k * pc.k;
    uint n_col_blocks = taps * ci_blocks + (has_bias ? 1u : 0u);
    uint co_blocks = (pc.co + 7u) / 8u;
    uint g_co = pc.group_co_blocks;
    uint co_tiles = (co_blocks + g_co - 1u) / g_co;
    uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    uint lane = gl_LocalInvocationID.x;
    uint co_block = (group % co_tiles) * g_co + lane % g_co;
    uint col_block = (group / co_tiles) * (gl_WorkGroupSize.x / g_co) + lane / g_co;
    if (co_block >= co_blocks || col_block >= n_col_blocks)
        return;
    uint co0 = co_block * 8u;
    uint co_count = min(8u, pc.co - co0);
    uint co_count_lo = min(4u, co_count);  // channels co0 .. co0+3
    uint co_count_hi = co_count - co_count_lo; // channels co0+4 .. co0+7 (0: none)
    bool bias_block = col_block == taps * ci_blocks;
    uint tap = bias_block ? 0u : col_block / ci_blocks;
    uint ky = tap / pc.k, kx = tap % pc.k;
    uint ci0 = bias_block ? 0u : (col_block % ci_blocks) * ci_block;
    uint ci_count = bias_block ? 1u : min(4u, pc.ci - ci0);
    uint pad = (pc.k - 1u) / 2u;

    uint rows = pc.n * pc.h;
    uint row_begin = gl_WorkGroupID.z * pc.rows_per_split;
    uint row_end = min(rows, row_begin + pc.rows_per_split);
    uint dy_pixel_stride = pc.co;
    uint dy_row_stride = pc.w * pc.co;

    // acc<c>[ci - ci0] = dw block element (co0 + c, ci); the bias block uses acc0 and acc4
    // for dbias[co0 .. co0+3] and dbias[co0+4 .. co0+7].
    vec4 acc0 = vec4(0.0), acc1 = vec4(0.0), acc2 = vec4(0.0), acc3 = vec4(0.0);
    vec4 acc4 = vec4(0.0), acc5 = vec4(0.0), acc6 = vec4(0.0), acc7 = vec4(0.0);
    // CI8: acc<8 + c>[q] = dw block element (co0 + c, ci0 + 4 + q), c = 0..7.
    vec4 acc8 = vec4(0.0), acc9 = vec4(0.0), acc10 = vec4(0.0), acc11 = vec4(0.0);
    vec4 acc12 = vec4(0.0), acc13 = vec4(0.0), acc14 = vec4(0.0), acc15 = vec4(0.0);
    if (bias_block) {
        // dbias: the column of ones.
        for (uint row = row_begin; row < row_end; row++) {
            uint dy_e = pc.y_off + row * dy_row_stride + co0;
            for (uint j = 0u; j < pc.w; j++, dy_e += dy_pixel_stride) {
                acc0 += b_fetch4(dy_e, co_count_lo);
                if (co_count_hi > 0u)
                    acc4 += b_fetch4(dy_e + 4u, co_count_hi);
            }
        }
    } else {
        // Output columns j whose source column j + kx - pad is inside the image.
        uint j_lo = uint(max(int(pad) - int(kx), 0));
        uint j_hi = uint(min(int(pc.w + pad) - int(kx), int(pc.w)));
        for (uint row = row_begin; row < row_end; row++) {
            uint i = row % pc.h;
            int sy = int(i + ky) - int(pad);
            if (sy < 0 || sy >= int(pc.h))
                continue;
            uint dy_e = pc.y_off + row * dy_row_stride + j_lo * pc.co + co0;
            uint x_e = pc.x_off + ((row - i + uint(sy)) * pc.w + j_lo + kx - pad) * pc.ci + ci0;
            for (uint j = j_lo; j < j_hi; j++, dy_e += dy_pixel_stride, x_e += pc.ci) {
                vec4 a = a_fetch4(x_e, ci_count);
                vec4 ah = CI8 ? a_fetch4(x_e + 4u, 4u) : vec4(0.0); // ci0 + 4 .. ci0 + 7
                vec4 d = b_fetch4(dy_e, co_count_lo);
                acc0 = fma(vec4(d.x), a, acc0);
                acc1 = fma(vec4(d.y), a, acc1);
                acc2 = fma(vec4(d.z), a, acc2);
                acc3 = fma(vec4(d.w), a, acc3);
                if (CI8) {
                    acc8 = fma(vec4(d.x), ah, acc8);
                    acc9 = fma(vec4(d.y), ah, acc9);
                    acc10 = fma(vec4(d.z), ah, acc10);
                    acc11 = fma(vec4(d.w), ah, acc11);
                }
                // Upper 4 co. CI8: inside a branch that every lane skips when Co <= 4. The
                // 8x4 block keeps its branch-free form (the branch cost the Ci = 2 -> Co = 128
                // conv 5-10%: there it is always taken).
                if (CI8) {
                    if (co_count_hi > 0u) {
                        d = b_fetch4(dy_e + 4u, co_count_hi);
                        acc4 = fma(vec4(d.x), a, acc4);
                        acc5 = fma(vec4(d.y), a, acc5);
                        acc6 = fma(vec4(d.z), a, acc6);
                        acc7 = fma(vec4(d.w), a, acc7);
                        acc12 = fma(vec4(d.x), ah, acc12);
                        acc13 = fma(vec4(d.y), ah, acc13);
                        acc14 = fma(vec4(d.z), ah, acc14);
                        acc15 = fma(vec4(d.w), ah, acc15);
                    }
                } else {
                    d = co_count_hi > 0u ? b_fetch4(dy_e + 4u, co_count_hi) : vec4(0.0);
                    acc4 = fma(vec4(d.x), a, acc4);
                    acc5 = fma(vec4(d.y), a, acc5);
                    acc6 = fma(vec4(d.z), a, acc6);
                    acc7 = fma(vec4(d.w), a, acc7);
                }
            }
        }
    }
    vec4 acc[8] = vec4[8](acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7);
    vec4 acc_hi[8] = vec4[8](acc8, acc9, acc10, acc11, acc12, acc13, acc14, acc15);

    uint kk_ci = taps * pc.ci;
    uint n_cols = kk_ci + (has_bias ? 1u : 0u);
    uint col0 = bias_block ? kk_ci : tap * pc.ci + ci0;
    bool direct = (pc.flags & CONV_DIRECT) != 0u;
    if (bias_block) {
        for (uint c = 0u; c < co_count; c++) {
            float v = c < 4u ? acc0[c] : acc4[c - 4u];
            if (direct)
                dbias_data[pc.bias_off + co0 + c] += v;
            else
                partials[gl_WorkGroupID.z * pc.part_stride + (co0 + c) * n_cols + col0] = v;
        }
        return;
    }
    for (uint c = 0u; c < co_count; c++) {
        for (uint q = 0u; q < ci_block; q++) { // CI8: Ci % 8 == 0, all 8 columns exist
            if (q >= ci_count && !CI8)
                break;
            float v = q < 4u ? acc[c][q] : acc_hi[c][q - 4u];
            if (direct)
                dw_data[pc.w_off + (co0 + c) * kk_ci + col0 + q] += v;
            else
                partials[gl_WorkGroupID.z * pc.part_stride + (co0 + c) * n_cols + col0 + q] = v;
        }
    }
}
