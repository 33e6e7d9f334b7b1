/* Philox4x32-10 against the published Random123 known-answer vectors
 * (kat_vectors: "philox4x32 10 <ctr x4> <key x2> <out x4>"), and the
 * uniform/normal mappings of glow/rng.h. */
#include "test_util.h"

#include <math.h>

static void test_known_answers(void **state)
{
    (void)state;
    static const struct {
        uint32_t ctr[4], key[2], out[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
        {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
         {0xffffffffu, 0xffffffffu},
         {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
        {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
         {0xa4093822u, 0x299f31d0u},
         {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
    };
    for (size_t k = 0; k < sizeof kat / sizeof kat[0]; k++) {
        uint32_t out[4];
        glow_philox4x32_10(kat[k].ctr, kat[k].key, out);
        for (int i = 0; i < 4; i++)
            assert_int_equal(out[i], kat[k].out[i]);
    }
}

/* Element i uses block i/4 with ctr = {i/4, 0, stream, counter}, key = {seed lo, seed hi}. */
static void test_element_mapping(void **state)
{
    (void)state;
    glow_rng r = {0x0000000200000001ull, 7, 9, 0};
    for (uint64_t i = 0; i < 64; i++) {
        uint32_t ctr[4] = {(uint32_t)(i / 4), 0, 7, 9}, key[2] = {1, 2}, out[4];
        glow_philox4x32_10(ctr, key, out);
        assert_int_equal(glow_rng_bits(r, i), out[i % 4]);
        float u = glow_rng_uniform(r, i);
        assert_true(u == (float)(out[i % 4] >> 8) / 16777216.0f);
        assert_true(u >= 0.0f && u < 1.0f);
    }
}

/* Normals: Box-Muller on lane pairs; the mean and variance of 200k draws
 * must be within 5 standard errors of 0 and 1. */
static void test_normal_moments(void **state)
{
    (void)state;
    glow_rng r = {12345, GLOW_STREAM_TEST, 3, 0};
    const int n = 200000;
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        double x = glow_rng_normal(r, (uint64_t)i);
        assert_true(isfinite(x));
        s += x;
        s2 += x * x;
    }
    double mean = s / n, var = s2 / n - mean * mean;
    assert_true(fabs(mean) < 5.0 / sqrt(n));
    assert_true(fabs(var - 1.0) < 5.0 * sqrt(2.0 / n));
}

/* Different streams and counters give different numbers. */
static void test_streams_differ(void **state)
{
    (void)state;
    glow_rng a = {1, 1, 0, 0}, b = {1, 2, 0, 0}, c = {1, 1, 1, 0};
    int same_ab = 0, same_ac = 0;
    for (uint64_t i = 0; i < 256; i++) {
        same_ab += glow_rng_bits(a, i) == glow_rng_bits(b, i);
        same_ac += glow_rng_bits(a, i) == glow_rng_bits(c, i);
    }
    assert_true(same_ab < 2 && same_ac < 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_element_mapping),
        cmocka_unit_test(test_normal_moments),
        cmocka_unit_test(test_streams_differ),
    };
    return cmocka_run_group_tests_name("philox", tests, NULL, NULL);
}
