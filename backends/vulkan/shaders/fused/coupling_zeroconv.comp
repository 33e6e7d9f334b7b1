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
layout(local_size_x_id = 0) in;
#include "reduce.glsl"
layout(set = 0, binding = 0) readonly buffer HIN { float hin[]; };
layout(set = 0, binding = 0) readonly buffer HIN4 { vec4 hin4[]; }; // the same hin, by 4 floats
layout(set = 0, binding = 1) readonly buffer WT { float w[]; };
layout(set = 0, binding = 1) readonly buffer WT4 { vec4 w4[]; };    // the same w, by 4 floats
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
                acc += w[wb + ci] * hin[xb + ci];
        }
    }
    return acc;
}

// Unscaled conv outputs co0..co0+3 (channels past 2Cb are 0) at pixel (n, py, px), vec4 loads.
vec4 conv4_at(uint n, uint py, uint px, uint co0, uint co_count)
{
    uint pad = (pc.k - 1u) / 2u, f4 = pc.f / 4u, kk = pc.k * pc.k;
    vec4 acc = vec4(0.0);
    for (uint ky = 0u; ky < pc.k; ky++) {
        int sy = int(py + ky) - int(pad);
        if (sy < 0 || sy >= int(pc.height))
            continue;
        for (uint kx = 0u; kx < pc.k; kx++) {
            int sx = int(px + kx) - int(pad);
            if (sx < 0 || sx >= int(pc.width))
                continue;
            uint xb = (pc.hin_off + ((n * pc.height + uint(sy)) * pc.width + uint(sx)) * pc.f) / 4u;
            uint tap = ky * pc.k + kx;
            // rows of w for co0..co0+3 at this tap (clamped to the last channel; masked below)
            uint w0 = (pc.w_off + (co0 * kk + tap) * pc.f) / 4u;
            uint w1 = (pc.w_off + (min(co0 + 1u, co0 + co_count - 1u) * kk + tap) * pc.f) / 4u;
            uint w2 = (pc.w_off + (min(co0 + 2u, co0 + co_count - 1u) * kk + tap) * pc.f) / 4u;
            uint w3 = (pc.w_off + (min(co0 + 3u, co0 + co_count - 1u) * kk + tap) * pc.f) / 4u;
            for (uint c4 = 0u; c4 < f4; c4++) {
                vec4 v = hin4[xb + c4];
                acc += vec4(dot(v, w4[w0 + c4]), dot(v, w4[w1 + c4]), dot(v, w4[w2 + c4]), dot(v, w4[w3 + c4]));
            }
        }
    }
    return acc;
}

void main()
{
    uint n = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
    uint C = pc.c, ca = C / 2u, cb = C - ca, hw = pc.height * pc.width;
    bool inverse = (pc.flags & 2u) != 0u;
    float part = 0.0;
    for (uint q = t; q < hw; q += gl_WorkGroupSize.x) {
        uint p = n * hw + q, py = q / pc.width, px = q % pc.width;
        for (uint j = 0u; j < ca; j++)
            xout[pc.out_off + p * C + j] = xin[pc.in_off + p * C + j];
        if ((pc.flags & 4u) != 0u) {
            // h first, 4 channels at a time (read back below by this invocation)
            for (uint co0 = 0u; co0 < 2u * cb; co0 += 4u) {
                uint cnt = min(4u, 2u * cb - co0);
                vec4 acc = conv4_at(n, py, px, co0, cnt);
                for (uint c = 0u; c < cnt; c++) {
                    uint co = co0 + c;
                    float e = (pc.flags & 1u) != 0u ? edge[pc.edge_off + q * 2u * cb + co] : 0.0;
                    h[pc.h_off + p * 2u * cb + co] =
                        (acc[c] + bias[pc.bias_off + co] + e) * exp(pc.factor * logs[pc.logs_off + co]);
                }
            }
        }
        for (uint j = 0u; j < cb; j++) {
            float shift, raw;
            if ((pc.flags & 4u) != 0u) {
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
    float total = workgroup_sum(part);
    if (t == 0u && !inverse)
        ld[pc.ld_off + n] += total;
}
