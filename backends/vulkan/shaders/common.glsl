// Shared helpers of the non-convolution kernels (included by the .comp files).
//
// Requires: #version 450 and GL_GOOGLE_include_directive in the includer, and
// `layout(local_size_x_id = 0) in;` BEFORE the #include: glslang resolves
// gl_WorkGroupSize where a function uses it, so a later declaration would leave 1.
//
// 1. linear_index(): a flat invocation index for 1-D launches that the host may
//    split over groups_x * groups_y when the group count exceeds the x limit.
// 2. Philox4x32-10, bit-identical to src/engine/philox.c / include/glow/rng.h:
//      block j = first_block + i / 4, lane = i % 4
//      ctr = { j lo, j hi, stream, counter }, key = { seed lo, seed hi }
//      uniform = (x[lane] >> 8) * 2^-24
//      normal: Box-Muller on the lane pair p = lane & ~1:
//        u1 = 1 - uniform(x[p]), u2 = uniform(x[p+1]),
//        r = sqrt(-2 ln u1), t = 2 pi u2, normal = lane even ? r cos t : r sin t
// 3. Workgroup tree reduction of one float per invocation (REDUCE_MAX >= workgroup
//    size, a power of two chosen by the host).

#ifndef GLOW_COMMON_GLSL
#define GLOW_COMMON_GLSL

#define REDUCE_MAX 256

uint linear_index()
{
    uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    return group * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}

// Grid-stride loops: the number of invocations of the whole 1-D launch, for
//   for (uint i = linear_index(); i < count; i += grid_size())
// (the host caps the group count, so each invocation handles several elements).
uint grid_size()
{
    return gl_NumWorkGroups.x * gl_NumWorkGroups.y * gl_WorkGroupSize.x;
}

// ---- Philox4x32-10 ---------------------------------------------------------

const uint PHILOX_M0 = 0xD2511F53u;
const uint PHILOX_M1 = 0xCD9E8D57u;
const uint PHILOX_W0 = 0x9E3779B9u;
const uint PHILOX_W1 = 0xBB67AE85u;

uvec4 philox4x32_10(uvec4 ctr, uvec2 key)
{
    for (int round = 0; round < 10; round++) {
        uint hi0, lo0, hi1, lo1;
        umulExtended(PHILOX_M0, ctr.x, hi0, lo0);
        umulExtended(PHILOX_M1, ctr.z, hi1, lo1);
        ctr = uvec4(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
        key += uvec2(PHILOX_W0, PHILOX_W1);
    }
    return ctr;
}

// The four raw words of block j (elements 4j .. 4j+3) of the stream; callers add the
// draw's first_block to j (32-bit: the shaders index at most 2^32 blocks)
// (seed = seed_lo | seed_hi << 32, stream, counter).
uvec4 philox_block(uint j, uint seed_lo, uint seed_hi, uint stream, uint counter)
{
    return philox4x32_10(uvec4(j, 0u, stream, counter), uvec2(seed_lo, seed_hi));
}

// (x >> 8) * 2^-24: 24 random bits, exact in float, in [0, 1).
float bits_to_uniform(uint x)
{
    return float(x >> 8) * (1.0 / 16777216.0);
}

// Box-Muller normals of the two lane pairs: .x = lane 0, .y = lane 1 (pair 0),
// .z = lane 2, .w = lane 3 (pair 1).
vec4 philox_normals(uvec4 x)
{
    vec4 u = vec4(bits_to_uniform(x.x), bits_to_uniform(x.y), bits_to_uniform(x.z), bits_to_uniform(x.w));
    precise float u1a = 1.0 - u.x;
    precise float u1b = 1.0 - u.z;
    precise float ra = sqrt(-2.0 * log(u1a));
    precise float rb = sqrt(-2.0 * log(u1b));
    precise float ta = 6.28318530717958647692 * u.y;
    precise float tb = 6.28318530717958647692 * u.w;
    return vec4(ra * cos(ta), ra * sin(ta), rb * cos(tb), rb * sin(tb));
}

// ---- small numerics ----------------------------------------------------------

// log(1 + e) for e >= 0 without losing e's digits when e is tiny (Goldberg's trick:
// with u = fl(1 + e), log(u) * e / (u - 1) cancels the rounding of u).
float log1p_pos(float e)
{
    precise float u = 1.0 + e;
    if (u == 1.0)
        return e;
    precise float d = u - 1.0;
    return log(u) * (e / d);
}

// log(sigmoid(z)) = -log(1 + exp(-z)), without overflow for either sign of z.
float log_sigmoid(float z)
{
    return z >= 0.0 ? -log1p_pos(exp(-z)) : z - log1p_pos(exp(z));
}

// sigmoid(z) = 1 / (1 + exp(-z)), the coupling scale s = sigmoid(raw + 2).
float sigmoid(float z)
{
    return 1.0 / (1.0 + exp(-z));
}

#endif
