#version 450
#extension GL_GOOGLE_include_directive : require
// For every pixel p < rows and k < count (flat index p*count + k, k fastest, in a grid-stride loop):
//   dst[dst_off + p*dst_c + dst_c0 + k] (= or +=) src[src_off + p*src_c + src_c0 + k]
// src and dst may be the same buffer (disjoint ranges, checked by the core).
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer SRC { float src[]; };
layout(set = 0, binding = 1) buffer DST { float dst[]; };
layout(push_constant) uniform Push {
    uint src_off, src_c, src_c0;
    uint dst_off, dst_c, dst_c0;
    uint count, rows, accumulate;
} pc;

void main()
{
    for (uint i = linear_index(); i < pc.rows * pc.count; i += grid_size()) {
        uint p = i / pc.count, k = i % pc.count;
        float v = src[pc.src_off + p * pc.src_c + pc.src_c0 + k];
        uint d = pc.dst_off + p * pc.dst_c + pc.dst_c0 + k;
        if (pc.accumulate != 0u)
            v += dst[d];
        dst[d] = v;
    }
}
