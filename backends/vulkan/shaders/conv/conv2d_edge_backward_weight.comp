#version 450
#extension GL_GOOGLE_include_directive : require
// dy: (N,H,W,Co), dw_edge: (Co,3,3,1). One workgroup per (co, tap), tap = ky*3 + kx:
//   dw_edge[co][ky][kx] += sum_{n,i,j: (ky,kx) outside at (i,j)} dy[n][i][j][co]
// The workgroup walks the nb border pixels of every image (interior pixels never have
// an outside tap): with H, W > 2 they are row 0 (W), row H-1 (W), then column 0 and
// column W-1 of rows 1..H-2; with H or W <= 2 every pixel is on the border.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "reduce.glsl"
#include "conv/conv2d_edge.glsl"
layout(set = 0, binding = 0) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 1) buffer DW { float dw_edge[]; };
layout(push_constant) uniform Push { uint dy_off, n, h, w, c, dw_off; } pc;

uint border_count()
{
    return (pc.h <= 2u || pc.w <= 2u) ? pc.h * pc.w : 2u * pc.w + 2u * (pc.h - 2u);
}

// The b-th border pixel of an image as (i, j).
uvec2 border_pixel(uint b)
{
    if (pc.h <= 2u || pc.w <= 2u)
        return uvec2(b / pc.w, b % pc.w);
    if (b < pc.w)
        return uvec2(0u, b);
    if (b < 2u * pc.w)
        return uvec2(pc.h - 1u, b - pc.w);
    uint r = b - 2u * pc.w, side = pc.h - 2u;
    return r < side ? uvec2(1u + r, 0u) : uvec2(1u + r - side, pc.w - 1u);
}

void main()
{
    uint co = gl_WorkGroupID.x / 9u, tap = gl_WorkGroupID.x % 9u, t = gl_LocalInvocationID.x;
    uint ky = tap / 3u, kx = tap % 3u, nb = border_count();
    float part = 0.0;
    for (uint q = t; q < pc.n * nb; q += gl_WorkGroupSize.x) {
        uint img = q / nb;
        uvec2 ij = border_pixel(q % nb);
        if (edge_tap_outside(ij.x, ij.y, ky, kx, pc.h, pc.w))
            part += dy[pc.dy_off + ((img * pc.h + ij.x) * pc.w + ij.y) * pc.c + co];
    }
    float total = workgroup_sum(part);
    if (t == 0u)
        dw_edge[pc.dw_off + co * 9u + tap] += total;
}
