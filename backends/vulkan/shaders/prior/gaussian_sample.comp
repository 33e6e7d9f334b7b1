#version 450
#extension GL_GOOGLE_include_directive : require
// z[i] = mean + exp(logsd) * temperature * normal(rng, i), i the flat index in z: (N,H,W,C),
// mean/logsd from h: (N,H,W,2C). One invocation per Philox block j (elements 4j .. 4j+3).
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer H { float h[]; };
layout(set = 0, binding = 1) buffer Z { float z[]; };
layout(push_constant) uniform Push {
    uint h_off, z_off, count, c;
    uint seed_lo, seed_hi, stream, counter, first_block;
    float temperature;
} pc;

void main()
{
    uint j = linear_index();
    if (j >= (pc.count + 3u) / 4u)
        return;
    vec4 nrm = philox_normals(philox_block(pc.first_block + j, pc.seed_lo, pc.seed_hi, pc.stream, pc.counter));
    for (uint lane = 0u; lane < 4u; lane++) {
        uint i = 4u * j + lane;
        if (i >= pc.count)
            break;
        uint p = i / pc.c, ch = i % pc.c, hb = pc.h_off + p * 2u * pc.c;
        z[pc.z_off + i] = h[hb + ch] + exp(h[hb + pc.c + ch]) * pc.temperature * nrm[lane];
    }
}
