/* Random fills and dequantisation (glow/backend.h, glow/rng.h) on the CPU reference:
 *   rng_uniform / rng_normal: out[i] = glow_rng_uniform / glow_rng_normal(rng, i),
 *   dequantize: x[i] = floor(pixel[i] / 2^(8-b)) / 2^b - 0.5 + uniform(rng, i) / 2^b. */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 37 elements (not a multiple of the 4 Philox lanes) at element offset 3 of a buffer of
 * 48 floats: element i of the tensor is draw i, and the floats around it stay untouched. */
enum { FILL_OFF = 3, FILL_COUNT = 37, FILL_BUFFER = 48 };
#define FILL_SENTINEL (-7777.0f)

static void check_fill(glow_backend *be, int normal)
{
    glow_buffer *buf = NULL;
    TU_OK(glow_buffer_create(be, FILL_BUFFER * sizeof(float), &buf));
    float all[FILL_BUFFER];
    for (int i = 0; i < FILL_BUFFER; i++)
        all[i] = FILL_SENTINEL;
    TU_OK(glow_upload(buf, 0, all, sizeof all));
    glow_tensor out = glow_tensor_make(buf, FILL_OFF, 1, 1, 1, FILL_COUNT);
    glow_rng rng = {0xfedcba9876543210ull, GLOW_STREAM_DEQUANT, 17, 0};
    TU_OK(normal ? glow_rng_fill_normal(be, rng, out) : glow_rng_fill_uniform(be, rng, out));
    TU_OK(glow_download(buf, 0, all, sizeof all));
    for (int i = 0; i < FILL_BUFFER; i++) {
        if (i >= FILL_OFF && i < FILL_OFF + FILL_COUNT) {
            uint64_t k = (uint64_t)(i - FILL_OFF);
            float want = normal ? glow_rng_normal(rng, k) : glow_rng_uniform(rng, k);
            /* bit-exact: the CPU reference evaluates the same function */
            if (memcmp(&all[i], &want, sizeof want) != 0)
                fail_msg("%s draw %d is %.9g, glow/rng.h gives %.9g", normal ? "normal" : "uniform", (int)k,
                         (double)all[i], (double)want);
        } else if (all[i] != FILL_SENTINEL) {
            fail_msg("float %d outside the tensor was written", i);
        }
    }
    glow_buffer_destroy(buf);
}

static void test_uniform_matches_rng(void **state)
{
    check_fill(*state, 0);
}

static void test_normal_matches_rng(void **state)
{
    check_fill(*state, 1);
}

/* ---- dequantisation --------------------------------------------------------------------- */

/* 256 pixels, each value 0..255 exactly once ((37 i + 11) mod 256, 37 odd), at byte offset
 * PIXEL_OFF of the pixel buffer; the bytes before them are 0xAA so that reading from the
 * wrong offset shows. x is (2,4,4,8) = 256 elements. */
enum { PIXEL_OFF = 12, PIXEL_COUNT = 256 };

static void check_dequantize(glow_backend *be, int n_bits)
{
    uint8_t bytes[PIXEL_OFF + PIXEL_COUNT];
    memset(bytes, 0xAA, sizeof bytes);
    for (int i = 0; i < PIXEL_COUNT; i++)
        bytes[PIXEL_OFF + i] = (uint8_t)((37 * i + 11) % 256);
    glow_buffer *pixels = NULL;
    TU_OK(glow_buffer_create(be, sizeof bytes, &pixels));
    TU_OK(glow_upload(pixels, 0, bytes, sizeof bytes));
    glow_tensor x = tu_tensor(be, 2, 4, 4, 8, NULL);
    glow_rng rng = {2024, GLOW_STREAM_DEQUANT, (uint32_t)n_bits, 0};
    TU_OK(glow_dequantize(be, pixels, PIXEL_OFF, n_bits, rng, x));
    float *got = tu_download(x);
    const double bins = ldexp(1.0, n_bits);
    for (int i = 0; i < PIXEL_COUNT; i++) {
        double level = floor(bytes[PIXEL_OFF + i] / ldexp(1.0, 8 - n_bits));
        double want = level / bins - 0.5 + glow_rng_uniform(rng, (uint64_t)i) / bins;
        /* Every term is exact in float (multiples of 2^-32 within [-0.5, 0.5]); only the sums
         * round, each by at most 2^-25 at magnitudes below 0.5: 2^-23 bounds any order. */
        if (!(fabs((double)got[i] - want) <= ldexp(1.0, -23)))
            fail_msg("n_bits=%d: x[%d] = %.9g, formula gives %.9g (pixel %d)", n_bits, i, (double)got[i], want,
                     bytes[PIXEL_OFF + i]);
        if (!(got[i] >= -0.5f && got[i] <= 0.5f))
            fail_msg("n_bits=%d: x[%d] = %.9g is outside [-0.5, 0.5]", n_bits, i, (double)got[i]);
        /* the value lies in the bin of its quantised level: [level/bins - 0.5, (level+1)/bins - 0.5] */
        if (!(got[i] >= level / bins - 0.5 && got[i] <= (level + 1.0) / bins - 0.5))
            fail_msg("n_bits=%d: x[%d] = %.9g is outside the bin of level %g", n_bits, i, (double)got[i], level);
    }
    free(got);
    tu_tensor_free(x);
    glow_buffer_destroy(pixels);
}

static void test_dequantize_8_bits(void **state)
{
    check_dequantize(*state, 8);
}

static void test_dequantize_5_bits(void **state)
{
    check_dequantize(*state, 5);
}

static void test_dequantize_1_bit(void **state)
{
    check_dequantize(*state, 1);
}

/* A draw with first_block = k is the tail of the draw with first_block = 0 from element 4k:
 * how a data-parallel rank draws the noise of its slice of the global batch. */
static void test_first_block_is_an_element_offset(void **state)
{
    glow_backend *be = *state;
    const uint32_t k = 37;
    glow_rng whole = {0x5eedull, GLOW_STREAM_DEQUANT, 9, 0};
    glow_rng tail = {0x5eedull, GLOW_STREAM_DEQUANT, 9, k};
    for (uint64_t i = 0; i < 64; i++) {
        assert_int_equal(glow_rng_bits(tail, i), glow_rng_bits(whole, 4 * k + i));
        assert_true(glow_rng_normal(tail, i) == glow_rng_normal(whole, 4 * k + i));
    }
    /* dequantize of two halves (second with first_block = half/4) == dequantize of the whole */
    uint8_t bytes[PIXEL_COUNT];
    for (int i = 0; i < PIXEL_COUNT; i++)
        bytes[i] = (uint8_t)((53 * i + 7) % 256);
    glow_buffer *pixels = NULL;
    TU_OK(glow_buffer_create(be, sizeof bytes, &pixels));
    TU_OK(glow_upload(pixels, 0, bytes, sizeof bytes));
    glow_tensor all = tu_tensor(be, 2, 4, 4, 8, NULL), lo = tu_tensor(be, 1, 4, 4, 8, NULL),
                hi = tu_tensor(be, 1, 4, 4, 8, NULL);
    const int half = PIXEL_COUNT / 2;
    TU_OK(glow_dequantize(be, pixels, 0, 5, whole, all));
    TU_OK(glow_dequantize(be, pixels, 0, 5, whole, lo));
    glow_rng second = whole;
    second.first_block = (uint32_t)(half / 4);
    TU_OK(glow_dequantize(be, pixels, (size_t)half, 5, second, hi));
    float *a = tu_download(all), *l = tu_download(lo), *h = tu_download(hi);
    for (int i = 0; i < half; i++) {
        assert_true(a[i] == l[i]);
        if (a[half + i] != h[i])
            fail_msg("x[%d]: whole draw %.9g, second half with first_block %d: %.9g", half + i, (double)a[half + i],
                     half / 4, (double)h[i]);
    }
    free(a);
    free(l);
    free(h);
    tu_tensor_free(all);
    tu_tensor_free(lo);
    tu_tensor_free(hi);
    glow_buffer_destroy(pixels);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform_matches_rng),
        cmocka_unit_test(test_normal_matches_rng),
        cmocka_unit_test(test_dequantize_8_bits),
        cmocka_unit_test(test_dequantize_5_bits),
        cmocka_unit_test(test_dequantize_1_bit),
        cmocka_unit_test(test_first_block_is_an_element_offset),
    };
    return cmocka_run_group_tests_name("random", tests, tu_setup_cpu, tu_teardown_backend);
}
