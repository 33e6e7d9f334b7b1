#version 450
#extension GL_GOOGLE_include_directive : require
// Backward of gaussian_logp (shapes there), one loop trip per element of z
// (grid-stride loop);
// g = dLoss/dlogp[n], the same for every sample; d = (z - mean) exp(-2 logsd):
//   dz += -g d (only when has_dz != 0; otherwise binding 2 is a placeholder never touched)
//   dmean += g d,  dlogsd += g ((z - mean) d - 1)
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer Z { float z[]; };
layout(set = 0, binding = 1) readonly buffer H { float h[]; };
layout(set = 0, binding = 2) buffer DZ { float dz[]; };
layout(set = 0, binding = 3) buffer DH { float dh[]; };
layout(push_constant) uniform Push { uint z_off, h_off, dz_off, dh_off, count, c, has_dz; float g; } pc;

void main()
{
    for (uint i = linear_index(); i < pc.count; i += grid_size()) {
        uint C = pc.c, p = i / C, ch = i % C, hb = p * 2u * C;
        float diff = z[pc.z_off + i] - h[pc.h_off + hb + ch];
        float d = diff * exp(-2.0 * h[pc.h_off + hb + C + ch]);
        if (pc.has_dz != 0u)
            dz[pc.dz_off + i] += -pc.g * d;
        dh[pc.dh_off + hb + ch] += pc.g * d;
        dh[pc.dh_off + hb + C + ch] += pc.g * (diff * d - 1.0);
    }
}
