#version 450
#extension GL_GOOGLE_include_directive : require
// 2x2 space-to-depth and its inverse. x: (N,H,W,C), y: (N,H/2,W/2,4C):
//   y[n][i][j][c*4 + dy*2 + dx] <-> x[n][2i+dy][2j+dx][c]
// One loop trip per element of y in a grid-stride loop (a bijection, so no two write the same place).
// unsqueeze == 0: y (= or +=) x;  unsqueeze == 1: x (= or +=) y.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) buffer X { float x[]; };
layout(set = 0, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform Push {
    uint x_off, y_off;
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
        if (pc.unsqueeze == 0u) {
            float v = x[xi];
            if (pc.accumulate != 0u)
                v += y[yi];
            y[yi] = v;
        } else {
            float v = y[yi];
            if (pc.accumulate != 0u)
                v += x[xi];
            x[xi] = v;
        }
    }
}
