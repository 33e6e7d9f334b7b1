#version 450
#extension GL_GOOGLE_include_directive : require
// Affine coupling, backward (shapes as in coupling_forward.comp), one loop trip per
// element of x (grid-stride loop); g = dLoss/dld[n], the same for every sample:
//   dx_a += dy_a;  dx_b += dy_b s;  dshift += dy_b s;
//   draw += (dy_b (x_b + shift) s + g) (1 - s)
// The invocation of (p, Ca + k) alone writes dh[p][k] and dh[p][Cb + k].
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer H { float h[]; };
layout(set = 0, binding = 2) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 3) buffer DX { float dx[]; };
layout(set = 0, binding = 4) buffer DH { float dh[]; };
layout(push_constant) uniform Push { uint x_off, h_off, dy_off, dx_off, dh_off, count, c; float g; } pc;

void main()
{
    for (uint i = linear_index(); i < pc.count; i += grid_size()) {
        uint C = pc.c, ca = C / 2u, cb = C - ca;
        uint p = i / C, ch = i % C;
        float gy = dy[pc.dy_off + i];
        if (ch < ca) {
            dx[pc.dx_off + i] += gy;
            continue;
        }
        uint k = ch - ca, hb = p * 2u * cb;
        float shift = h[pc.h_off + hb + k];
        float s = sigmoid(h[pc.h_off + hb + cb + k] + 2.0);
        float gs = gy * s;
        dx[pc.dx_off + i] += gs;
        dh[pc.dh_off + hb + k] += gs;
        dh[pc.dh_off + hb + cb + k] += (gs * (x[pc.x_off + i] + shift) + pc.g) * (1.0 - s);
    }
}
