// Workgroup tree reductions in shared memory (no float atomics, no subgroup ops).
// The workgroup size (local_size_x_id = 0) must be a power of two <= REDUCE_MAX;
// every invocation of the workgroup must call these in uniform control flow.
// Each returns the sum over the workgroup to every invocation.

#ifndef GLOW_REDUCE_GLSL
#define GLOW_REDUCE_GLSL

#include "common.glsl"

shared float reduce_buf[REDUCE_MAX];
shared vec2 reduce_buf2[REDUCE_MAX];

float workgroup_sum(float v)
{
    uint t = gl_LocalInvocationID.x;
    reduce_buf[t] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1) {
        if (t < s)
            reduce_buf[t] += reduce_buf[t + s];
        barrier();
    }
    float total = reduce_buf[0];
    barrier(); // reduce_buf may be reused right after
    return total;
}

vec2 workgroup_sum2(vec2 v)
{
    uint t = gl_LocalInvocationID.x;
    reduce_buf2[t] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1) {
        if (t < s)
            reduce_buf2[t] += reduce_buf2[t + s];
        barrier();
    }
    vec2 total = reduce_buf2[0];
    barrier();
    return total;
}

#endif
