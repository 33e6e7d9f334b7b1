/* The Vulkan backend's internal layers, through its internal headers:
 *   - every dispatch is checked against the interface reflected from the shader's
 *     SPIR-V (tools/embed_spirv.py): push-constant size, binding count, descriptor
 *     type, writes to read-only bindings, unset specialization constants; each
 *     mismatch is GLOW_ERR_INVALID_ARG naming the shader, and nothing is recorded;
 *   - the reflected table itself matches what the shaders declare (fill.comp: one
 *     writable storage buffer, a 12-byte push block, constant_id 0);
 *   - the hazard tracker works on byte ranges (vk_ranges_overlap, vk_bind_tensor): dispatches
 *     writing disjoint ranges of one buffer get no barrier, overlapping ones one, and the
 *     results are right with the synchronization validation layer on;
 *   - buffer frees are deferred: a buffer freed while recorded work still uses it
 *     stays allocated (and counted) without a submission, and is released when that
 *     work has run (vk_memory.c, vk_command.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "glow/ops.h"
#include "glow/vulkan.h"
#include "test_util.h"
#include "vk_launch.h"

static glow_backend *g_vk;

static int setup(void **state)
{
    (void)state;
    setenv("GLOW_VK_VALIDATION", "1", 0);
    if (glow_backend_open("vulkan", -1, &g_vk) != GLOW_OK)
        g_vk = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_vk)
        glow_backend_close(g_vk);
    return 0;
}

static uint64_t dispatches(void)
{
    glow_vulkan_counts c;
    assert_int_equal(glow_vulkan_command_counts(g_vk, &c), 0);
    return c.dispatches;
}

static uint64_t submits(void)
{
    glow_vulkan_counts c;
    assert_int_equal(glow_vulkan_command_counts(g_vk, &c), 0);
    return c.submits;
}

/* st must be GLOW_ERR_INVALID_ARG with a message naming the shader and `what`. */
static void expect_mismatch(glow_status st, const char *shader, const char *what)
{
    const char *msg = glow_last_error();
    if (st != GLOW_ERR_INVALID_ARG)
        fail_msg("%s: expected a refusal, got '%s' (%s)", what, glow_status_name(st), msg);
    char quoted[64];
    snprintf(quoted, sizeof quoted, "'%s'", shader);
    if (strstr(msg, quoted) == NULL || strstr(msg, what) == NULL)
        fail_msg("message does not name %s and '%s': %s", quoted, what, msg);
    glow_clear_error();
}

static void test_reflected_table(void **state)
{
    (void)state;
    const vk_shader_module *m = &vk_shader_modules[VK_SHADER_FILL];
    assert_string_equal(m->name, "fill");
    assert_int_equal(m->n_bindings, 1);
    assert_int_equal(m->binding_type[0], VK_SHADER_BIND_STORAGE);
    assert_int_equal(m->readonly_mask, 0);
    assert_int_equal(m->push_bytes, 12); /* uint off, count; float value */
    assert_int_equal(m->spec_mask, 1);
    /* x, w and bias as readonly storage texel buffers (imageBuffer), y a written storage buffer */
    const vk_shader_module *t = &vk_shader_modules[VK_SHADER_CONV2D_FORWARD_TEXEL_A4B4];
    assert_string_equal(t->name, "conv2d_forward_texel_a4b4");
    assert_int_equal(t->n_bindings, 4);
    assert_int_equal(t->binding_type[0], VK_SHADER_BIND_STORAGE_TEXEL);
    assert_int_equal(t->binding_type[1], VK_SHADER_BIND_STORAGE_TEXEL);
    assert_int_equal(t->binding_type[2], VK_SHADER_BIND_STORAGE_TEXEL);
    assert_int_equal(t->binding_type[3], VK_SHADER_BIND_STORAGE);
    assert_int_equal(t->readonly_mask, 0x7);
    assert_int_equal(t->push_bytes, 64); /* ConvPush */
    for (int i = 0; i < VK_SHADER_COUNT; i++)
        assert_true(vk_shader_modules[i].code != NULL && vk_shader_modules[i].bytes > 20);
}

typedef struct {
    uint32_t off, count;
    float value;
} fill_push;

static void test_dispatch_checked_against_the_shader(void **state)
{
    (void)state;
    tu_require(g_vk != NULL, "a Vulkan device");
    vk_context *vk = vk_ctx(g_vk);
    glow_buffer *buf = NULL;
    TU_OK(glow_buffer_create(g_vk, 64 * sizeof(float), &buf));
    fill_push pc = {0, 64, 2.5f};
    const uint32_t wg[1] = {64};
    uint64_t before = dispatches();

    /* the host's push struct is 4 bytes short */
    vk_binding b[2] = {vk_bind(buf, 1), vk_bind(buf, 0)};
    expect_mismatch(vk_launch(vk, VK_SHADER_FILL, b, 1, &pc, 8, wg, 1, 1, 1, 1), "fill", "push-constant");
    /* one binding too many */
    expect_mismatch(vk_launch(vk, VK_SHADER_FILL, b, 2, &pc, sizeof pc, wg, 1, 1, 1, 1), "fill", "bindings");
    /* a texel view where the shader declares a storage buffer */
    vk_binding texel = {buf, VK_BIND_TEXEL_R32F, 1, 0, 0};
    expect_mismatch(vk_launch(vk, VK_SHADER_FILL, &texel, 1, &pc, sizeof pc, wg, 1, 1, 1, 1), "fill",
                    "texel buffer");
    /* constant_id 0 (the workgroup size) left unset */
    expect_mismatch(vk_launch(vk, VK_SHADER_FILL, b, 1, &pc, sizeof pc, NULL, 0, 1, 1, 1), "fill",
                    "specialization");
    /* a write to relu_backward's y, which the shader declares readonly */
    struct {
        uint32_t y_off, dy_off, count;
    } relu = {0, 0, 64};
    vk_binding rb[2] = {vk_bind(buf, 1), vk_bind(buf, 1)};
    expect_mismatch(vk_launch(vk, VK_SHADER_RELU_BACKWARD, rb, 2, &relu, sizeof relu, wg, 1, 1, 1, 1),
                    "relu_backward", "readonly");
    assert_int_equal(dispatches(), before);

    /* and the matching call runs */
    TU_OK(vk_launch(vk, VK_SHADER_FILL, b, 1, &pc, sizeof pc, wg, 1, 1, 1, 1));
    assert_int_equal(dispatches(), before + 1);
    float got[64];
    TU_OK(glow_download(buf, 0, got, sizeof got));
    for (int i = 0; i < 64; i++)
        assert_true(got[i] == 2.5f);
    glow_buffer_destroy(buf);
    assert_int_equal(glow_vulkan_validation_errors(g_vk), 0);
}

static void test_free_waits_for_recorded_work(void **state)
{
    (void)state;
    tu_require(g_vk != NULL, "a Vulkan device");
    enum { W = 64, C = 64 };
    glow_buffer *src = NULL, *dst = NULL;
    TU_OK(glow_buffer_create(g_vk, W * C * sizeof(float), &src));
    TU_OK(glow_buffer_create(g_vk, W * C * sizeof(float), &dst));
    glow_tensor a = glow_tensor_make(src, 0, 1, 1, W, C), b = glow_tensor_make(dst, 0, 1, 1, W, C);
    TU_OK(glow_sync(g_vk));
    size_t held = 0, after_free = 0, after_sync = 0, peak = 0;
    uint64_t submits_before = submits();

    /* recorded, not yet submitted: fill src, copy it into dst */
    TU_OK(glow_fill(g_vk, a, 1.5f));
    TU_OK(glow_copy_channels(g_vk, a, 0, b, 0, C, 0));
    g_vk->ops->memory_usage(g_vk, &held, &peak);
    glow_buffer_destroy(src);
    g_vk->ops->memory_usage(g_vk, &after_free, &peak);
    if (submits() != submits_before)
        fail_msg("freeing a buffer used by recorded work submitted it (%llu submissions)",
                 (unsigned long long)(submits() - submits_before));
    if (after_free != held)
        fail_msg("a buffer still used by recorded work was released at once (%zu -> %zu bytes held)", held,
                 after_free);

    TU_OK(glow_sync(g_vk));
    g_vk->ops->memory_usage(g_vk, &after_sync, &peak);
    if (after_sync != held - W * C * sizeof(float))
        fail_msg("after the work ran, %zu bytes are held, expected %zu", after_sync, held - W * C * sizeof(float));
    float got[W * C];
    TU_OK(glow_tensor_download(b, got));
    for (int i = 0; i < W * C; i++)
        if (got[i] != 1.5f)
            fail_msg("element %d of the copy is %g, expected 1.5", i, (double)got[i]);

    /* a buffer no recorded work uses goes at once */
    glow_buffer *idle = NULL;
    TU_OK(glow_buffer_create(g_vk, 4096, &idle));
    g_vk->ops->memory_usage(g_vk, &held, &peak);
    glow_buffer_destroy(idle);
    g_vk->ops->memory_usage(g_vk, &after_free, &peak);
    assert_int_equal(after_free, held - 4096);
    glow_buffer_destroy(dst);
    assert_int_equal(glow_vulkan_validation_errors(g_vk), 0);
}

static uint64_t barriers(void)
{
    glow_vulkan_counts c;
    assert_int_equal(glow_vulkan_command_counts(g_vk, &c), 0);
    return c.barriers;
}

/* Half-open byte intervals: touching ends do not overlap, any shared byte does. */
static void test_range_overlap(void **state)
{
    (void)state;
    assert_false(vk_ranges_overlap(0, 16, 16, 32));
    assert_false(vk_ranges_overlap(16, 32, 0, 16));
    assert_true(vk_ranges_overlap(0, 17, 16, 32));
    assert_true(vk_ranges_overlap(16, 32, 31, 64));
    assert_true(vk_ranges_overlap(0, 64, 8, 16));   /* containment, both ways */
    assert_true(vk_ranges_overlap(8, 16, 0, 64));
    assert_true(vk_ranges_overlap(0, VK_WHOLE_SIZE, 4096, 4100)); /* a whole-buffer binding */
    assert_false(vk_ranges_overlap(0, 0, 0, 16));   /* empty */
}

/* Fills of tensors in one buffer: disjoint ranges need no barrier between them (WAW on other
 * bytes), a fill that overlaps an earlier one does (WAW), and so does a read of a written
 * range (RAW); a copy from another part of the buffer than the one written does not. The values
 * are checked and the synchronization validation layer must stay silent. */
static void test_barriers_by_range(void **state)
{
    (void)state;
    tu_require(g_vk != NULL, "a Vulkan device");
    enum { N = 4096 }; /* floats per tensor: 16 KiB, a multiple of any storage offset alignment */
    glow_buffer *buf = NULL;
    TU_OK(glow_buffer_create(g_vk, 4 * N * sizeof(float), &buf));
    glow_tensor t[4];
    for (int i = 0; i < 4; i++)
        t[i] = glow_tensor_make(buf, (size_t)i * N, 1, 1, 1, N);
    glow_tensor overlap = glow_tensor_make(buf, N / 2, 1, 1, 1, N); /* half of t[0], half of t[1] */
    TU_OK(glow_sync(g_vk));
    const int errors_before = glow_vulkan_validation_errors(g_vk);

    uint64_t b0 = barriers(), d0 = dispatches();
    for (int i = 0; i < 4; i++)
        TU_OK(glow_fill(g_vk, t[i], (float)(i + 1)));
    if (dispatches() - d0 != 4 || barriers() - b0 != 0)
        fail_msg("4 fills of disjoint ranges of one buffer: %llu dispatches, %llu barriers (expected 4, 0)",
                 (unsigned long long)(dispatches() - d0), (unsigned long long)(barriers() - b0));
    b0 = barriers();
    TU_OK(glow_fill(g_vk, overlap, 9.0f));
    if (barriers() - b0 != 1)
        fail_msg("a fill overlapping written ranges: %llu barriers (expected 1)", (unsigned long long)(barriers() - b0));
    b0 = barriers();
    TU_OK(glow_copy_channels(g_vk, t[2], 0, t[3], 0, N, 1)); /* t3 += t2: t2 and t3 untouched since the barrier */
    if (barriers() - b0 != 0)
        fail_msg("a copy between ranges no dispatch since the last barrier wrote: %llu barriers (expected 0)",
                 (unsigned long long)(barriers() - b0));
    b0 = barriers();
    TU_OK(glow_copy_channels(g_vk, t[3], 0, t[1], 0, N, 0)); /* reads t3 just written: RAW */
    if (barriers() - b0 != 1)
        fail_msg("a copy reading a just-written range: %llu barriers (expected 1)", (unsigned long long)(barriers() - b0));

    float *got = malloc(4 * N * sizeof(float));
    assert_non_null(got);
    TU_OK(glow_download(buf, 0, got, 4 * N * sizeof(float)));
    for (int i = 0; i < 4 * N; i++) {
        float want = i < N / 2 ? 1.0f : i < N ? 9.0f : i < 2 * N ? 7.0f : i < 3 * N ? 3.0f : 7.0f;
        if (got[i] != want)
            fail_msg("element %d is %g, expected %g", i, (double)got[i], (double)want);
    }
    free(got);
    glow_buffer_destroy(buf);
    assert_int_equal(glow_vulkan_validation_errors(g_vk) - errors_before, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reflected_table),
        cmocka_unit_test(test_dispatch_checked_against_the_shader),
        cmocka_unit_test(test_free_waits_for_recorded_work),
        cmocka_unit_test(test_range_overlap),
        cmocka_unit_test(test_barriers_by_range),
    };
    return cmocka_run_group_tests_name("vk_layers", tests, setup, teardown);
}
