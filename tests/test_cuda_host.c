/* Host-side logic of the CUDA backend that runs without a GPU.
 *
 * lu_weight(inverse) of a singular weight: the CUDA backend reads sign and log_s back
 * and refuses the inverse when cu_lu_zero_pivot (backends/cuda/cuda_lu_pivot.h) finds
 * a zero on U's diagonal. Here that function is compiled into the test and run
 * against the CPU reference on the same parameters: for every case the reference
 * answers GLOW_ERR_NONFINITE naming U[i][i] exactly when cu_lu_zero_pivot returns i,
 * and GLOW_OK when it returns -1. Cases: a regular weight, sign 0, log_s = -inf,
 * log_s = -800 (exp underflows to 0 in double), log_s = -80 (tiny but not 0), NaN
 * (not 0: both let it through), and the first of two zeros.
 *
 * The GEMMs' precision (backends/cuda/cuda_precision.h), decided at open from
 * --precision, the device's compute capability and the module code it runs, is
 * run here with made-up values: TF32 tensor cores only for tf32 on 8.0 and later
 * with code built for them, and the text the backend reports says which, and why
 * not when tf32 was asked for.
 *
 * The other host-side rules (the device made current for every entry, a launch check
 * right after every kernel) are checked on the source by tests/cuda_source_check.py;
 * what they do at run time needs a GPU (tools/gpu-check.sh). */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backends/cuda/cuda_lu_pivot.h"
#include "../backends/cuda/cuda_precision.h"

enum { C = 5 };

static void check_case(glow_backend *cpu, const char *what, const float *sign, const float *log_s)
{
    float *lower = tu_random(C * C, 1, -0.3f, 0.3f), *upper = tu_random(C * C, 2, -0.3f, 0.3f);
    float perm[C * C] = {0};
    for (int i = 0; i < C; i++)
        perm[i * C + (i + 2) % C] = 1.0f;
    glow_tensor tl = tu_tensor(cpu, C, 1, 1, C, lower), tu = tu_tensor(cpu, C, 1, 1, C, upper);
    glow_tensor ts = tu_tensor(cpu, 1, 1, 1, C, sign), tls = tu_tensor(cpu, 1, 1, 1, C, log_s);
    glow_tensor tp = tu_tensor(cpu, C, 1, 1, C, perm), tw = tu_tensor(cpu, C, 1, 1, C, NULL);
    glow_clear_error();
    glow_status st = glow_lu_weight(cpu, tl, tu, tls, ts, tp, tw, 1);
    int pivot = cu_lu_zero_pivot(sign, log_s, C);
    print_message("%s: reference %s (%s), cu_lu_zero_pivot %d\n", what, glow_status_name(st), glow_last_error(),
                  pivot);
    if (pivot < 0) {
        if (st != GLOW_OK)
            fail_msg("%s: the reference refused (%s) what the CUDA check lets through", what, glow_last_error());
    } else {
        char want[32];
        snprintf(want, sizeof want, "U[%d][%d] = 0", pivot, pivot);
        if (st != GLOW_ERR_NONFINITE || strstr(glow_last_error(), want) == NULL)
            fail_msg("%s: the CUDA check finds %s, the reference answered %s: %s", what, want, glow_status_name(st),
                     glow_last_error());
    }
    glow_tensor all[6] = {tl, tu, ts, tls, tp, tw};
    for (int i = 0; i < 6; i++)
        tu_tensor_free(all[i]);
    free(lower);
    free(upper);
}

static void test_singular_inverse_matches_reference(void **state)
{
    glow_backend *cpu = *state;
    const float ones[C] = {1, -1, 1, 1, -1}, zeros[C] = {0.1f, -0.2f, 0.3f, 0.0f, -0.4f};
    float sign[C], log_s[C];
#define RESET() (memcpy(sign, ones, sizeof sign), memcpy(log_s, zeros, sizeof log_s))
    RESET();
    check_case(cpu, "regular", sign, log_s);
    RESET();
    sign[2] = 0.0f;
    check_case(cpu, "sign[2] = 0", sign, log_s);
    RESET();
    log_s[3] = -INFINITY;
    check_case(cpu, "log_s[3] = -inf", sign, log_s);
    RESET();
    log_s[1] = -800.0f;
    check_case(cpu, "log_s[1] = -800", sign, log_s);
    RESET();
    log_s[0] = -80.0f;
    check_case(cpu, "log_s[0] = -80", sign, log_s);
    RESET();
    log_s[4] = NAN;
    check_case(cpu, "log_s[4] = NaN", sign, log_s);
    RESET();
    sign[4] = 0.0f;
    log_s[1] = -INFINITY;
    check_case(cpu, "zeros at 1 and 4", sign, log_s);
#undef RESET
    /* The function itself: indices as documented. */
    const float s3[3] = {1, 1, 1}, l3[3] = {0, 0, -INFINITY};
    assert_int_equal(cu_lu_zero_pivot(s3, l3, 3), 2);
    assert_int_equal(cu_lu_zero_pivot(s3, l3, 2), -1);
}

static void test_tf32_selection(void **state)
{
    (void)state;
    /* code: the PTX version of the module code the device runs (80/90: sm_80/sm_90 SASS or
     * compute_80 PTX JIT-compiled on newer GPUs; 75: the compute_75 PTX, without mma). */
    static const struct {
        int major, minor, code;
        glow_precision asked;
        int tf32;
        const char *text;
    } cases[] = {
        {7, 0, 75, GLOW_PRECISION_TF32, 0, "fp32 (tf32 asked; compute capability 7.0 has no TF32 tensor cores)"},
        {7, 5, 75, GLOW_PRECISION_TF32, 0, "fp32 (tf32 asked; compute capability 7.5 has no TF32 tensor cores)"},
        {6, 1, 75, GLOW_PRECISION_FP32, 0, "fp32"},
        {8, 0, 80, GLOW_PRECISION_TF32, 1, "tf32 (tensor cores)"},
        {8, 0, 80, GLOW_PRECISION_FP32, 0, "fp32"},
        {8, 6, 80, GLOW_PRECISION_TF32, 1, "tf32 (tensor cores)"},
        {8, 9, 80, GLOW_PRECISION_TF32, 1, "tf32 (tensor cores)"},
        {9, 0, 90, GLOW_PRECISION_TF32, 1, "tf32 (tensor cores)"},
        {9, 0, 90, GLOW_PRECISION_FP32, 0, "fp32"},
        {12, 0, 80, GLOW_PRECISION_TF32, 1, "tf32 (tensor cores)"},
        {12, 0, 75, GLOW_PRECISION_TF32, 0,
         "fp32 (tf32 asked; the module's code for this device is compute_75, without mma)"},
        {8, 0, 0, GLOW_PRECISION_TF32, 0,
         "fp32 (tf32 asked; the module's code for this device could not be identified)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[96];
        int got = cu_use_tf32(cases[i].major, cases[i].minor, cases[i].code, cases[i].asked);
        cu_precision_text(cases[i].major, cases[i].minor, cases[i].code, cases[i].asked, text, sizeof text);
        print_message("cc %d.%d, code %d, %s: tf32 %d, \"%s\"\n", cases[i].major, cases[i].minor, cases[i].code,
                      glow_precision_name(cases[i].asked), got, text);
        if (got != cases[i].tf32 || strcmp(text, cases[i].text) != 0)
            fail_msg("cc %d.%d code %d asked %s: tf32 %d \"%s\", expected %d \"%s\"", cases[i].major,
                     cases[i].minor, cases[i].code, glow_precision_name(cases[i].asked), got, text, cases[i].tf32,
                     cases[i].text);
    }
    /* The longest text fits glow_device_info.precision. */
    glow_device_info info;
    cu_precision_text(12, 0, 75, GLOW_PRECISION_TF32, info.precision, sizeof info.precision);
    assert_int_equal(strlen(info.precision), strlen(cases[10].text));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_singular_inverse_matches_reference),
        cmocka_unit_test(test_tf32_selection),
    };
    return tu_exit_status(cmocka_run_group_tests(tests, tu_setup_cpu, tu_teardown_backend));
}
