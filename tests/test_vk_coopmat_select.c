/* Choice of the Vulkan cooperative-matrix GEMM shape (backends/vulkan/vk_coopmat.c) from
 * the property lists that vendors' drivers report, fed in by hand: no device needed.
 * Usable: fp16 A/B, fp32 C/result, Subgroup scope, M, N, K in {8, 16}, compute stage,
 * shaderFloat16, vulkanMemoryModel, Vulkan 1.2, enough shared memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "vk_coopmat.h"

#define F16 VK_COOPMAT_FLOAT16
#define F32 VK_COOPMAT_FLOAT32
#define SG VK_COOPMAT_SCOPE_SUBGROUP
/* VkComponentTypeKHR numbers of the integer types the lists below hold. */
#define S8 3u
#define S32 5u
#define U8 7u
#define U32 9u

/* A device with everything the kernels need besides the shape lists. */
static vk_coopmat_device gpu(uint32_t subgroup)
{
    vk_coopmat_device d;
    memset(&d, 0, sizeof d);
    d.khr_compute = d.nv_compute = 1;
    d.shader_float16 = 1;
    d.vulkan_memory_model = 1;
    d.api_1_2 = 1;
    d.subgroup_size = subgroup;
    d.max_shared_bytes = 48 * 1024;
    d.max_workgroup_invocations = 1024;
    return d;
}

/* NVIDIA (Ampere/Ada/Hopper, KHR list of a recent driver, order as reported). */
static const vk_coopmat_shape nvidia_khr[] = {
    {16, 16, 16, F16, F16, F16, F16, 0, SG}, {16, 8, 16, F16, F16, F16, F16, 0, SG},
    {16, 8, 8, F16, F16, F16, F16, 0, SG},   {16, 8, 16, F16, F16, F32, F32, 0, SG},
    {16, 8, 8, F16, F16, F32, F32, 0, SG},   {16, 16, 16, F16, F16, F32, F32, 0, SG},
    {16, 8, 32, U8, U8, U32, U32, 0, SG},    {16, 8, 32, S8, S8, S32, S32, 0, SG},
};
/* NVIDIA's VK_NV_cooperative_matrix list (older drivers expose only this one). */
static const vk_coopmat_shape nvidia_nv[] = {
    {16, 8, 16, F16, F16, F16, F16, 0, SG},
    {16, 8, 8, F16, F16, F16, F16, 0, SG},
    {16, 8, 16, F16, F16, F32, F32, 0, SG},
    {16, 8, 8, F16, F16, F32, F32, 0, SG},
};
/* AMD RDNA3 (RADV / AMDVLK): 16x16x16 only. */
static const vk_coopmat_shape amd_rdna3[] = {
    {16, 16, 16, F16, F16, F16, F16, 0, SG},
    {16, 16, 16, F16, F16, F32, F32, 0, SG},
    {16, 16, 16, S8, S8, S32, S32, 0, SG},
    {16, 16, 16, U8, U8, U32, U32, 0, SG},
};
/* Intel Arc (ANV): 8x8x16, fp32 accumulation. */
static const vk_coopmat_shape intel_arc[] = {
    {8, 8, 16, F16, F16, F32, F32, 0, SG},
    {8, 8, 32, S8, S8, S32, S32, 0, SG},
};

static vk_coopmat_choice pick(const vk_coopmat_device *d, const char *force, int expect)
{
    vk_coopmat_choice c;
    char why[256];
    int ok = vk_coopmat_select(d, force, &c, why, sizeof why);
    if (ok != expect)
        fail_msg("vk_coopmat_select returned %d (%s), expected %d", ok, why, expect);
    if (!ok)
        assert_true(strlen(why) > 0); /* a refusal says why */
    return c;
}

static void assert_shape(const vk_coopmat_choice *c, vk_coopmat_api api, uint32_t m, uint32_t n, uint32_t k)
{
    assert_int_equal(c->api, api);
    assert_int_equal(c->shape.m, m);
    assert_int_equal(c->shape.n, n);
    assert_int_equal(c->shape.k, k);
    assert_int_equal(c->shape.a_type, F16);
    assert_int_equal(c->shape.c_type, F32);
    assert_int_equal(c->shape.result_type, F32);
}

static void test_nvidia_prefers_khr_16x16x16_fp32_accumulate(void **state)
{
    (void)state;
    vk_coopmat_device d = gpu(32);
    d.khr = d.nv = 1;
    d.khr_shapes = nvidia_khr;
    d.n_khr_shapes = 8;
    d.nv_shapes = nvidia_nv;
    d.n_nv_shapes = 4;
    vk_coopmat_choice c = pick(&d, NULL, 1);
    assert_shape(&c, VK_COOPMAT_KHR, 16, 16, 16);
    char desc[64];
    vk_coopmat_describe(&c, desc, sizeof desc);
    assert_string_equal(desc, "KHR 16x16x16 fp16*fp16+fp32");
    /* $GLOW_VK_COOPMAT=nv: the NV list's best fp32-accumulating shape. */
    c = pick(&d, "nv", 1);
    assert_shape(&c, VK_COOPMAT_NV, 16, 8, 16);
    pick(&d, "off", 0);
}

static void test_nvidia_old_driver_nv_only(void **state)
{
    (void)state;
    vk_coopmat_device d = gpu(32);
    d.nv = 1;
    d.nv_shapes = nvidia_nv;
    d.n_nv_shapes = 4;
    vk_coopmat_choice c = pick(&d, NULL, 1);
    assert_shape(&c, VK_COOPMAT_NV, 16, 8, 16);
    pick(&d, "khr", 0);
}

static void test_amd_rdna3_wave32_and_wave64(void **state)
{
    (void)state;
    for (uint32_t sg = 32; sg <= 64; sg *= 2) {
        vk_coopmat_device d = gpu(sg);
        d.khr = 1;
        d.khr_shapes = amd_rdna3;
        d.n_khr_shapes = 4;
        vk_coopmat_choice c = pick(&d, NULL, 1);
        assert_shape(&c, VK_COOPMAT_KHR, 16, 16, 16);
    }
}

static void test_intel_arc_8x8x16(void **state)
{
    (void)state;
    vk_coopmat_device d = gpu(16);
    d.khr = 1;
    d.khr_shapes = intel_arc;
    d.n_khr_shapes = 2;
    vk_coopmat_choice c = pick(&d, NULL, 1);
    assert_shape(&c, VK_COOPMAT_KHR, 8, 8, 16);
}

static void test_no_extension(void **state)
{
    (void)state;
    vk_coopmat_device d = gpu(8); /* lavapipe: neither extension */
    d.shader_float16 = 1;
    pick(&d, NULL, 0);
    vk_coopmat_choice c;
    char why[256];
    vk_coopmat_select(&d, NULL, &c, why, sizeof why);
    assert_non_null(strstr(why, "VK_KHR_cooperative_matrix"));
}

static void test_unusable_lists_and_features(void **state)
{
    (void)state;
    /* fp16 accumulation only, integer only, workgroup scope, 32-wide shapes: none usable. */
    static const vk_coopmat_shape bad[] = {
        {16, 16, 16, F16, F16, F16, F16, 0, SG}, {16, 16, 16, S8, S8, S32, S32, 0, SG},
        {16, 16, 16, F16, F16, F32, F32, 0, 2u}, {32, 32, 16, F16, F16, F32, F32, 0, SG},
        {16, 16, 16, F16, F16, F32, F32, 1, SG},
    };
    vk_coopmat_device d = gpu(32);
    d.khr = 1;
    d.khr_shapes = bad;
    d.n_khr_shapes = 5;
    pick(&d, NULL, 0);

    vk_coopmat_device ok = gpu(32);
    ok.khr = 1;
    ok.khr_shapes = amd_rdna3;
    ok.n_khr_shapes = 4;
    pick(&ok, NULL, 1);
    vk_coopmat_device t = ok;
    t.khr_compute = 0; /* matrices only in other stages */
    pick(&t, NULL, 0);
    t = ok;
    t.shader_float16 = 0;
    pick(&t, NULL, 0);
    t = ok;
    t.vulkan_memory_model = 0;
    pick(&t, NULL, 0);
    t = ok;
    t.api_1_2 = 0;
    pick(&t, NULL, 0);
    t = ok;
    t.max_shared_bytes = 16 * 1024; /* the Vulkan minimum: the largest block needs more */
    pick(&t, NULL, 0);
    t = ok;
    t.subgroup_size = 0;
    pick(&t, NULL, 0);
}

/* The shared-memory need, worked by hand from gemm_coopmat.glsl's layout: the 256 x 16
 * block (threads 256, narrow side 16) with BK = 16 is the largest:
 * A 256*(16+8)*2 + B 16*(16+8)*2 + C 256*16*4 = 12288 + 768 + 16384 = 29440 bytes. */
static void test_shared_bytes(void **state)
{
    (void)state;
    assert_int_equal(vk_coopmat_shared_bytes(256, 16, 16), 29440);
    assert_int_equal(vk_coopmat_max_shared_bytes(256), 29440);
    assert_true(vk_coopmat_max_shared_bytes(128) < 29440);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nvidia_prefers_khr_16x16x16_fp32_accumulate),
        cmocka_unit_test(test_nvidia_old_driver_nv_only),
        cmocka_unit_test(test_amd_rdna3_wave32_and_wave64),
        cmocka_unit_test(test_intel_arc_8x8x16),
        cmocka_unit_test(test_no_extension),
        cmocka_unit_test(test_unusable_lists_and_features),
        cmocka_unit_test(test_shared_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
