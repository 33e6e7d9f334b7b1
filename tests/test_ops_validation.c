/* The refusals of src/engine/ops.c that protect memory.
 *
 * Every case places its tensors inside one "arena" buffer whose floats hold a
 * known pattern (arena[i] = ARENA_BASE + i); the output tensor is followed by
 * the rest of the arena, which acts as a guard region. A refused op must
 *   - return the expected glow_status,
 *   - leave a message that starts with "<op>:" and names the offending size,
 *   - write nothing: the whole arena, guard included, still holds the pattern.
 * No backend entry runs for a refused call, so these cases hold for any backend;
 * they run on the CPU reference. */
#include "test_util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ARENA_FLOATS = 1024 };
#define ARENA_BASE 1000.0f

typedef struct {
    glow_backend *be;
    glow_buffer *arena;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->be = tu_open_cpu();
    TU_OK(glow_buffer_create(f->be, ARENA_FLOATS * sizeof(float), &f->arena));
    *state = f;
    return 0;
}

/* Before each case: the arena holds the pattern again (a failing case cannot spoil the next). */
static int fill_arena(void **state)
{
    fixture *f = *state;
    float pattern[ARENA_FLOATS];
    for (int i = 0; i < ARENA_FLOATS; i++)
        pattern[i] = ARENA_BASE + (float)i;
    TU_OK(glow_upload(f->arena, 0, pattern, sizeof pattern));
    glow_clear_error();
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    glow_buffer_destroy(f->arena);
    glow_backend_close(f->be);
    free(f);
    return 0;
}

/* A view into the arena at element offset `off`. */
static glow_tensor at(fixture *f, size_t off, int n, int h, int w, int c)
{
    return glow_tensor_make(f->arena, off, n, h, w, c);
}

static void assert_arena_untouched(fixture *f)
{
    float got[ARENA_FLOATS];
    TU_OK(glow_download(f->arena, 0, got, sizeof got));
    for (int i = 0; i < ARENA_FLOATS; i++)
        if (got[i] != ARENA_BASE + (float)i)
            fail_msg("arena element %d was overwritten by a refused op (%g)", i, (double)got[i]);
}

/* st must equal want, and the message must start with "<op>:" and contain
 * every string of the NULL-terminated list `needles` (the offending sizes). */
static void expect_refusal(fixture *f, glow_status st, glow_status want, const char *op, ...)
{
    const char *msg = glow_last_error();
    if (st != want)
        fail_msg("%s: got status '%s' (%s), expected '%s'", op, glow_status_name(st), msg, glow_status_name(want));
    size_t len = strlen(op);
    if (strncmp(msg, op, len) != 0 || msg[len] != ':')
        fail_msg("message does not start with '%s:': %s", op, msg);
    va_list ap;
    va_start(ap, op);
    for (const char *needle = va_arg(ap, const char *); needle; needle = va_arg(ap, const char *))
        if (strstr(msg, needle) == NULL) {
            va_end(ap);
            fail_msg("%s: message does not name '%s': %s", op, needle, msg);
        }
    va_end(ap);
    assert_arena_untouched(f);
    glow_clear_error();
}

/* ---- squeeze / unsqueeze ------------------------------------------------------ */

static void test_squeeze_odd_height(void **state)
{
    fixture *f = *state;
    glow_tensor x = at(f, 0, 1, 3, 4, 1), y = at(f, 16, 1, 1, 2, 4);
    expect_refusal(f, glow_squeeze(f->be, x, y, 0), GLOW_ERR_SHAPE, "squeeze", "H=3", NULL);
}

static void test_squeeze_odd_width(void **state)
{
    fixture *f = *state;
    glow_tensor x = at(f, 0, 1, 4, 5, 1), y = at(f, 32, 1, 2, 2, 4);
    expect_refusal(f, glow_squeeze(f->be, x, y, 0), GLOW_ERR_SHAPE, "squeeze", "W=5", NULL);
}

static void test_unsqueeze_odd_sizes(void **state)
{
    fixture *f = *state;
    /* unsqueeze writes the big tensor x; it sits before the guard. */
    glow_tensor y = at(f, 0, 1, 1, 2, 8), x = at(f, 16, 1, 3, 4, 2);
    expect_refusal(f, glow_unsqueeze(f->be, y, x, 0), GLOW_ERR_SHAPE, "unsqueeze", "H=3", NULL);
    x = at(f, 16, 1, 2, 5, 2);
    expect_refusal(f, glow_unsqueeze(f->be, y, x, 1), GLOW_ERR_SHAPE, "unsqueeze", "W=5", NULL);
}

static void test_squeeze_wrong_output_shape(void **state)
{
    fixture *f = *state;
    /* x (1,4,4,2) needs y (1,2,2,8); a y of 4 channels would be written past its end. */
    glow_tensor x = at(f, 0, 1, 4, 4, 2), y = at(f, 32, 1, 2, 2, 4);
    expect_refusal(f, glow_squeeze(f->be, x, y, 0), GLOW_ERR_SHAPE, "squeeze", "(1,2,2,8)", "(1,2,2,4)", NULL);
}

/* ---- split / concat / copy_channels ------------------------------------------- */

static void test_split_odd_channels(void **state)
{
    fixture *f = *state;
    glow_tensor x = at(f, 0, 1, 2, 2, 5), a = at(f, 20, 1, 2, 2, 2), b = at(f, 28, 1, 2, 2, 3);
    expect_refusal(f, glow_split_channels(f->be, x, a, b), GLOW_ERR_SHAPE, "split", "C=5", NULL);
}

static void test_concat_odd_channels(void **state)
{
    fixture *f = *state;
    glow_tensor a = at(f, 0, 1, 2, 2, 2), b = at(f, 8, 1, 2, 2, 3), x = at(f, 20, 1, 2, 2, 5);
    expect_refusal(f, glow_concat_channels(f->be, a, b, x, 0), GLOW_ERR_SHAPE, "concat", "C=5", NULL);
}

static void test_copy_channels_out_of_range(void **state)
{
    fixture *f = *state;
    glow_tensor src = at(f, 0, 1, 2, 2, 4), dst = at(f, 16, 1, 2, 2, 4);
    /* src channels [2,5) of a C=4 tensor */
    expect_refusal(f, glow_copy_channels(f->be, src, 2, dst, 0, 3, 0), GLOW_ERR_SHAPE, "copy_channels", "[2,5)",
                   "C=4", NULL);
    /* dst channels [3,5) of a C=4 tensor */
    expect_refusal(f, glow_copy_channels(f->be, src, 0, dst, 3, 2, 1), GLOW_ERR_SHAPE, "copy_channels", "[3,5)",
                   NULL);
    /* a negative first channel */
    expect_refusal(f, glow_copy_channels(f->be, src, -1, dst, 0, 2, 0), GLOW_ERR_SHAPE, "copy_channels", "[-1,1)",
                   NULL);
}

static void test_copy_channels_different_pixels(void **state)
{
    fixture *f = *state;
    glow_tensor src = at(f, 0, 1, 2, 3, 2), dst = at(f, 16, 1, 3, 3, 2);
    expect_refusal(f, glow_copy_channels(f->be, src, 0, dst, 0, 2, 0), GLOW_ERR_SHAPE, "copy_channels", "(1,2,3,2)",
                   "(1,3,3,2)", NULL);
}

/* ---- tensors outside their buffer ----------------------------------------------- */

static void test_tensor_past_buffer_end(void **state)
{
    fixture *f = *state;
    glow_buffer *small = NULL;
    TU_OK(glow_buffer_create(f->be, 16 * sizeof(float), &small));
    float pattern[16];
    for (int i = 0; i < 16; i++)
        pattern[i] = (float)i;
    TU_OK(glow_upload(small, 0, pattern, sizeof pattern));
    /* 8 floats from element 10 end at byte (10 + 8) * 4 = 72 > 64 */
    glow_tensor t = glow_tensor_make(small, 10, 1, 1, 1, 8);
    glow_status st = glow_fill(f->be, t, -1.0f);
    float got[16];
    TU_OK(glow_download(small, 0, got, sizeof got));
    glow_buffer_destroy(small);
    expect_refusal(f, st, GLOW_ERR_SHAPE, "fill", "at element 10", "byte 72", "64 bytes", NULL);
    for (int i = 0; i < 16; i++)
        assert_true(got[i] == (float)i);
}

static void test_tensor_offset_overflow(void **state)
{
    fixture *f = *state;
    /* off = 2^62: (off + 8) * 4 wraps size_t to 32 bytes, which a naive end check accepts. */
    size_t off = (size_t)1 << (sizeof(size_t) * 8 - 2);
    char off_text[32];
    snprintf(off_text, sizeof off_text, "%zu", off);
    expect_refusal(f, glow_fill(f->be, at(f, off, 1, 1, 1, 8), 0.0f), GLOW_ERR_SHAPE, "fill", off_text, NULL);
}

static void test_tensor_count_overflow(void **state)
{
    fixture *f = *state;
    /* 65536^4 = 2^64 elements: the count wraps to 0 in size_t. */
    expect_refusal(f, glow_fill(f->be, at(f, 0, 65536, 65536, 65536, 65536), 0.0f), GLOW_ERR_SHAPE, "fill",
                   "(65536,65536,65536,65536)", NULL);
}

static void test_tensor_non_positive_shape(void **state)
{
    fixture *f = *state;
    /* C = -1 would turn into a huge size_t count in a backend loop */
    expect_refusal(f, glow_fill(f->be, at(f, 0, 1, 2, 2, -1), 0.0f), GLOW_ERR_SHAPE, "fill", "(1,2,2,-1)", NULL);
    expect_refusal(f, glow_add_scalar(f->be, at(f, 0, 0, 2, 2, 3), 1.0f), GLOW_ERR_SHAPE, "add_scalar", "(0,2,2,3)",
                   NULL);
}

static void test_elementwise_shape_mismatch(void **state)
{
    fixture *f = *state;
    /* relu_backward writes dy in place over the shape of y */
    glow_tensor y = at(f, 0, 1, 2, 2, 3), dy = at(f, 16, 1, 2, 2, 2);
    expect_refusal(f, glow_relu_backward(f->be, y, dy), GLOW_ERR_SHAPE, "relu_backward", "(1,2,2,3)", "(1,2,2,2)",
                   NULL);
    /* actnorm with a bias of C-1 entries */
    glow_tensor x = at(f, 0, 1, 2, 2, 4), bias = at(f, 20, 1, 1, 1, 3), logs = at(f, 24, 1, 1, 1, 4),
                out = at(f, 32, 1, 2, 2, 4);
    expect_refusal(f, glow_actnorm_forward(f->be, x, bias, logs, out), GLOW_ERR_SHAPE, "actnorm_forward", "'bias'",
                   "3 elements", "expected 4", NULL);
}

static void test_lu_weight_not_square(void **state)
{
    fixture *f = *state;
    /* C=3 factors need a (3,1,1,3) weight; a (3,1,1,2) one would be overrun */
    glow_tensor lower = at(f, 0, 3, 1, 1, 3), upper = at(f, 9, 3, 1, 1, 3), perm = at(f, 18, 3, 1, 1, 3);
    glow_tensor log_s = at(f, 27, 1, 1, 1, 3), sign = at(f, 30, 1, 1, 1, 3), weight = at(f, 40, 3, 1, 1, 2);
    expect_refusal(f, glow_lu_weight(f->be, lower, upper, log_s, sign, perm, weight, 0), GLOW_ERR_SHAPE, "lu_weight",
                   "(3,1,1,3)", "(3,1,1,2)", NULL);
}

static void test_coupling_backward_dh_wrong_shape(void **state)
{
    fixture *f = *state;
    glow_tensor x = at(f, 0, 1, 2, 2, 4), h = at(f, 16, 1, 2, 2, 4), dy = at(f, 32, 1, 2, 2, 4);
    glow_tensor dx = at(f, 48, 1, 2, 2, 4), dh = at(f, 64, 1, 2, 1, 4);
    expect_refusal(f, glow_coupling_backward(f->be, x, h, dy, 1.0f, dx, dh), GLOW_ERR_SHAPE, "coupling_backward",
                   "'dh' (1,2,1,4)", NULL);
}

static void test_tensor_of_another_backend(void **state)
{
    fixture *f = *state;
    glow_backend *other = tu_open_cpu();
    glow_buffer *foreign = NULL;
    TU_OK(glow_buffer_create(other, 64, &foreign));
    glow_tensor y = glow_tensor_make(foreign, 0, 1, 1, 1, 4);
    glow_status st = glow_fill(f->be, y, 0.0f);
    glow_buffer_destroy(foreign);
    glow_backend_close(other);
    expect_refusal(f, st, GLOW_ERR_INVALID_ARG, "fill", "'t'", "another backend", NULL);
}

static void test_partial_overlap(void **state)
{
    fixture *f = *state;
    /* y = x exactly is allowed for actnorm; y shifted by 2 elements overlaps x partially. */
    glow_tensor x = at(f, 0, 1, 2, 2, 2), y = at(f, 2, 1, 2, 2, 2);
    glow_tensor bias = at(f, 100, 1, 1, 1, 2), logs = at(f, 104, 1, 1, 1, 2);
    expect_refusal(f, glow_actnorm_forward(f->be, x, bias, logs, y), GLOW_ERR_INVALID_ARG, "actnorm_forward",
                   "overlap", NULL);
}

/* ---- convolution ----------------------------------------------------------------- */

static void test_conv_mismatched_input_channels(void **state)
{
    fixture *f = *state;
    glow_tensor x = at(f, 0, 1, 3, 3, 4), w = at(f, 64, 2, 3, 3, 3), y = at(f, 200, 1, 3, 3, 2);
    expect_refusal(f, glow_conv2d_forward(f->be, x, w, glow_tensor_none(), y, 0), GLOW_ERR_SHAPE, "conv2d_forward",
                   "Ci=3", "C=4", NULL);
    expect_refusal(f, glow_conv2d_backward_data(f->be, y, w, x), GLOW_ERR_SHAPE, "conv2d_backward_data", "Ci=3",
                   "C=4", NULL);
    expect_refusal(f, glow_conv2d_backward_weight(f->be, x, y, w, glow_tensor_none()), GLOW_ERR_SHAPE,
                   "conv2d_backward_weight", "Ci=3", "C=4", NULL);
}

static void test_conv_mismatched_output_channels(void **state)
{
    fixture *f = *state;
    glow_tensor x = at(f, 0, 1, 3, 3, 4), w = at(f, 64, 3, 1, 1, 4), y = at(f, 200, 1, 3, 3, 2);
    expect_refusal(f, glow_conv2d_forward(f->be, x, w, glow_tensor_none(), y, 1), GLOW_ERR_SHAPE, "conv2d_forward",
                   "Co=3", "C=2", NULL);
    /* bias with the wrong channel count */
    glow_tensor w2 = at(f, 64, 2, 1, 1, 4), bias = at(f, 120, 1, 1, 1, 3);
    expect_refusal(f, glow_conv2d_forward(f->be, x, w2, bias, y, 0), GLOW_ERR_SHAPE, "conv2d_forward", "'bias'",
                   "3 elements", "expected 2", NULL);
}

static void test_conv_kernel_size_two(void **state)
{
    fixture *f = *state;
    glow_tensor x = at(f, 0, 1, 3, 3, 4), w = at(f, 64, 2, 2, 2, 4), y = at(f, 200, 1, 3, 3, 2);
    expect_refusal(f, glow_conv2d_forward(f->be, x, w, glow_tensor_none(), y, 0), GLOW_ERR_SHAPE, "conv2d_forward",
                   "2x2", NULL);
}

/* ---- coupling and prior ------------------------------------------------------------ */

static void test_coupling_h_wrong_channels(void **state)
{
    fixture *f = *state;
    /* C=5: Ca=2, Cb=3, so h needs 2*Cb = 6 channels. */
    glow_tensor x = at(f, 0, 1, 2, 2, 5), h = at(f, 20, 1, 2, 2, 4), y = at(f, 40, 1, 2, 2, 5);
    glow_tensor ld = at(f, 60, 1, 1, 1, 1);
    expect_refusal(f, glow_coupling_forward(f->be, x, h, y, ld), GLOW_ERR_SHAPE, "coupling_forward", "C=5",
                   "6 channels", "got 4", NULL);
    expect_refusal(f, glow_coupling_inverse(f->be, y, h, x), GLOW_ERR_SHAPE, "coupling_inverse", "C=5", "got 4",
                   NULL);
    glow_tensor dy = at(f, 100, 1, 2, 2, 5), dx = at(f, 120, 1, 2, 2, 5), dh = at(f, 140, 1, 2, 2, 4);
    expect_refusal(f, glow_coupling_backward(f->be, x, h, dy, 1.0f, dx, dh), GLOW_ERR_SHAPE, "coupling_backward",
                   "C=5", "got 4", NULL);
}

static void test_coupling_ld_wrong_count(void **state)
{
    fixture *f = *state;
    /* N=2 samples need 2 log-determinants; ld holds 1. */
    glow_tensor x = at(f, 0, 2, 1, 2, 4), h = at(f, 16, 2, 1, 2, 4), y = at(f, 32, 2, 1, 2, 4);
    glow_tensor ld = at(f, 48, 1, 1, 1, 1);
    expect_refusal(f, glow_coupling_forward(f->be, x, h, y, ld), GLOW_ERR_SHAPE, "coupling_forward", "'ld'",
                   "1 elements", "expected 2", NULL);
    expect_refusal(f, glow_coupling_forward(f->be, x, h, y, glow_tensor_none()), GLOW_ERR_INVALID_ARG,
                   "coupling_forward", "'ld'", "missing", NULL);
}

static void test_prior_h_wrong_channels(void **state)
{
    fixture *f = *state;
    /* z with C=3 needs h with 6 channels (mean, logsd). */
    glow_tensor z = at(f, 0, 1, 2, 2, 3), h = at(f, 12, 1, 2, 2, 5), logp = at(f, 40, 1, 1, 1, 1);
    expect_refusal(f, glow_gaussian_logp(f->be, z, h, logp), GLOW_ERR_SHAPE, "gaussian_logp", "C=3", "6 channels",
                   "got 5", NULL);
    glow_rng rng = {1, GLOW_STREAM_SAMPLE, 0, 0};
    expect_refusal(f, glow_gaussian_sample(f->be, h, 1.0f, rng, z), GLOW_ERR_SHAPE, "gaussian_sample", "got 5", NULL);
    glow_tensor dz = at(f, 60, 1, 2, 2, 3), dh = at(f, 80, 1, 2, 2, 5);
    expect_refusal(f, glow_gaussian_logp_backward(f->be, z, h, 1.0f, dz, dh), GLOW_ERR_SHAPE,
                   "gaussian_logp_backward", "got 5", NULL);
}

static void test_prior_logp_wrong_count(void **state)
{
    fixture *f = *state;
    glow_tensor z = at(f, 0, 3, 1, 1, 2), h = at(f, 8, 3, 1, 1, 4), logp = at(f, 40, 1, 1, 1, 2);
    expect_refusal(f, glow_gaussian_logp(f->be, z, h, logp), GLOW_ERR_SHAPE, "gaussian_logp", "'logp'",
                   "2 elements", "expected 3", NULL);
}

/* ---- dequantisation ------------------------------------------------------------------ */

static void test_dequantize_bits_out_of_range(void **state)
{
    fixture *f = *state;
    glow_tensor x = at(f, 0, 1, 2, 2, 3);
    glow_rng rng = {1, GLOW_STREAM_DEQUANT, 0, 0};
    /* the arena doubles as the pixel buffer (its bytes are never read on refusal) */
    expect_refusal(f, glow_dequantize(f->be, f->arena, 64, 0, rng, x), GLOW_ERR_INVALID_ARG, "dequantize",
                   "n_bits=0", NULL);
    expect_refusal(f, glow_dequantize(f->be, f->arena, 64, 9, rng, x), GLOW_ERR_INVALID_ARG, "dequantize",
                   "n_bits=9", NULL);
}

static void test_dequantize_unaligned_pixel_offset(void **state)
{
    fixture *f = *state;
    glow_tensor x = at(f, 0, 1, 2, 2, 3);
    glow_rng rng = {1, GLOW_STREAM_DEQUANT, 0, 0};
    expect_refusal(f, glow_dequantize(f->be, f->arena, 66, 8, rng, x), GLOW_ERR_INVALID_ARG, "dequantize",
                   "offset 66", NULL);
}

static void test_dequantize_pixels_past_buffer(void **state)
{
    fixture *f = *state;
    glow_buffer *pixels = NULL;
    TU_OK(glow_buffer_create(f->be, 64, &pixels));
    glow_rng rng = {1, GLOW_STREAM_DEQUANT, 0, 0};
    glow_tensor x = at(f, 0, 1, 1, 1, 8);
    /* 8 pixels from byte 60 end at byte 68 > 64 */
    expect_refusal(f, glow_dequantize(f->be, pixels, 60, 8, rng, x), GLOW_ERR_SHAPE, "dequantize", "8 pixels",
                   "byte 60", "64 bytes", NULL);
    /* byte offset 2^64 - 4 (a multiple of 4): offset + 8 wraps size_t to 4, which a naive check accepts */
    expect_refusal(f, glow_dequantize(f->be, pixels, SIZE_MAX - 3, 8, rng, x), GLOW_ERR_SHAPE, "dequantize",
                   "8 pixels", NULL);
    glow_buffer_destroy(pixels);
}

/* ---- optimiser ------------------------------------------------------------------------- */

static void test_optimizer_count_mismatch(void **state)
{
    fixture *f = *state;
    glow_adam_params hp = {GLOW_OPT_ADAM, 1e-3f, 0.9f, 0.999f, 1e-8f, 1, 0.0f};
    glow_tensor p = at(f, 0, 1, 1, 1, 10), g = at(f, 10, 1, 1, 1, 9), m = at(f, 20, 1, 1, 1, 10),
                v = at(f, 30, 1, 1, 1, 10);
    expect_refusal(f, glow_optimizer_step(f->be, p, g, m, v, &hp, glow_tensor_none()), GLOW_ERR_SHAPE,
                   "optimizer_step", "'grads'", "9 elements", "expected 10", NULL);
}

static void test_optimizer_clipping_without_sumsq(void **state)
{
    fixture *f = *state;
    glow_adam_params hp = {GLOW_OPT_ADAM, 1e-3f, 0.9f, 0.999f, 1e-8f, 1, 1.0f};
    glow_tensor p = at(f, 0, 1, 1, 1, 10), g = at(f, 10, 1, 1, 1, 10), m = at(f, 20, 1, 1, 1, 10),
                v = at(f, 30, 1, 1, 1, 10);
    expect_refusal(f, glow_optimizer_step(f->be, p, g, m, v, &hp, glow_tensor_none()), GLOW_ERR_INVALID_ARG,
                   "optimizer_step", "'sumsq'", "missing", NULL);
}

/* ---- op table ---------------------------------------------------------------------- */

/* The registry refuses a table with any NULL slot and names the entry: every line of
 * glow/ops.def in turn is left out of a copy of the reference backend's table. */
static void test_op_table_with_a_missing_entry(void **state)
{
    fixture *f = *state;
    TU_OK(glow_backend_ops_check(f->be->ops, "ref"));
    int entries = 0;
#define GLOW_OP(name, ret, params)                                                                    \
    do {                                                                                              \
        glow_backend_ops ops = *f->be->ops;                                                           \
        ops.name = NULL;                                                                              \
        glow_status st = glow_backend_ops_check(&ops, "test");                                        \
        if (st != GLOW_ERR_BACKEND || strstr(glow_last_error(), "'" #name "'") == NULL ||             \
            strncmp(glow_last_error(), "test:", 5) != 0)                                              \
            fail_msg("a table without '%s' gave '%s': %s", #name, glow_status_name(st), glow_last_error()); \
        glow_clear_error();                                                                           \
        entries++;                                                                                    \
    } while (0);
#include "glow/ops.def"
    /* every slot of the struct is one line of the list */
    assert_int_equal((size_t)entries * sizeof(void (*)(void)), sizeof(glow_backend_ops));
}

#define CASE(name) cmocka_unit_test_setup(name, fill_arena)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASE(test_squeeze_odd_height),
        CASE(test_squeeze_odd_width),
        CASE(test_unsqueeze_odd_sizes),
        CASE(test_squeeze_wrong_output_shape),
        CASE(test_split_odd_channels),
        CASE(test_concat_odd_channels),
        CASE(test_copy_channels_out_of_range),
        CASE(test_copy_channels_different_pixels),
        CASE(test_tensor_past_buffer_end),
        CASE(test_tensor_offset_overflow),
        CASE(test_tensor_count_overflow),
        CASE(test_tensor_non_positive_shape),
        CASE(test_tensor_of_another_backend),
        CASE(test_elementwise_shape_mismatch),
        CASE(test_lu_weight_not_square),
        CASE(test_coupling_backward_dh_wrong_shape),
        CASE(test_partial_overlap),
        CASE(test_conv_mismatched_input_channels),
        CASE(test_conv_mismatched_output_channels),
        CASE(test_conv_kernel_size_two),
        CASE(test_coupling_h_wrong_channels),
        CASE(test_coupling_ld_wrong_count),
        CASE(test_prior_h_wrong_channels),
        CASE(test_prior_logp_wrong_count),
        CASE(test_dequantize_bits_out_of_range),
        CASE(test_dequantize_unaligned_pixel_offset),
        CASE(test_dequantize_pixels_past_buffer),
        CASE(test_optimizer_count_mismatch),
        CASE(test_optimizer_clipping_without_sumsq),
        CASE(test_op_table_with_a_missing_entry),
    };
    return cmocka_run_group_tests_name("ops_validation", tests, setup, teardown);
}
