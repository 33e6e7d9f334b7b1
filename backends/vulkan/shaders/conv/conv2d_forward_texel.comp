// conv2d forward, texel variant (CPU drivers):
//   y[p][co] = act(bias[co] + sum_{ky,kx,ci} w[co][ky][kx][ci] * x[p + (ky-pad, kx-pad)][ci])
// An implicit GEMM  M = P = N*H*W pixels, Ncols = Co, K = k*k*Ci, with A (im2col of x)
// and B^T = w both contiguous along ci: each invocation owns an 8-pixel x 4-co block
// of y and, per 4 floats of K, fetches 8 texels of x and 4 of w for 128 multiply-adds.
//
// K is walked one kernel row ky at a time: in NHWC the k taps x Ci channels of a kernel
// row are ONE contiguous run of k*Ci floats, both in x (pixels px-pad .. px+pad of image
// row py+ky-pad) and in w[co][ky][.][.]. So a row is read in chunks of 4 floats whatever
// Ci is (Ci = 2: 6-float runs, 2 chunks instead of 3 half-empty taps), and the image
// border only masks part of the run: floats [lo, hi) of it lie inside the image.
// Invocation t: co block t % ceil(Co/4), 8-pixel block t / ceil(Co/4).
#version 450
#extension GL_GOOGLE_include_directive : require
#define A_VIEW x_view // binding 0: x
#define B_VIEW w_view // binding 1: w
#include "gemm_texel.glsl"
#include "gemm_conv_push.glsl"

// bias: an R32F storage texel buffer over its whole buffer (element offset bias_off), an
// inlined load on lavapipe; CONV_HAS_BIAS and CONV_RELU as specialization constants 3 and 4.
layout(set = 0, binding = 2, r32f) uniform readonly imageBuffer bias_view;
layout(constant_id = 3) const bool HAS_BIAS = false;
layout(constant_id = 4) const bool RELU = false;
// CO8 (specialization constant 5; the host sets it when Co % 8 == 0 and y_off % 4 == 0):
// each invocation owns 8 pixels x 8 output channels (two 8x4 halves sharing the 8 x
// fetches: 16 fetches per 256 multiply-adds instead of 12 per 128).
layout(constant_id = 5) const bool CO8 = false;
layout(set = 0, binding = 3) writeonly buffer YBuffer { float y_data[]; };
layout(set = 0, binding = 3) writeonly buffer YBuffer4 { vec4 y_vec4[]; }; // the same y, by 4 floats

void main()
{
    uint co_block = CO8 ? 8u : 4u;
    uint co_blocks = (pc.co + co_block - 1u) / co_block;
    uint hw = pc.h * pc.w;
    uint pixels = pc.n * hw;
    uint t = texel_flat_index();
    if (t >= co_blocks * ((pixels + 7u) / 8u))
        return;
    uint co0 = (t % co_blocks) * co_block;
    uint p0 = (t / co_blocks) * 8u;
    uint pad = (pc.k - 1u) / 2u;
    uint kk_ci = pc.k * pc.k * pc.ci;

    // Image coordinates of the 8 pixels (clamped to the last pixel past the end).
    uint img[8], py[8], px[8];
    texel_block_coords(p0, pixels, pc.h, pc.w, img, py, px);
    // Weight rows of the 4 (CO8: 8) output channels (clamped past Co).
    uint w_row[8];
    for (uint c = 0u; c < 8u; c++)
        w_row[c] = pc.w_off + min(co0 + c, pc.co - 1u) * kk_ci;

    // acc<r>[c] = y block element (pixel p0 + r, channel co0 + c); the loops over the
    // 8x4 block are written out so that every value stays in a register.
    vec4 acc0 = vec4(0.0), acc1 = vec4(0.0), acc2 = vec4(0.0), acc3 = vec4(0.0);
    vec4 acc4 = vec4(0.0), acc5 = vec4(0.0), acc6 = vec4(0.0), acc7 = vec4(0.0);
    // CO8: acc<8 + r>[c] = y block element (pixel p0 + r, channel co0 + 4 + c)
    vec4 acc8 = vec4(0.0), acc9 = vec4(0.0), acc10 = vec4(0.0), acc11 = vec4(0.0);
    vec4 acc12 = vec4(0.0), acc13 = vec4(0.0), acc14 = vec4(0.0), acc15 = vec4(0.0);
    int run = int(pc.k * pc.ci); // floats of one kernel row
    for (uint ky = 0u; ky < pc.k; ky++) {
        // Per pixel: element of x where its run starts (pixel px - pad; may lie outside the
        // image, then only [lo, hi) is read) and the inside part [lo, hi) of the run.
        int base[8], lo[8], hi[8];
        for (uint r = 0u; r < 8u; r++) {
            int sy = int(py[r] + ky) - int(pad);
            int sx = int(px[r]) - int(pad);
            bool row_inside = sy >= 0 && sy < int(pc.h);
            lo[r] = max(-sx, 0) * int(pc.ci);
            hi[r] = row_inside ? min(int(pc.k), int(pc.w) - sx) * int(pc.ci) : 0;
            base[r] = int(pc.x_off) + ((int(img[r] * pc.h) + sy) * int(pc.w) + sx) * int(pc.ci);
        }
        int xb0 = base[0], xb1 = base[1], xb2 = base[2], xb3 = base[3];
        int xb4 = base[4], xb5 = base[5], xb6 = base[6], xb7 = base[7];
        int lo0 = lo[0], lo1 = lo[1], lo2 = lo[2], lo3 = lo[3], lo4 = lo[4], lo5 = lo[5], lo6 = lo[6], lo7 = lo[7];
        int hi0 = hi[0], hi1 = hi[1], hi2 = hi[2], hi3 = hi[3], hi4 = hi[4], hi5 = hi[5], hi6 = hi[6], hi7 = hi[7];
        uint w_ky = ky * uint(run);
        uint wb0 = w_row[0] + w_ky, wb1 = w_row[1] + w_ky, wb2 = w_row[2] + w_ky, wb3 = w_row[3] + w_ky;
        uint wb4 = w_row[4] + w_ky, wb5 = w_row[5] + w_ky, wb6 = w_row[6] + w_ky, wb7 = w_row[7] + w_ky;
        for (int q = 0; q < run; q += 4) {
            uint count = uint(min(4, run - q));
            vec4 b0 = b_fetch4(wb0 + uint(q), count);
            vec4 b1 = b_fetch4(wb1 + uint(q), count);
            vec4 b2 = b_fetch4(wb2 + uint(q), count);
            vec4 b3 = b_fetch4(wb3 + uint(q), count);
            vec4 b4 = vec4(0.0), b5 = vec4(0.0), b6 = vec4(0.0), b7 = vec4(0.0);
            if (CO8) {
                b4 = b_fetch4(wb4 + uint(q), count);
                b5 = b_fetch4(wb5 + uint(q), count);
                b6 = b_fetch4(wb6 + uint(q), count);
                b7 = b_fetch4(wb7 + uint(q), count);
            }
            vec4 a0 = a_fetch4_masked(xb0 + q, lo0 - q, hi0 - q);
            acc0 = fma_dot4(a0, b0, b1, b2, b3, acc0);
            if (CO8)
                acc8 = fma_dot4(a0, b4, b5, b6, b7, acc8);
            vec4 a1 = a_fetch4_masked(xb1 + q, lo1 - q, hi1 - q);
            acc1 = fma_dot4(a1, b0, b1, b2, b3, acc1);
            if (CO8)
                acc9 = fma_dot4(a1, b4, b5, b6, b7, acc9);
            vec4 a2 = a_fetch4_masked(xb2 + q, lo2 - q, hi2 - q);
            acc2 = fma_dot4(a2, b0, b1, b2, b3, acc2);
            if (CO8)
                acc10 = fma_dot4(a2, b4, b5, b6, b7, acc10);
            vec4 a3 = a_fetch4_masked(xb3 + q, lo3 - q, hi3 - q);
            acc3 = fma_dot4(a3, b0, b1, b2, b3, acc3);
            if (CO8)
                acc11 = fma_dot4(a3, b4, b5, b6, b7, acc11);
            vec4 a4 = a_fetch4_masked(xb4 + q, lo4 - q, hi4 - q);
            acc4 = fma_dot4(a4, b0, b1, b2, b3, acc4);
            if (CO8)
                acc12 = fma_dot4(a4, b4, b5, b6, b7, acc12);
            vec4 a5 = a_fetch4_masked(xb5 + q, lo5 - q, hi5 - q);
            acc5 = fma_dot4(a5, b0, b1, b2, b3, acc5);
            if (CO8)
                acc13 = fma_dot4(a5, b4, b5, b6, b7, acc13);
            vec4 a6 = a_fetch4_masked(xb6 + q, lo6 - q, hi6 - q);
            acc6 = fma_dot4(a6, b0, b1, b2, b3, acc6);
            if (CO8)
                acc14 = fma_dot4(a6, b4, b5, b6, b7, acc14);
            vec4 a7 = a_fetch4_masked(xb7 + q, lo7 - q, hi7 - q);
            acc7 = fma_dot4(a7, b0, b1, b2, b3, acc7);
            if (CO8)
                acc15 = fma_dot4(a7, b4, b5, b6, b7, acc15);
        }
    }
    vec4 acc[8] = vec4[8](acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7);
    vec4 acc_hi[8] = vec4[8](acc8, acc9, acc10, acc11, acc12, acc13, acc14, acc15);

    uint co_count = min(4u, pc.co - co0);
    vec4 bias4 = vec4(0.0), bias_hi = vec4(0.0);
    if (HAS_BIAS) {
        for (uint c = 0u; c < 4u; c++) {
            if (c < co_count)
                bias4[c] = imageLoad(bias_view, int(pc.bias_off + co0 + c)).x;
            if (CO8)
                bias_hi[c] = imageLoad(bias_view, int(pc.bias_off + co0 + 4u + c)).x;
        }
    }
    // A whole 4-channel run of a pixel is one aligned vec4 store when Co and y_off are
    // multiples of 4 (then co0 is too), else single floats.
    bool store_vec4 = pc.co % 4u == 0u && pc.y_off % 4u == 0u;
    for (uint r = 0u; r < 8u; r++) {
        uint p = p0 + r;
        if (p >= pixels)
            break;
        vec4 v = acc[r] + bias4;
        if (RELU)
            v = max(v, vec4(0.0));
        uint e = pc.y_off + p * pc.co + co0;
        if (CO8) { // Co % 8 == 0 and y_off % 4 == 0: both halves are aligned vec4s
            vec4 v_hi = acc_hi[r] + bias_hi;
            if (RELU)
                v_hi = max(v_hi, vec4(0.0));
            y_vec4[e >> 2u] = v;
            y_vec4[(e >> 2u) + 1u] = v_hi;
        } else if (store_vec4) {
            y_vec4[e >> 2u] = v;
        } else {
            for (uint c = 0u; c < 4u; c++) {
                if (c < co_count)
                    y_data[e + c] = v[c];
            }
        }
    }
}
