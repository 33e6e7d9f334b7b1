#version 450
#extension GL_GOOGLE_include_directive : require
// 2x2 space-to-depth and its inverse. x: (N,H,W,C), y: (N,H/2,W/2,4C):
//   y[n][i][j][c*4 + dy*2 + dx] <-> x[n][2i+dy][2j+dx][c]
// One loop trip per element of y in a grid-stride loop (a bijection, so no two write the same place).
// The source is bound read-only and the destination writable, so the hazard tracker and the
// validation layer see the real access: squeeze reads x and writes y, unsqueeze the reverse.
//   unsqueeze == 0: src = x, dst = y;  unsqueeze == 1: src = y, dst = x;  dst (= or +=) src.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer Src { float src[]; };
layout(set = 0, binding = 1) buffer Dst { float dst[]; };
layout(push_constant) uniform Push {
    uint x_off, y_off; // element offsets of x and y in their bindings
    uint n, h, w, c;   // shape of x
    uint accumulate, unsqueeze;
} pc;

void main()
{
    uint c4 = 4u * pc.c, w2 = pc.w / 2u, h2 = pc.h / 2u;
    uint count = pc.n * h2 * w2 * c4;
    for (uint e = linear_index(); e < count; e += grid_size()) {
        uint cy = e % c4;
        uint pix = e / c4;           // (n*h2 + i)*w2 + j
        uint j = pix % w2;
        uint i = (pix / w2) % h2;
        uint n = pix / (w2 * h2);
        uint c = cy / 4u, dy = (cy / 2u) % 2u, dx = cy % 2u;
        uint xi = pc.x_off + ((n * pc.h + 2u * i + dy) * pc.w + 2u * j + dx) * pc.c + c;
        uint yi = pc.y_off + e;
        uint si = pc.unsqueeze == 0u ? xi : yi;
        uint di = pc.unsqueeze == 0u ? yi : xi;
        float v = src[si];
        if (pc.accumulate != 0u)
            v += dst[di];
        dst[di] = v;
    }
}
