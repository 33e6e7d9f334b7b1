#include "glow/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

void glow_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(PHILOX_M0, c0, &hi0, &lo0);
        mulhilo(PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0;
        uint32_t n1 = lo1;
        uint32_t n2 = hi0 ^ c3 ^ k1;
        uint32_t n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

static void block_for(glow_rng r, uint64_t i, uint32_t out[4])
{
    uint64_t j = (uint64_t)r.first_block + i / 4;
    uint32_t ctr[4] = {(uint32_t)j, (uint32_t)(j >> 32), r.stream, r.counter};
    uint32_t key[2] = {(uint32_t)r.seed, (uint32_t)(r.seed >> 32)};
    glow_philox4x32_10(ctr, key, out);
}

static float bits_to_uniform(uint32_t x)
{
    return (float)(x >> 8) * (1.0f / 16777216.0f);
}

uint32_t glow_rng_bits(glow_rng r, uint64_t i)
{
    uint32_t x[4];
    block_for(r, i, x);
    return x[i % 4];
}

float glow_rng_uniform(glow_rng r, uint64_t i)
{
    return bits_to_uniform(glow_rng_bits(r, i));
}

float glow_rng_normal(glow_rng r, uint64_t i)
{
    uint32_t x[4];
    block_for(r, i, x);
    unsigned lane = (unsigned)(i % 4);
    unsigned p = lane & ~1u;
    float u1 = 1.0f - bits_to_uniform(x[p]);
    float u2 = bits_to_uniform(x[p + 1]);
    float radius = sqrtf(-2.0f * logf(u1));
    float theta = 6.28318530717958647692f * u2;
    return (lane & 1u) ? radius * sinf(theta) : radius * cosf(theta);
}
