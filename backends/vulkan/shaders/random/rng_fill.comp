#version 450
#extension GL_GOOGLE_include_directive : require
// out[off + i] = uniform(rng, i) (normal == 0) or normal(rng, i) (normal == 1), 0 <= i < count,
// bit-compatible with glow_rng_uniform / glow_rng_normal (see common.glsl).
// One invocation per Philox block j (elements 4j .. 4j+3).
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) buffer OUT { float outv[]; };
layout(push_constant) uniform Push { uint off, count, seed_lo, seed_hi, stream, counter, first_block, normal; } pc;

void main()
{
    uint j = linear_index();
    if (j >= (pc.count + 3u) / 4u)
        return;
    uvec4 bits = philox_block(pc.first_block + j, pc.seed_lo, pc.seed_hi, pc.stream, pc.counter);
    vec4 v;
    if (pc.normal != 0u)
        v = philox_normals(bits);
    else
        v = vec4(bits_to_uniform(bits.x), bits_to_uniform(bits.y), bits_to_uniform(bits.z), bits_to_uniform(bits.w));
    for (uint lane = 0u; lane < 4u; lane++) {
        uint i = 4u * j + lane;
        if (i >= pc.count)
            break;
        outv[pc.off + i] = v[lane];
    }
}
