// conv2d backward_data, texel variant (CPU drivers):
//   dx[p][ci] += sum_{ky,kx,co} w[co][ky][kx][ci] * dy[p - (ky-pad, kx-pad)][co]
// (= with CONV_OVERWRITE; times [mask[p][ci] > 0] with CONV_RELU_MASK: conv2d_backward_data_relu)
// An implicit GEMM  M = P pixels, Ncols = Ci, K = k*k*Co (the flipped kernel).
// A = shifted dy is contiguous along co (k), B = w[co][ky][kx][.] along ci (n):
// each invocation owns 8 pixels x 4 input channels of dx and, per 4 output
// channels, fetches 8 texels of dy (4 co each) and 4 rows of w (4 ci each), 128
// multiply-adds:  acc<r> += dy_r.x * w[co] + dy_r.y * w[co+1] + dy_r.z * w[co+2] + dy_r.w * w[co+3].
// Each dx element belongs to one invocation, so the += is race-free.
// Invocation t: ci block t % ceil(Ci/4), 8-pixel block t / ceil(Ci/4).
#version 450
#extension GL_GOOGLE_include_directive : require
#define A_VIEW dy_view // binding 0: dy
#define B_VIEW w_view  // binding 1: w
#include "gemm_texel.glsl"
#include "gemm_conv_push.glsl"

layout(set = 0, binding = 2) buffer DxBuffer { float dx_data[]; };
layout(set = 0, binding = 2) buffer DxBuffer4 { vec4 dx_vec4[]; }; // the same dx, by 4 floats
// The ReLU output y of dx's layer (flags & CONV_RELU_MASK): dx = 0 where y <= 0 (element offset
// bias_off into the whole buffer). An R32F storage texel buffer (any offset): an inlined load
// on lavapipe, where a storage-buffer load is a loop over the SIMD lanes.
layout(set = 0, binding = 3, r32f) uniform readonly imageBuffer mask_view;
// The flags CONV_RELU_MASK and CONV_OVERWRITE as specialization constants 3 and 4, so that the
// epilogue has no dead loads (CPU drivers run both sides of a branch under a lane mask).
layout(constant_id = 3) const bool RELU_MASK = false;
layout(constant_id = 4) const bool OVERWRITE = false;
// CI8 (specialization constant 5; the host sets it when Ci % 8 == 0, x_off % 4 == 0 and w
// has an RGBA32F view): each invocation owns 8 pixels x 8 input channels (two 8x4 halves
// sharing the 8 dy fetches: 16 fetches per 256 multiply-adds instead of 12 per 128).
layout(constant_id = 5) const bool CI8 = false;

void main()
{
    uint ci_block = CI8 ? 8u : 4u;
    uint ci_blocks = (pc.ci + ci_block - 1u) / ci_block;
    uint hw = pc.h * pc.w;
    uint pixels = pc.n * hw;
    uint t = texel_flat_index();
    if (t >= ci_blocks * ((pixels + 7u) / 8u))
        return;
    uint ci0 = (t % ci_blocks) * ci_block;
    uint ci_count = min(4u, pc.ci - ci0);
    uint p0 = (t / ci_blocks) * 8u;
    uint pad = (pc.k - 1u) / 2u;
    uint kk_ci = pc.k * pc.k * pc.ci;

    // Image coordinates of the 8 pixels (clamped to the last pixel past the end).
    uint img[8], py[8], px[8];
    texel_block_coords(p0, pixels, pc.h, pc.w, img, py, px);

    // The block's mask values, loaded before the GEMM: mask (= the next layer's ReLU output)
    // is as large as dx and mostly not in cache, and loads issued together overlap their
    // misses (measured: read after the GEMM, the first load of each pixel's cache line took
    // a third of the kernel's time at Ci = 128, K = 36).
    vec4 mask[8], mask_hi[8]; // mask_hi: channels ci0 + 4 .. ci0 + 7 (CI8)
    for (uint r = 0u; r < 8u; r++) {
        mask[r] = vec4(0.0);
        mask_hi[r] = vec4(0.0);
        if (RELU_MASK) {
            uint me = pc.bias_off + min(p0 + r, pixels - 1u) * pc.ci + ci0;
            for (uint c = 0u; c < 4u; c++) {
                if (c < ci_count)
                    mask[r][c] = imageLoad(mask_view, int(me + c)).x;
                if (CI8)
                    mask_hi[r][c] = imageLoad(mask_view, int(me + 4u + c)).x;
            }
        }
    }

    // acc<r>[c] = dx block element (pixel p0 + r, channel ci0 + c), written out per pixel
    // so that every value stays in a register.
    vec4 acc0 = vec4(0.0), acc1 = vec4(0.0), acc2 = vec4(0.0), acc3 = vec4(0.0);
    vec4 acc4 = vec4(0.0), acc5 = vec4(0.0), acc6 = vec4(0.0), acc7 = vec4(0.0);
    // CI8: acc<8 + r>[c] = dx block element (pixel p0 + r, channel ci0 + 4 + c)
    vec4 acc8 = vec4(0.0), acc9 = vec4(0.0), acc10 = vec4(0.0), acc11 = vec4(0.0);
    vec4 acc12 = vec4(0.0), acc13 = vec4(0.0), acc14 = vec4(0.0), acc15 = vec4(0.0);
    for (uint ky = 0u; ky < pc.k; ky++) {
        for (uint kx = 0u; kx < pc.k; kx++) {
            // dy pixel that tap (ky, kx) of output pixel q reads x[p] from: q = p - (ky-pad, kx-pad).
            uint dy_base[8];
            bool inside[8];
            for (uint r = 0u; r < 8u; r++) {
                int sy = int(py[r] + pad) - int(ky);
                int sx = int(px[r] + pad) - int(kx);
                inside[r] = sy >= 0 && sy < int(pc.h) && sx >= 0 && sx < int(pc.w);
                uint cy = uint(clamp(sy, 0, int(pc.h) - 1));
                uint cx = uint(clamp(sx, 0, int(pc.w) - 1));
                dy_base[r] = pc.y_off + ((img[r] * pc.h + cy) * pc.w + cx) * pc.co;
            }
            uint db0 = dy_base[0], db1 = dy_base[1], db2 = dy_base[2], db3 = dy_base[3];
            uint db4 = dy_base[4], db5 = dy_base[5], db6 = dy_base[6], db7 = dy_base[7];
            bool in0 = inside[0], in1 = inside[1], in2 = inside[2], in3 = inside[3];
            bool in4 = inside[4], in5 = inside[5], in6 = inside[6], in7 = inside[7];
            uint w_tap = pc.w_off + (ky * pc.k + kx) * pc.ci + ci0;
            for (uint co = 0u; co < pc.co; co += 4u) {
                uint count = min(4u, pc.co - co);
                // Rows co..co+3 of w at this tap; rows past Co are clamped (their dy is 0).
                vec4 w0 = b_fetch4(w_tap + co * kk_ci, ci_count);
                vec4 w1 = b_fetch4(w_tap + min(co + 1u, pc.co - 1u) * kk_ci, ci_count);
                vec4 w2 = b_fetch4(w_tap + min(co + 2u, pc.co - 1u) * kk_ci, ci_count);
                vec4 w3 = b_fetch4(w_tap + min(co + 3u, pc.co - 1u) * kk_ci, ci_count);
                vec4 w4 = vec4(0.0), w5 = vec4(0.0), w6 = vec4(0.0), w7 = vec4(0.0); // ci0 + 4 .. 7
                if (CI8) {
                    w4 = b_fetch4(w_tap + 4u + co * kk_ci, 4u);
                    w5 = b_fetch4(w_tap + 4u + min(co + 1u, pc.co - 1u) * kk_ci, 4u);
                    w6 = b_fetch4(w_tap + 4u + min(co + 2u, pc.co - 1u) * kk_ci, 4u);
                    w7 = b_fetch4(w_tap + 4u + min(co + 3u, pc.co - 1u) * kk_ci, 4u);
                }
                vec4 d = in0 ? a_fetch4(db0 + co, count) : vec4(0.0);
                acc0 = fma_outer4(d, w0, w1, w2, w3, acc0);
                if (CI8)
                    acc8 = fma_outer4(d, w4, w5, w6, w7, acc8);
                d = in1 ? a_fetch4(db1 + co, count) : vec4(0.0);
                acc1 = fma_outer4(d, w0, w1, w2, w3, acc1);
                if (CI8)
                    acc9 = fma_outer4(d, w4, w5, w6, w7, acc9);
                d = in2 ? a_fetch4(db2 + co, count) : vec4(0.0);
                acc2 = fma_outer4(d, w0, w1, w2, w3, acc2);
                if (CI8)
                    acc10 = fma_outer4(d, w4, w5, w6, w7, acc10);
                d = in3 ? a_fetch4(db3 + co, count) : vec4(0.0);
                acc3 = fma_outer4(d, w0, w1, w2, w3, acc3);
                if (CI8)
                    acc11 = fma_outer4(d, w4, w5, w6, w7, acc11);
                d = in4 ? a_fetch4(db4 + co, count) : vec4(0.0);
                acc4 = fma_outer4(d, w0, w1, w2, w3, acc4);
                if (CI8)
                    acc12 = fma_outer4(d, w4, w5, w6, w7, acc12);
                d = in5 ? a_fetch4(db5 + co, count) : vec4(0.0);
                acc5 = fma_outer4(d, w0, w1, w2, w3, acc5);
                if (CI8)
                    acc13 = fma_outer4(d, w4, w5, w6, w7, acc13);
                d = in6 ? a_fetch4(db6 + co, count) : vec4(0.0);
                acc6 = fma_outer4(d, w0, w1, w2, w3, acc6);
                if (CI8)
                    acc14 = fma_outer4(d, w4, w5, w6, w7, acc14);
                d = in7 ? a_fetch4(db7 + co, count) : vec4(0.0);
                acc7 = fma_outer4(d, w0, w1, w2, w3, acc7);
                if (CI8)
                    acc15 = fma_outer4(d, w4, w5, w6, w7, acc15);
            }
        }
    }
    vec4 acc[8] = vec4[8](acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7);
    vec4 acc_hi[8] = vec4[8](acc8, acc9, acc10, acc11, acc12, acc13, acc14, acc15);

    // A whole 4-channel run of a pixel is one aligned vec4 update when Ci and x_off are
    // multiples of 4 (then ci0 is too), else single floats.
    bool update_vec4 = pc.ci % 4u == 0u && pc.x_off % 4u == 0u;
    for (uint r = 0u; r < 8u; r++) {
        uint p = p0 + r;
        if (p >= pixels)
            break;
        uint e = pc.x_off + p * pc.ci + ci0;
        vec4 v = acc[r];
        if (RELU_MASK)
            v = mix(vec4(0.0), v, greaterThan(mask[r], vec4(0.0)));
        if (CI8) { // Ci % 8 == 0 and x_off % 4 == 0: both halves are aligned vec4s
            vec4 v_hi = acc_hi[r];
            if (RELU_MASK)
                v_hi = mix(vec4(0.0), v_hi, greaterThan(mask_hi[r], vec4(0.0)));
            if (OVERWRITE) {
                dx_vec4[e >> 2u] = v;
                dx_vec4[(e >> 2u) + 1u] = v_hi;
            } else {
                dx_vec4[e >> 2u] += v;
                dx_vec4[(e >> 2u) + 1u] += v_hi;
            }
        } else if (update_vec4) {
            if (OVERWRITE)
                dx_vec4[e >> 2u] = v;
            else
                dx_vec4[e >> 2u] += v;
        } else {
            for (uint c = 0u; c < 4u; c++) {
                if (c < ci_count) {
                    if (OVERWRITE)
                        dx_data[e + c] = v[c];
                    else
                        dx_data[e + c] += v[c];
                }
            }
        }
    }
}
