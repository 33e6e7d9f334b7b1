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
 * The GEMM's shared-memory layout (backends/cuda/cuda_gemm_layout.h) is walked
 * warp by warp: every staging store of a warp hits 32 different banks (both
 * operand orders), the mapping covers the 16 x 64 slice once, the fp32 inner
 * loop's 16-byte loads are conflict-free per quarter-warp, and the TF32 fragment
 * loads are at most 2-way. The former layout (2 columns x 16 k a warp, no
 * swizzle) measures 16-way on the same check, so the check can fail.
 *
 * The other host-side rules (the device made current for every entry, a launch check
 * right after every kernel) are checked on the source by tests/cuda_source_check.py;
 * what they do at run time needs a GPU (tools/gpu-check.sh). */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backends/cuda/cuda_gemm_layout.h"
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

/* Largest number of different words of one warp's 32 accesses that share a bank. */
static int bank_conflict_degree(const int words[32])
{
    int worst = 1;
    for (int bank = 0; bank < 32; bank++) {
        int distinct[32], n = 0;
        for (int l = 0; l < 32; l++) {
            if (words[l] % 32 != bank)
                continue;
            int seen = 0;
            for (int j = 0; j < n; j++)
                seen |= distinct[j] == words[l];
            if (!seen)
                distinct[n++] = words[l];
        }
        if (n > worst)
            worst = n;
    }
    return worst;
}

/* The staging stores of a slice: worst conflict over every warp and repetition;
 * `former` uses the layout before the swizzle (k fastest: 2 columns x 16 k a warp). */
static int staging_degree(int k_fastest, int former)
{
    int worst = 0, hits[GEMM_BK * GEMM_BM] = {0};
    for (int r = 0; r < (GEMM_BM * GEMM_BK) / GEMM_THREADS; r++)
        for (int warp = 0; warp < GEMM_THREADS / 32; warp++) {
            int words[32];
            for (int lane = 0; lane < 32; lane++) {
                int e = warp * 32 + lane + r * GEMM_THREADS, col, kq;
                if (former) {
                    col = k_fastest ? e / GEMM_BK : e % GEMM_BM;
                    kq = k_fastest ? e % GEMM_BK : e / GEMM_BM;
                    words[lane] = kq * GEMM_BM + col;
                } else {
                    gemm_stage_index(k_fastest, e, &col, &kq);
                    words[lane] = gemm_word(kq, col);
                }
                hits[words[lane]]++;
            }
            int d = bank_conflict_degree(words);
            if (d > worst)
                worst = d;
        }
    for (int w = 0; w < GEMM_BK * GEMM_BM; w++)
        if (hits[w] != 1)
            fail_msg("staging (k_fastest %d, former %d): word %d written %d times", k_fastest, former, w, hits[w]);
    return worst;
}

static void test_gemm_layout_banks(void **state)
{
    (void)state;
    for (int k_fastest = 0; k_fastest < 2; k_fastest++) {
        int now = staging_degree(k_fastest, 0), former = staging_degree(k_fastest, 1);
        print_message("staging stores, k %s: %d-way (former layout: %d-way)\n", k_fastest ? "fastest" : "slowest",
                      now, former);
        assert_int_equal(now, 1);
        if (k_fastest)
            assert_int_equal(former, 16); /* what the issue measured: the check sees it */
    }
    /* fp32 inner loop: thread t reads 16 bytes at (kq, 4 (t / 16)) of A and (kq, 4 (t % 16)) of B.
     * A 16-byte load is served a quarter-warp (8 lanes) at a time: its different addresses must
     * fall into different 4-bank groups. */
    for (int kq = 0; kq < GEMM_BK; kq++)
        for (int operand = 0; operand < 2; operand++)
            for (int warp = 0; warp < GEMM_THREADS / 32; warp++)
                for (int quarter = 0; quarter < 4; quarter++) {
                    int addr[8], group_used[8] = {0};
                    for (int l = 0; l < 8; l++) {
                        int t = warp * 32 + quarter * 8 + l;
                        int col = operand == 0 ? (t / 16) * 4 : (t % 16) * 4;
                        addr[l] = gemm_word(kq, col);
                        assert_int_equal(addr[l] % 4, 0); /* 16-byte aligned */
                    }
                    for (int l = 0; l < 8; l++) {
                        int dup = 0;
                        for (int j = 0; j < l; j++)
                            dup |= addr[j] == addr[l];
                        if (dup)
                            continue; /* the same address: one broadcast */
                        int group = (addr[l] / 4) % 8;
                        if (group_used[group])
                            fail_msg("fp32 %s load, kq %d, warp %d, quarter %d: two addresses in bank group %d",
                                     operand ? "B" : "A", kq, warp, quarter, group);
                        group_used[group] = 1;
                    }
                }
    /* TF32 fragments: lane (g = l / 4, t = l % 4) reads (kk + t [+ 4], row [+ 8]) with row = base + g. */
    int worst = 0;
    for (int kk = 0; kk < GEMM_BK; kk += 8)
        for (int base = 0; base < GEMM_BM; base += 8)
            for (int dk = 0; dk <= 4; dk += 4) {
                int words[32];
                for (int l = 0; l < 32; l++)
                    words[l] = gemm_word(kk + l % 4 + dk, base + l / 4);
                int d = bank_conflict_degree(words);
                if (d > worst)
                    worst = d;
            }
    print_message("tf32 fragment loads: %d-way at worst\n", worst);
    assert_true(worst <= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_singular_inverse_matches_reference),
        cmocka_unit_test(test_tf32_selection),
        cmocka_unit_test(test_gemm_layout_banks),
    };
    return tu_exit_status(cmocka_run_group_tests(tests, tu_setup_cpu, tu_teardown_backend));
}
