/* Philox4x32-10 on the device, bit-identical to src/engine/philox.c and the
 * mapping of glow/rng.h (CUDA side of shaders' rng in common.glsl):
 *   block j = first_block + i / 4, lane = i % 4,
 *   ctr = { j lo, j hi, stream, counter }, key = { seed lo, seed hi },
 *   uniform = (word >> 8) * 2^-24,
 *   normal: Box-Muller on the lane pair (u1 = 1 - uniform(even word), u2 = uniform(odd word)),
 *           r = sqrt(-2 ln u1), t = 2 pi u2, even lane r cos t, odd lane r sin t.
 * Every step is integer arithmetic (exact) except the normal's logf/sqrtf/sinf/cosf
 * (CUDA's accurate versions: no fast-math), which agree with libm to a few ulp. */
#ifndef GLOW_CUDA_PHILOX_H
#define GLOW_CUDA_PHILOX_H

#include <stdint.h>

#include "glow/rng.h"

struct cu_philox_key {
    uint32_t k0, k1, stream, counter, first_block;
};

static inline cu_philox_key cu_philox_key_of(glow_rng r)
{
    cu_philox_key k = {(uint32_t)r.seed, (uint32_t)(r.seed >> 32), r.stream, r.counter, r.first_block};
    return k;
}

/* The four words of block first_block + j of the draw. */
static __device__ __forceinline__ uint4 cu_philox_block(cu_philox_key key, uint64_t j)
{
    j += key.first_block;
    uint32_t c0 = (uint32_t)j, c1 = (uint32_t)(j >> 32), c2 = key.stream, c3 = key.counter;
    uint32_t k0 = key.k0, k1 = key.k1;
    for (int round = 0; round < 10; round++) {
        uint32_t lo0 = 0xD2511F53u * c0, hi0 = __umulhi(0xD2511F53u, c0);
        uint32_t lo1 = 0xCD9E8D57u * c2, hi1 = __umulhi(0xCD9E8D57u, c2);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0;
        c1 = n1;
        c2 = n2;
        c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return make_uint4(c0, c1, c2, c3);
}

static __device__ __forceinline__ uint32_t cu_philox_word(uint4 b, unsigned lane)
{
    return lane == 0 ? b.x : lane == 1 ? b.y : lane == 2 ? b.z : b.w;
}

static __device__ __forceinline__ float cu_bits_to_uniform(uint32_t x)
{
    return (float)(x >> 8) * (1.0f / 16777216.0f);
}

/* The normal of `lane` from its block's words. */
static __device__ __forceinline__ float cu_philox_normal(uint4 b, unsigned lane)
{
    unsigned p = lane & ~1u;
    float u1 = 1.0f - cu_bits_to_uniform(cu_philox_word(b, p));
    float u2 = cu_bits_to_uniform(cu_philox_word(b, p + 1));
    float radius = sqrtf(-2.0f * logf(u1));
    float theta = 6.28318530717958647692f * u2;
    return (lane & 1u) ? radius * sinf(theta) : radius * cosf(theta);
}

static __device__ __forceinline__ float cu_rng_normal_at(cu_philox_key key, uint64_t i)
{
    return cu_philox_normal(cu_philox_block(key, i / 4), (unsigned)(i % 4));
}

#endif
