// Operand access for the texel-buffer variant of the GEMM-shaped kernels (VK_GEMM_TEXEL).
//
// On CPU drivers (lavapipe) storage-buffer and shared-memory reads are serialised per
// lane, so the conv kernels read their two large operands through texel views of the
// WHOLE glow_buffer and keep a block of outputs (8x4) in registers per invocation (no
// shared memory). The views are storage texel buffers (readonly imageBuffer, imageLoad):
// lavapipe (Mesa 22) inlines an image load, while a uniform texel buffer's texelFetch is a
// call of a sampling function that spills every live register around it (measured on the
// 1x1 128->128 forward at M = 8192: 1.5x from imageLoad, 1.85x with the fma chains of
// the kernels).
//
// Each kernel is built once per view kind of bindings 0 (A) and 1 (B), as
// <kernel>_a<1|4>b<1|4> with GLOW_TEXEL_VEC4_A / GLOW_TEXEL_VEC4_B = 0 or 1
// (shaders/meson.build), and the host picks the module per dispatch:
//   4 (RGBA32F view): texel t = floats [4t, 4t+4). Used only when every channel count
//                     and tensor offset that indexes that view is a multiple of 4, so a
//                     4-channel run is exactly one texel.
//   1 (R32F view):    one float per texel (any channel count).
// (The image format is part of the declaration: without
// shaderStorageImageReadWithoutFormat, which lavapipe lacks, it cannot follow a
// specialization constant.) So a conv with Ci = 2 still reads its Co-channel operand
// by whole texels.
//
// Requires: #version 450, GL_GOOGLE_include_directive; declares bindings 0 and 1 as
// `A_VIEW` and `B_VIEW` (the including kernel #defines both names before the include).

#ifndef GLOW_GEMM_TEXEL_GLSL
#define GLOW_GEMM_TEXEL_GLSL

layout(local_size_x_id = 0) in;

#if GLOW_TEXEL_VEC4_A
layout(set = 0, binding = 0, rgba32f) uniform readonly imageBuffer A_VIEW;
#else
layout(set = 0, binding = 0, r32f) uniform readonly imageBuffer A_VIEW;
#endif
#if GLOW_TEXEL_VEC4_B
layout(set = 0, binding = 1, rgba32f) uniform readonly imageBuffer B_VIEW;
#else
layout(set = 0, binding = 1, r32f) uniform readonly imageBuffer B_VIEW;
#endif
const bool TEXEL_VEC4_A = GLOW_TEXEL_VEC4_A != 0;
const bool TEXEL_VEC4_B = GLOW_TEXEL_VEC4_B != 0;

// Fetchers of one view (image variables cannot be function arguments without a format):
//   PREFIX_fetch4(e, count): floats [e, e + count) of the buffer (1 <= count <= 4), zeros
//       after. With a vec4 view, e is a multiple of 4 and count is 4.
//   PREFIX_fetch4_masked(e, lo, hi): floats e + c (c = 0..3) where lo <= c < hi, zeros for
//       the other components (which are never fetched, so their addresses may lie outside
//       the buffer, even below 0). With a vec4 view, e, lo and hi are multiples of 4: the
//       texel is fetched whole when lo <= 0 < hi.
#define GLOW_TEXEL_FETCHERS(PREFIX, VIEW, VEC4)                                               \
    vec4 PREFIX##_fetch4(uint e, uint count)                                                  \
    {                                                                                         \
        if (VEC4)                                                                             \
            return imageLoad(VIEW, int(e >> 2u));                                             \
        vec4 v = vec4(0.0);                                                                   \
        v.x = imageLoad(VIEW, int(e)).x;                                                      \
        if (count > 1u)                                                                       \
            v.y = imageLoad(VIEW, int(e + 1u)).x;                                             \
        if (count > 2u)                                                                       \
            v.z = imageLoad(VIEW, int(e + 2u)).x;                                             \
        if (count > 3u)                                                                       \
            v.w = imageLoad(VIEW, int(e + 3u)).x;                                             \
        return v;                                                                             \
    }                                                                                         \
    vec4 PREFIX##_fetch4_masked(int e, int lo, int hi)                                        \
    {                                                                                         \
        if (VEC4)                                                                             \
            return lo <= 0 && hi > 0 ? imageLoad(VIEW, e >> 2) : vec4(0.0);                   \
        vec4 v = vec4(0.0);                                                                   \
        if (lo <= 0 && hi > 0)                                                                \
            v.x = imageLoad(VIEW, e).x;                                                       \
        if (lo <= 1 && hi > 1)                                                                \
            v.y = imageLoad(VIEW, e + 1).x;                                                   \
        if (lo <= 2 && hi > 2)                                                                \
            v.z = imageLoad(VIEW, e + 2).x;                                                   \
        if (lo <= 3 && hi > 3)                                                                \
            v.w = imageLoad(VIEW, e + 3).x;                                                   \
        return v;                                                                             \
    }

GLOW_TEXEL_FETCHERS(a, A_VIEW, TEXEL_VEC4_A)
GLOW_TEXEL_FETCHERS(b, B_VIEW, TEXEL_VEC4_B)

// acc + (dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3)) as chains of fused multiply-adds
// (lavapipe does not contract a * b + c into an fma by itself).
vec4 fma_dot4(vec4 a, vec4 b0, vec4 b1, vec4 b2, vec4 b3, vec4 acc)
{
    acc = fma(vec4(a.x), vec4(b0.x, b1.x, b2.x, b3.x), acc);
    acc = fma(vec4(a.y), vec4(b0.y, b1.y, b2.y, b3.y), acc);
    acc = fma(vec4(a.z), vec4(b0.z, b1.z, b2.z, b3.z), acc);
    return fma(vec4(a.w), vec4(b0.w, b1.w, b2.w, b3.w), acc);
}

// acc + d.x * w0 + d.y * w1 + d.z * w2 + d.w * w3 as a chain of fused multiply-adds.
vec4 fma_outer4(vec4 d, vec4 w0, vec4 w1, vec4 w2, vec4 w3, vec4 acc)
{
    return fma(vec4(d.w), w3, fma(vec4(d.z), w2, fma(vec4(d.y), w1, fma(vec4(d.x), w0, acc))));
}

// (image, row, column) of the 8 pixels p0 .. p0+7 of an (N,H,W) image batch with P = N*H*W
// pixels, p0 < P; pixels past the end repeat the last one (p = min(p0 + r, P - 1)). One
// division for p0, then steps along the row: integer division is not a SIMD instruction, so
// 3 divisions per pixel cost CPU drivers more than a small-K GEMM block's multiply-adds.
void texel_block_coords(uint p0, uint pixels, uint h, uint w, out uint img[8], out uint py[8], out uint px[8])
{
    uint hw = h * w;
    uint i = p0 / hw;
    uint rem = p0 - i * hw;
    uint y = rem / w;
    uint x = rem - y * w;
    for (uint r = 0u; r < 8u; r++) {
        img[r] = i;
        py[r] = y;
        px[r] = x;
        if (p0 + r + 1u < pixels) { // next pixel exists: step to it
            x++;
            if (x == w) {
                x = 0u;
                y++;
                if (y == h) {
                    y = 0u;
                    i++;
                }
            }
        }
    }
}

// Flat invocation index of a 1-D launch whose groups the host spread over
// groups_x * groups_y (when one dimension would exceed maxComputeWorkGroupCount[0]).
uint texel_flat_index()
{
    uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    return group * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}

#endif
