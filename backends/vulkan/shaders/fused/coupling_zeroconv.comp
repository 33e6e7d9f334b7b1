#version 450
#extension GL_GOOGLE_include_directive : require
// The coupling's output stage fused into the zero-initialised convolution.
// hin: (N,H,W,F); w: (2Cb,k,k,F) [co][ky][kx][ci]; bias, logs: (2Cb); edge: (1,H,W,2Cb) or
// absent (flags & 1); in, out: (N,H,W,C), Ca = C/2, Cb = C - Ca; h: (N,H,W,2Cb); ld: (N).
//   h[p][co] = (bias[co] + edge[y,x][co] + sum_{ky,kx,ci} w[co][ky][kx][ci] hin[p+(ky-pad,kx-pad)][ci])
//              * exp(factor * logs[co])
//   shift = h[p][j], s = sigmoid(h[p][Cb+j] + 2), j < Cb:
//   forward (flags & 2 == 0): out_a = in_a, out_b = (in_b + shift) s,  ld[n] += sum_{p in n, j} log s
//   inverse (flags & 2):      out_a = in_a, out_b = in_b / s - shift
// One workgroup per sample n (workgroup id x), its invocations striding over the sample's
// H*W pixels; each pixel's 2Cb conv outputs are direct dot products of k*k*F terms (the
// zero-conv has few outputs), then a tree reduction of log s gives ld[n] (no atomics).
// Vectorised path (flags & 4: F, hin's and w's offsets multiples of 4): 4 output channels at
// a time, each hin vec4 (one load) multiplied by the 4 channels' weight vec4s (the same for
// every invocation): h is written, then read back by the same invocation for the coupling.
//
// Texel build (-DGLOW_ZC_TEXEL=1, module coupling_zeroconv_texel; CPU drivers): hin and w are
// readonly RGBA32F storage texel buffers over their whole buffers (hin_off, w_off element
// offsets into them), always on the vectorised path (the host requires flags & 4), and the
// block's multiply-adds are fma chains: on lavapipe an image load is inlined while a storage
// buffer load is a loop over the SIMD lanes (shaders/conv/gemm_texel.glsl).
layout(local_size_x_id = 0) in;
#include "reduce.glsl"
#if defined(GLOW_ZC_TEXEL) && GLOW_ZC_TEXEL
layout(set = 0, binding = 0, rgba32f) uniform readonly imageBuffer hin_img;
layout(set = 0, binding = 1, rgba32f) uniform readonly imageBuffer w_img;
#define HIN4(i) imageLoad(hin_img, int(i))
#define W4(i) imageLoad(w_img, int(i))
#define HIN(e) imageLoad(hin_img, int((e) >> 2u))[(e) & 3u]
#define W(e) imageLoad(w_img, int((e) >> 2u))[(e) & 3u]
#else
layout(set = 0, binding = 0) readonly buffer HIN { float hin[]; };
layout(set = 0, binding = 0) readonly buffer HIN4 { vec4 hin4[]; }; // the same hin, by 4 floats
layout(set = 0, binding = 1) readonly buffer WT { float w[]; };
layout(set = 0, binding = 1) readonly buffer WT4 { vec4 w4[]; };    // the same w, by 4 floats
#define HIN4(i) hin4[i]
#define W4(i) w4[i]
#define HIN(e) hin[e]
#define W(e) w[e]
#endif
layout(set = 0, binding = 2) readonly buffer B { float bias[]; };
layout(set = 0, binding = 3) readonly buffer E { float edge[]; };
layout(set = 0, binding = 4) readonly buffer LS { float logs[]; };
layout(set = 0, binding = 5) readonly buffer IN { float xin[]; };
layout(set = 0, binding = 6) buffer HO { float h[]; };
layout(set = 0, binding = 7) writeonly buffer OUT { float xout[]; };
layout(set = 0, binding = 8) buffer LD { float ld[]; };
layout(push_constant) uniform Push {
    uint hin_off, w_off, bias_off, edge_off, logs_off, in_off, h_off, out_off, ld_off;
    uint height, width, f, k, c, flags;
    float factor;
} pc;

// Unscaled conv output (with bias and edge) of output channel co at pixel (n, py, px).
float conv_at(uint n, uint py, uint px, uint co)
{
    uint pad = (pc.k - 1u) / 2u;
    float acc = bias[pc.bias_off + co];
    if ((pc.flags & 1u) != 0u)
        acc += edge[pc.edge_off + ((py * pc.width + px) * (pc.c - pc.c / 2u) * 2u) + co];
    for (uint ky = 0u; ky < pc.k; ky++) {
        int sy = int(py + ky) - int(pad);
        if (sy < 0 || sy >= int(pc.height))
            continue;
        for (uint kx = 0u; kx < pc.k; kx++) {
            int sx = int(px + kx) - int(pad);
            if (sx < 0 || sx >= int(pc.width))
                continue;
            uint xb = pc.hin_off + ((n * pc.height + uint(sy)) * pc.width + uint(sx)) * pc.f;
            uint wb = pc.w_off + ((co * pc.k + ky) * pc.k + kx) * pc.f;
            for (uint ci = 0u; ci < pc.f; ci++)
                acc += W(wb + ci) * HIN(xb + ci);
        }
    }
    return acc;
}

// Unscaled conv outputs co0..co0+3 (columns past co0+co_count-1 repeat the last one) of the 8
// pixels q0..q0+7 of sample n (pixels past the sample's end repeat its last one), vec4 loads:
// per 4 input channels, 8 hin vec4s and 4 weight vec4s feed 128 multiply-adds (the register
// blocking of the texel GEMM, conv2d_forward_texel.comp).
void conv4_block8(uint n, uint q0, uint co0, uint co_count, out vec4 acc[8])
{
    uint pad = (pc.k - 1u) / 2u, f4 = pc.f / 4u, kk = pc.k * pc.k, hw = pc.height * pc.width;
    uint py[8], px[8];
    for (uint r = 0u; r < 8u; r++) {
        uint q = min(q0 + r, hw - 1u);
        py[r] = q / pc.width;
        px[r] = q % pc.width;
        acc[r] = vec4(0.0);
    }
    for (uint ky = 0u; ky < pc.k; ky++) {
        for (uint kx = 0u; kx < pc.k; kx++) {
            uint base[8];
            bool inside[8];
            for (uint r = 0u; r < 8u; r++) {
                int sy = int(py[r] + ky) - int(pad), sx = int(px[r] + kx) - int(pad);
                inside[r] = sy >= 0 && sy < int(pc.height) && sx >= 0 && sx < int(pc.width);
                uint cy = uint(clamp(sy, 0, int(pc.height) - 1)), cx = uint(clamp(sx, 0, int(pc.width) - 1));
                base[r] = (pc.hin_off + ((n * pc.height + cy) * pc.width + cx) * pc.f) / 4u;
            }
            uint tap = ky * pc.k + kx;
            uint w0 = (pc.w_off + (co0 * kk + tap) * pc.f) / 4u;
            uint w1 = (pc.w_off + (min(co0 + 1u, co0 + co_count - 1u) * kk + tap) * pc.f) / 4u;
            uint w2 = (pc.w_off + (min(co0 + 2u, co0 + co_count - 1u) * kk + tap) * pc.f) / 4u;
            uint w3 = (pc.w_off + (min(co0 + 3u, co0 + co_count - 1u) * kk + tap) * pc.f) / 4u;
            for (uint c4 = 0u; c4 < f4; c4++) {
                vec4 a = W4(w0 + c4), b = W4(w1 + c4), c = W4(w2 + c4), d = W4(w3 + c4);
                for (uint r = 0u; r < 8u; r++) {
                    vec4 v = inside[r] ? HIN4(base[r] + c4) : vec4(0.0);
#if defined(GLOW_ZC_TEXEL) && GLOW_ZC_TEXEL
                    // the same sums as fma chains (lavapipe does not contract a * b + c)
                    acc[r] = fma(vec4(v.x), vec4(a.x, b.x, c.x, d.x), acc[r]);
                    acc[r] = fma(vec4(v.y), vec4(a.y, b.y, c.y, d.y), acc[r]);
                    acc[r] = fma(vec4(v.z), vec4(a.z, b.z, c.z, d.z), acc[r]);
                    acc[r] = fma(vec4(v.w), vec4(a.w, b.w, c.w, d.w), acc[r]);
#else
                    acc[r] += vec4(dot(v, a), dot(v, b), dot(v, c), dot(v, d));
#endif
                }
            }
        }
    }
}

void main()
{
    uint n = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
    uint C = pc.c, ca = C / 2u, cb = C - ca, hw = pc.height * pc.width;
    bool inverse = (pc.flags & 2u) != 0u;
    bool vec4_path = (pc.flags & 4u) != 0u;
    if (vec4_path) {
        // h of this invocation's blocks of 8 pixels (the coupling loop below reads back the
        // same pixels: q = 8 t' + r for the blocks t' = t, t + WG, ...)
        for (uint q0 = 8u * t; q0 < hw; q0 += 8u * gl_WorkGroupSize.x) {
            for (uint co0 = 0u; co0 < 2u * cb; co0 += 4u) {
                uint cnt = min(4u, 2u * cb - co0);
                vec4 acc[8];
                conv4_block8(n, q0, co0, cnt, acc);
                for (uint r = 0u; r < 8u && q0 + r < hw; r++) {
                    uint q = q0 + r, p = n * hw + q;
                    for (uint c = 0u; c < cnt; c++) {
                        uint co = co0 + c;
                        float e = (pc.flags & 1u) != 0u ? edge[pc.edge_off + q * 2u * cb + co] : 0.0;
                        h[pc.h_off + p * 2u * cb + co] =
                            (acc[r][c] + bias[pc.bias_off + co] + e) * exp(pc.factor * logs[pc.logs_off + co]);
                    }
                }
            }
        }
    }
    float part = 0.0;
    // the vec4 path visits the pixels its h loop wrote (the same invocation), else one per invocation
    uint step = vec4_path ? 8u * gl_WorkGroupSize.x : gl_WorkGroupSize.x;
    for (uint qb = vec4_path ? 8u * t : t; qb < hw; qb += step) {
        for (uint r = 0u; r < (vec4_path ? 8u : 1u) && qb + r < hw; r++) {
            uint q = qb + r;
            uint p = n * hw + q, py = q / pc.width, px = q % pc.width;
            for (uint j = 0u; j < ca; j++)
                xout[pc.out_off + p * C + j] = xin[pc.in_off + p * C + j];
            for (uint j = 0u; j < cb; j++) {
                float shift, raw;
                if (vec4_path) {
                    shift = h[pc.h_off + p * 2u * cb + j];
                    raw = h[pc.h_off + p * 2u * cb + cb + j];
                } else {
                    shift = conv_at(n, py, px, j) * exp(pc.factor * logs[pc.logs_off + j]);
                    raw = conv_at(n, py, px, cb + j) * exp(pc.factor * logs[pc.logs_off + cb + j]);
                    h[pc.h_off + p * 2u * cb + j] = shift;
                    h[pc.h_off + p * 2u * cb + cb + j] = raw;
                }
                float z = raw + 2.0, s = sigmoid(z);
                float v = xin[pc.in_off + p * C + ca + j];
                xout[pc.out_off + p * C + ca + j] = inverse ? v / s - shift : (v + shift) * s;
                part += log_sigmoid(z);
            }
        }
    }
    float total = workgroup_sum(part);
    if (t == 0u && !inverse)
        ld[pc.ld_off + n] += total;
}
