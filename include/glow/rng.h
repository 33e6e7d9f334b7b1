/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
 * SC'11), counter-based, so every backend produces the same stream.
 *
 * Mapping of a draw (seed, stream, counter) to element i of a tensor:
 *   block j = first_block + i / 4, lane = i % 4
 *   ctr = { j & 0xffffffff, j >> 32, stream, counter }, key = { seed & 0xffffffff, seed >> 32 }
 *   x = philox4x32_10(ctr, key)
 *   uniform(i) = (x[lane] >> 8) * 2^-24                      in [0, 1), exact in float
 *   normal(i)  : Box-Muller on the lane pair p = lane & ~1:
 *                u1 = 1 - uniform(x[p]) in (0, 1], u2 = uniform(x[p + 1])
 *                r = sqrt(-2 ln u1), t = 2 pi u2
 *                normal = lane even ? r cos t : r sin t       (float arithmetic)
 * Raw words and uniforms are bit-identical across backends; normals go through
 * libm/GPU transcendentals and agree to a few ulp. */
#ifndef GLOW_RNG_H
#define GLOW_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t seed;
    uint32_t stream;  /* what the numbers are for (dequantisation, sampling, data order, ...) */
    uint32_t counter; /* which draw of that stream (training step, sample call, ...) */
    /* Where element 0 of the draw lies in the stream, in Philox blocks of 4 elements (0 for
     * most callers). A data-parallel rank whose local tensor starts at element e of the
     * global one (e a multiple of 4) draws with first_block = e / 4, so it gets exactly the
     * numbers a single process would draw for those elements. */
    uint32_t first_block;
} glow_rng;

enum {
    GLOW_STREAM_DEQUANT = 1,
    GLOW_STREAM_SAMPLE = 2,
    GLOW_STREAM_DATA_ORDER = 3,
    GLOW_STREAM_INIT = 4,
    GLOW_STREAM_TEST = 5,
};

/* One Philox4x32-10 block: out = philox(ctr, key). */
void glow_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

uint32_t glow_rng_bits(glow_rng r, uint64_t i);
float glow_rng_uniform(glow_rng r, uint64_t i);
float glow_rng_normal(glow_rng r, uint64_t i);

#endif
