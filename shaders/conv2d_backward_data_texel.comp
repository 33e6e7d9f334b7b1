// conv2d backward_data, texel variant (CPU drivers):
//   dx[p][ci] += sum_{ky,kx,co} w[co][ky][kx][ci] * dy[p - (ky-pad, kx-pad)][co]
// An implicit GEMM  M = P pixels, Ncols = Ci, K = k*k*Co (the flipped kernel).
// A = shifted dy is contiguous along co (k), B = w[co][ky][kx][.] along ci (n):
// each invocation owns 4 pixels x 4 input channels of dx and, per 4 output
// channels, fetches 4 texels of dy (4 co each) and 4 rows of w (4 ci each):
//   acc[r] += dy_r.x * w[co] + dy_r.y * w[co+1] + dy_r.z * w[co+2] + dy_r.w * w[co+3].
// Each dx element belongs to one invocation, so the += is race-free.
// Invocation t: ci block t % ceil(Ci/4), pixel block t / ceil(Ci/4).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "gemm_texel.glsl"
#include "gemm_conv_push.glsl"

layout(set = 0, binding = 0) uniform samplerBuffer dy_view;
layout(set = 0, binding = 1) uniform samplerBuffer w_view;
layout(set = 0, binding = 2) buffer DxBuffer { float dx_data[]; };

void main()
{
    uint ci_blocks = (pc.ci + 3u) / 4u;
    uint hw = pc.h * pc.w;
    uint pixels = pc.n * hw;
    uint t = texel_flat_index();
    if (t >= ci_blocks * ((pixels + 3u) / 4u))
        return;
    uint ci0 = (t % ci_blocks) * 4u;
    uint ci_count = min(4u, pc.ci - ci0);
    uint p0 = (t / ci_blocks) * 4u;
    uint pad = (pc.k - 1u) / 2u;
    uint kk_ci = pc.k * pc.k * pc.ci;

    uint img[4], py[4], px[4];
    for (uint r = 0u; r < 4u; r++) {
        uint p = min(p0 + r, pixels - 1u);
        img[r] = p / hw;
        py[r] = (p % hw) / pc.w;
        px[r] = p % pc.w;
    }

    vec4 acc[4] = vec4[4](vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0)); // acc[r][ci - ci0]
    for (uint ky = 0u; ky < pc.k; ky++) {
        for (uint kx = 0u; kx < pc.k; kx++) {
            // dy pixel that tap (ky, kx) of output pixel q reads x[p] from: q = p - (ky-pad, kx-pad).
            uint dy_base[4];
            bool inside[4];
            for (uint r = 0u; r < 4u; r++) {
                int sy = int(py[r] + pad) - int(ky);
                int sx = int(px[r] + pad) - int(kx);
                inside[r] = sy >= 0 && sy < int(pc.h) && sx >= 0 && sx < int(pc.w);
                uint cy = uint(clamp(sy, 0, int(pc.h) - 1));
                uint cx = uint(clamp(sx, 0, int(pc.w) - 1));
                dy_base[r] = pc.y_off + ((img[r] * pc.h + cy) * pc.w + cx) * pc.co;
            }
            uint w_tap = pc.w_off + (ky * pc.k + kx) * pc.ci + ci0;
            for (uint co = 0u; co < pc.co; co += 4u) {
                uint count = min(4u, pc.co - co);
                // Rows co..co+3 of w at this tap; rows past Co are clamped (their dy is 0).
                vec4 w0 = fetch4(w_view, w_tap + co * kk_ci, ci_count);
                vec4 w1 = fetch4(w_view, w_tap + min(co + 1u, pc.co - 1u) * kk_ci, ci_count);
                vec4 w2 = fetch4(w_view, w_tap + min(co + 2u, pc.co - 1u) * kk_ci, ci_count);
                vec4 w3 = fetch4(w_view, w_tap + min(co + 3u, pc.co - 1u) * kk_ci, ci_count);
                for (uint r = 0u; r < 4u; r++) {
                    vec4 d = fetch4(dy_view, dy_base[r] + co, count);
                    d = inside[r] ? d : vec4(0.0);
                    acc[r] += d.x * w0 + d.y * w1 + d.z * w2 + d.w * w3;
                }
            }
        }
    }

    for (uint r = 0u; r < 4u; r++) {
        uint p = p0 + r;
        if (p >= pixels)
            break;
        for (uint c = 0u; c < ci_count; c++)
            dx_data[pc.x_off + p * pc.ci + ci0 + c] += acc[r][c];
    }
}
