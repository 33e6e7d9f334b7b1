#version 450
#extension GL_GOOGLE_include_directive : require
// In place, y: (N,H,W,Co), w_edge: (Co,3,3,1) = w_edge[co][ky][kx]:
//   y[n][i][j][co] = act(y[n][i][j][co] + sum_{ky,kx outside at (i,j)} w_edge[co][ky][kx])
// act = ReLU when pc.relu != 0. One element per iteration of a grid-stride loop
// (common.glsl grid_size()); interior pixels add nothing.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
#include "conv/conv2d_edge.glsl"
layout(set = 0, binding = 0) buffer Y { float y[]; };
layout(set = 0, binding = 1) readonly buffer WE { float w_edge[]; };
layout(push_constant) uniform Push { uint y_off, count, h, w, c, w_off, relu; } pc;

void main()
{
    for (uint e = linear_index(); e < pc.count; e += grid_size()) {
        uint co = e % pc.c, pixel = e / pc.c;
        uint j = pixel % pc.w, i = (pixel / pc.w) % pc.h;
        float v = y[pc.y_off + e];
        for (uint tap = 0u; tap < 9u; tap++)
            if (edge_tap_outside(i, j, tap / 3u, tap % 3u, pc.h, pc.w))
                v += w_edge[pc.w_off + co * 9u + tap];
        if (pc.relu != 0u)
            v = max(v, 0.0);
        y[pc.y_off + e] = v;
    }
}
