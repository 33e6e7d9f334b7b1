/* `glow-vk bench --config` parsing (src/app/bench_config.h): the named
 * configurations, L,K,F,C,H,W in field order, and every malformed or
 * out-of-range text refused with a message naming --config and the problem. */
#include <string.h>

#include "bench_config.h"
#include "test_util.h"

typedef struct {
    glow_model_config cfg;
    char name[16], err[256];
    int batch;
} parsed;

static int parse(const char *text, parsed *p)
{
    memset(p, 0, sizeof *p);
    return bench_parse_config(text, 5, &p->cfg, p->name, sizeof p->name, &p->batch, p->err, sizeof p->err);
}

static void assert_config(const glow_model_config *c, int in_c, int in_h, int in_w, int levels, int steps, int hidden)
{
    assert_int_equal(c->in_c, in_c);
    assert_int_equal(c->in_h, in_h);
    assert_int_equal(c->in_w, in_w);
    assert_int_equal(c->levels, levels);
    assert_int_equal(c->steps, steps);
    assert_int_equal(c->hidden, hidden);
    assert_int_equal(c->n_bits, 5);
}

static void test_named(void **state)
{
    (void)state;
    parsed p;
    assert_int_equal(parse("small", &p), 1);
    assert_config(&p.cfg, 1, 32, 32, 3, 8, 128);
    assert_int_equal(p.batch, 32);
    assert_string_equal(p.name, "small");
    assert_int_equal(parse("report", &p), 1);
    assert_config(&p.cfg, 1, 32, 32, 3, 16, 512);
    assert_int_equal(p.batch, 16);
    assert_string_equal(p.name, "report");
}

static void test_fields_in_order(void **state)
{
    (void)state;
    parsed p;
    assert_int_equal(parse("3,8,128,3,64,64", &p), 1);
    assert_config(&p.cfg, 3, 64, 64, 3, 8, 128);
    assert_int_equal(p.batch, 16);
    assert_string_equal(p.name, "custom");
    assert_int_equal(parse("7,2,16,1,128,256", &p), 1); /* 128 = 2^7: the largest L of 128x256 */
    assert_config(&p.cfg, 1, 128, 256, 7, 2, 16);
    assert_int_equal(parse("1,1,1,64,2,2", &p), 1);
    assert_config(&p.cfg, 64, 2, 2, 1, 1, 1);
}

static void refused(const char *text, const char *what)
{
    parsed p;
    assert_int_equal(parse(text, &p), 0);
    assert_non_null(strstr(p.err, "--config"));
    if (strstr(p.err, what) == NULL)
        fail_msg("'%s': message '%s' does not say '%s'", text, p.err, what);
}

static void test_refused(void **state)
{
    (void)state;
    const char *const malformed[] = {"", "tiny", "3,8", "3,8,128,3,64", "3,8,128,3,64,64,1", "3,8,128,3,64,64,",
                                     ",3,8,128,3,64,64", "3,8,,3,64,64", "3,8,128,3,64,-64", "+3,8,128,3,64,64",
                                     " 3,8,128,3,64,64", "3,8,128,3,64,64 ", "3,8,128,3,64,6x", "3;8;128;3;64;64",
                                     "3,8,128,3,64,1234567890", "3.0,8,128,3,64,64"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        refused(malformed[i], "is not small, report or L,K,F,C,H,W");
    refused("0,8,128,3,64,64", "L = 0 is out of range [1, 16]");
    refused("3,0,128,3,64,64", "K = 0 is out of range");
    refused("3,8,5000,3,64,64", "F = 5000 is out of range [1, 4096]");
    refused("3,8,128,65,64,64", "C = 65 is out of range [1, 64]");
    refused("3,8,128,3,0,64", "H = 0 is out of range");
    refused("3,8,128,3,64,8192", "W = 8192 is out of range");
    refused("7,8,128,3,64,64", "L = 7 is too large for 64x64 images: every level halves them, so the largest "
                               "valid L is 6");
    refused("3,8,128,3,64,20", "largest valid L is 2"); /* 20 = 4 * 5 */
    refused("1,8,128,3,63,64", "H and W must be even");
}

static void test_largest_levels(void **state)
{
    (void)state;
    assert_int_equal(bench_largest_levels(32, 32), 5);
    assert_int_equal(bench_largest_levels(256, 256), 8);
    assert_int_equal(bench_largest_levels(64, 48), 4);
    assert_int_equal(bench_largest_levels(7, 8), 0);
    assert_int_equal(bench_largest_levels(0, 8), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named),
        cmocka_unit_test(test_fields_in_order),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_largest_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
