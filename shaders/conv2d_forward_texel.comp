// conv2d forward, texel variant (CPU drivers):
//   y[p][co] = act(bias[co] + sum_{ky,kx,ci} w[co][ky][kx][ci] * x[p + (ky-pad, kx-pad)][ci])
// An implicit GEMM  M = P = N*H*W pixels, Ncols = Co, K = k*k*Ci, with A (im2col of x)
// and B^T = w both contiguous along ci: each invocation owns an 8-pixel x 4-co block
// of y and, per 4 channels, fetches 8 texels of x and 4 of w for 128 multiply-adds.
// Invocation t: co block t % ceil(Co/4), 8-pixel block t / ceil(Co/4).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "gemm_texel.glsl"
#include "gemm_conv_push.glsl"

layout(set = 0, binding = 0) uniform samplerBuffer x_view;
layout(set = 0, binding = 1) uniform samplerBuffer w_view;
layout(set = 0, binding = 2) readonly buffer BiasBuffer { float bias_data[]; };
layout(set = 0, binding = 3) writeonly buffer YBuffer { float y_data[]; };

void main()
{
    uint co_blocks = (pc.co + 3u) / 4u;
    uint hw = pc.h * pc.w;
    uint pixels = pc.n * hw;
    uint t = texel_flat_index();
    if (t >= co_blocks * ((pixels + 7u) / 8u))
        return;
    uint co0 = (t % co_blocks) * 4u;
    uint p0 = (t / co_blocks) * 8u;
    uint pad = (pc.k - 1u) / 2u;
    uint kk_ci = pc.k * pc.k * pc.ci;

    // Image coordinates of the 8 pixels (clamped to the last pixel past the end).
    uint img[8], py[8], px[8];
    for (uint r = 0u; r < 8u; r++) {
        uint p = min(p0 + r, pixels - 1u);
        img[r] = p / hw;
        py[r] = (p % hw) / pc.w;
        px[r] = p % pc.w;
    }
    // Weight rows of the 4 output channels (clamped past Co).
    uint w_row[4];
    for (uint c = 0u; c < 4u; c++)
        w_row[c] = pc.w_off + min(co0 + c, pc.co - 1u) * kk_ci;

    // acc<r>[c] = y block element (pixel p0 + r, channel co0 + c); the loops over the
    // 8x4 block are written out so that every value stays in a register.
    vec4 acc0 = vec4(0.0), acc1 = vec4(0.0), acc2 = vec4(0.0), acc3 = vec4(0.0);
    vec4 acc4 = vec4(0.0), acc5 = vec4(0.0), acc6 = vec4(0.0), acc7 = vec4(0.0);
    for (uint ky = 0u; ky < pc.k; ky++) {
        for (uint kx = 0u; kx < pc.k; kx++) {
            uint x_base[8];
            bool inside[8];
            for (uint r = 0u; r < 8u; r++) {
                int sy = int(py[r] + ky) - int(pad);
                int sx = int(px[r] + kx) - int(pad);
                inside[r] = sy >= 0 && sy < int(pc.h) && sx >= 0 && sx < int(pc.w);
                uint cy = uint(clamp(sy, 0, int(pc.h) - 1));
                uint cx = uint(clamp(sx, 0, int(pc.w) - 1));
                x_base[r] = pc.x_off + ((img[r] * pc.h + cy) * pc.w + cx) * pc.ci;
            }
            uint xb0 = x_base[0], xb1 = x_base[1], xb2 = x_base[2], xb3 = x_base[3];
            uint xb4 = x_base[4], xb5 = x_base[5], xb6 = x_base[6], xb7 = x_base[7];
            bool in0 = inside[0], in1 = inside[1], in2 = inside[2], in3 = inside[3];
            bool in4 = inside[4], in5 = inside[5], in6 = inside[6], in7 = inside[7];
            uint tap = (ky * pc.k + kx) * pc.ci;
            uint wb0 = w_row[0] + tap, wb1 = w_row[1] + tap, wb2 = w_row[2] + tap, wb3 = w_row[3] + tap;
            for (uint ci = 0u; ci < pc.ci; ci += 4u) {
                uint count = min(4u, pc.ci - ci);
                vec4 b0 = fetch4(w_view, wb0 + ci, count);
                vec4 b1 = fetch4(w_view, wb1 + ci, count);
                vec4 b2 = fetch4(w_view, wb2 + ci, count);
                vec4 b3 = fetch4(w_view, wb3 + ci, count);
                vec4 a0 = in0 ? fetch4(x_view, xb0 + ci, count) : vec4(0.0);
                acc0 += vec4(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
                vec4 a1 = in1 ? fetch4(x_view, xb1 + ci, count) : vec4(0.0);
                acc1 += vec4(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
                vec4 a2 = in2 ? fetch4(x_view, xb2 + ci, count) : vec4(0.0);
                acc2 += vec4(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
                vec4 a3 = in3 ? fetch4(x_view, xb3 + ci, count) : vec4(0.0);
                acc3 += vec4(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
                vec4 a4 = in4 ? fetch4(x_view, xb4 + ci, count) : vec4(0.0);
                acc4 += vec4(dot(a4, b0), dot(a4, b1), dot(a4, b2), dot(a4, b3));
                vec4 a5 = in5 ? fetch4(x_view, xb5 + ci, count) : vec4(0.0);
                acc5 += vec4(dot(a5, b0), dot(a5, b1), dot(a5, b2), dot(a5, b3));
                vec4 a6 = in6 ? fetch4(x_view, xb6 + ci, count) : vec4(0.0);
                acc6 += vec4(dot(a6, b0), dot(a6, b1), dot(a6, b2), dot(a6, b3));
                vec4 a7 = in7 ? fetch4(x_view, xb7 + ci, count) : vec4(0.0);
                acc7 += vec4(dot(a7, b0), dot(a7, b1), dot(a7, b2), dot(a7, b3));
            }
        }
    }
    vec4 acc[8] = vec4[8](acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7);

    for (uint r = 0u; r < 8u; r++) {
        uint p = p0 + r;
        if (p >= pixels)
            break;
        for (uint c = 0u; c < 4u; c++) {
            uint co = co0 + c;
            if (co >= pc.co)
                break;
            float v = acc[r][c];
            if ((pc.flags & CONV_HAS_BIAS) != 0u)
                v += bias_data[pc.bias_off + co];
            if ((pc.flags & CONV_RELU) != 0u)
                v = max(v, 0.0);
            y_data[pc.y_off + p * pc.co + co] = v;
        }
    }
}
