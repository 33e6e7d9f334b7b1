// Operand access for the texel-buffer variant of the GEMM-shaped kernels (VK_GEMM_TEXEL).
//
// On CPU drivers (lavapipe) storage-buffer and shared-memory reads are serialised per
// lane while texelFetch from a uniform texel buffer is fast, so the conv kernels read
// their large operands through texel views of the WHOLE glow_buffer and keep a block
// of outputs (8x4 or 4x4) in registers per invocation (no shared memory).
//
// The host picks the kind of each of the two views (bindings 0 and 1) per dispatch and
// tells the shader through TEXEL_VEC4_A (binding 0) and TEXEL_VEC4_B (binding 1):
//   true : an RGBA32F view, texel t = floats [4t, 4t+4). Used only when every channel
//          count and tensor offset that indexes that view is a multiple of 4, so a
//          4-channel run is exactly one texel.
//   false: an R32F view, one float per texel (any channel count).
// So a conv with Ci = 2 still reads its Co-channel operand by whole texels.
//
// Requires: #version 450, GL_GOOGLE_include_directive.

#ifndef GLOW_GEMM_TEXEL_GLSL
#define GLOW_GEMM_TEXEL_GLSL

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const bool TEXEL_VEC4_A = true;
layout(constant_id = 4) const bool TEXEL_VEC4_B = true;

// Floats [e, e + count) of the buffer behind `view` (1 <= count <= 4), zeros after.
// With vec4_view (the view is RGBA32F), e is a multiple of 4 and count is 4.
vec4 fetch4(samplerBuffer view, bool vec4_view, uint e, uint count)
{
    if (vec4_view)
        return texelFetch(view, int(e >> 2u));
    vec4 v = vec4(0.0);
    v.x = texelFetch(view, int(e)).x;
    if (count > 1u)
        v.y = texelFetch(view, int(e + 1u)).x;
    if (count > 2u)
        v.z = texelFetch(view, int(e + 2u)).x;
    if (count > 3u)
        v.w = texelFetch(view, int(e + 3u)).x;
    return v;
}

// Floats e + c (c = 0..3) of the buffer behind `view` where lo <= c < hi, zeros for the
// other components (which are never fetched, so their addresses may lie outside the
// buffer, even below 0). With vec4_view, e, lo and hi are multiples of 4: the texel
// is fetched whole when lo <= 0 < hi.
vec4 fetch4_masked(samplerBuffer view, bool vec4_view, int e, int lo, int hi)
{
    if (vec4_view)
        return lo <= 0 && hi > 0 ? texelFetch(view, e >> 2) : vec4(0.0);
    vec4 v = vec4(0.0);
    if (lo <= 0 && hi > 0)
        v.x = texelFetch(view, e).x;
    if (lo <= 1 && hi > 1)
        v.y = texelFetch(view, e + 1).x;
    if (lo <= 2 && hi > 2)
        v.z = texelFetch(view, e + 2).x;
    if (lo <= 3 && hi > 3)
        v.w = texelFetch(view, e + 3).x;
    return v;
}

// Flat invocation index of a 1-D launch whose groups the host spread over
// groups_x * groups_y (when one dimension would exceed maxComputeWorkGroupCount[0]).
uint texel_flat_index()
{
    uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    return group * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}

#endif
