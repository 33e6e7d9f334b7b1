// conv2d forward, texel variant (CPU drivers):
//   y[p][co] = act(bias[co] + sum_{ky,kx,ci} w[co][ky][kx][ci] * x[p + (ky-pad, kx-pad)][ci])
// An implicit GEMM  M = P = N*H*W pixels, Ncols = Co, K = k*k*Ci, with A (im2col of x)
// and B^T = w both contiguous along ci: each invocation owns a 4-pixel x 4-co block
// of y and, per 4 channels, fetches 4 texels of x and 4 of w for 64 multiply-adds.
// Invocation t: co block t % ceil(Co/4), pixel block t / ceil(Co/4).
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
    if (t >= co_blocks * ((pixels + 3u) / 4u))
        return;
    uint co0 = (t % co_blocks) * 4u;
    uint p0 = (t / co_blocks) * 4u;
    uint pad = (pc.k - 1u) / 2u;
    uint kk_ci = pc.k * pc.k * pc.ci;

    // Image coordinates of the 4 pixels (clamped to the last pixel past the end).
    uint img[4], py[4], px[4];
    for (uint r = 0u; r < 4u; r++) {
        uint p = min(p0 + r, pixels - 1u);
        img[r] = p / hw;
        py[r] = (p % hw) / pc.w;
        px[r] = p % pc.w;
    }
    // Weight rows of the 4 output channels (clamped past Co).
    uint w_row[4];
    for (uint c = 0u; c < 4u; c++)
        w_row[c] = pc.w_off + min(co0 + c, pc.co - 1u) * kk_ci;

    vec4 acc[4] = vec4[4](vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0)); // acc[r][c]
    for (uint ky = 0u; ky < pc.k; ky++) {
        for (uint kx = 0u; kx < pc.k; kx++) {
            uint x_base[4];
            bool inside[4];
            for (uint r = 0u; r < 4u; r++) {
                int sy = int(py[r] + ky) - int(pad);
                int sx = int(px[r] + kx) - int(pad);
                inside[r] = sy >= 0 && sy < int(pc.h) && sx >= 0 && sx < int(pc.w);
                uint cy = uint(clamp(sy, 0, int(pc.h) - 1));
                uint cx = uint(clamp(sx, 0, int(pc.w) - 1));
                x_base[r] = pc.x_off + ((img[r] * pc.h + cy) * pc.w + cx) * pc.ci;
            }
            uint tap = (ky * pc.k + kx) * pc.ci;
            for (uint ci = 0u; ci < pc.ci; ci += 4u) {
                uint count = min(4u, pc.ci - ci);
                vec4 b0 = fetch4(w_view, w_row[0] + tap + ci, count);
                vec4 b1 = fetch4(w_view, w_row[1] + tap + ci, count);
                vec4 b2 = fetch4(w_view, w_row[2] + tap + ci, count);
                vec4 b3 = fetch4(w_view, w_row[3] + tap + ci, count);
                for (uint r = 0u; r < 4u; r++) {
                    vec4 a = fetch4(x_view, x_base[r] + ci, count);
                    a = inside[r] ? a : vec4(0.0);
                    acc[r] += vec4(dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3));
                }
            }
        }
    }

    for (uint r = 0u; r < 4u; r++) {
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
