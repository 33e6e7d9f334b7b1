/* Every op of glow_backend_ops on every non-CPU backend that opens, against the CPU
 * reference, on the same random inputs.
 *
 * Targets: each device of each non-CPU factory (Vulkan: every physical device; on a
 * CPU-type Vulkan device such as lavapipe both GEMM variants, chosen with
 * $GLOW_VK_GEMM before opening). A backend that cannot list devices is printed as
 * skipped; that fails every test when $GLOW_TEST_REQUIRE names it or when it is
 * present but broken (not GLOW_ERR_UNAVAILABLE). When none opens the suite exits 77.
 *
 * Each case describes its operands (shape, role, value range) and a function that
 * runs the op on a backend. The runner places every operand inside a larger buffer
 * whose GUARD floats before and after hold a sentinel bit pattern, uploads the same
 * data to the CPU reference and to the target, runs the op on both, downloads
 * everything and checks:
 *   - outputs: normalised MSE sum (got - ref)^2 / sum ref^2 <= the operand's
 *     tolerance; for accumulated (+=) or updated outputs (the optimiser's params,
 *     m, v) the NMSE of the increments (value - initial), so that the initial
 *     contents cannot mask an error;
 *   - and the worst element: max |got - ref| <= bound * scale, scale = max |ref|
 *     over the operand (of the increments for accumulated outputs), so that an
 *     error confined to a few elements, or a systematic one below the NMSE bound
 *     (NMSE 1e-6 is 0.1% RMS), cannot pass;
 *   - no output holds NaN or Inf;
 *   - inputs are bit-identical to what was uploaded, and every guard is intact;
 *   - the Vulkan validation layer (on: $GLOW_VK_VALIDATION=1) reported nothing.
 *
 * Tolerances: 1e-10 for pure data movement, 0 (bitwise) for uniform random numbers,
 * 1e-6 for float32 arithmetic (see each case for the few justified exceptions). */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glow/vulkan.h"

/* ---- targets ----------------------------------------------------------------- */

#define MAX_TARGETS 8

typedef struct {
    char label[160];
    glow_backend *be;
} target;

static glow_backend *g_cpu;
static target g_targets[MAX_TARGETS];
static int g_n_targets;

/* Backends whose device listing failed, checked by every test (require_targets). */
typedef struct {
    const char *name;
    glow_status st;
    char reason[400];
} unavailable;
static unavailable g_unavailable[MAX_TARGETS];
static int g_n_unavailable;

static void open_target(const glow_backend_factory *f, int device, const char *gemm, const glow_device_info *info)
{
    if (g_n_targets == MAX_TARGETS)
        return;
    if (gemm)
        setenv("GLOW_VK_GEMM", gemm, 1);
    glow_backend *be = NULL;
    glow_status st = f->open(device, &be);
    if (gemm)
        unsetenv("GLOW_VK_GEMM");
    /* A device that the factory lists must open. */
    if (st != GLOW_OK)
        fail_msg("%s[%d] %s is listed but does not open: %s", f->name, device, info->name, glow_last_error());
    target *t = &g_targets[g_n_targets++];
    t->be = be;
    snprintf(t->label, sizeof t->label, "%s[%d] %.100s%s%s", f->name, device, info->name, gemm ? " gemm=" : "",
             gemm ? gemm : "");
    printf("[ targets  ] %s\n", t->label);
    if (glow_vulkan_validation_enabled(be) == 0) {
        printf("[ note     ] %s: the Vulkan validation layer is not installed: validation is off\n", t->label);
        if (tu_backend_required("vulkan-validation"))
            fail_msg("%s: the Vulkan validation layer is required (GLOW_TEST_REQUIRE=%s) but is off", t->label,
                     getenv("GLOW_TEST_REQUIRE"));
    }
}

/* $GLOW_TEST_BACKENDS (comma-separated names, e.g. "cuda" under compute-sanitizer in
 * tools/gpu-check.sh) limits the targets; unset: every backend. */
static int backend_selected(const char *name)
{
    const char *list = getenv("GLOW_TEST_BACKENDS");
    return list == NULL || *list == '\0' || tu_name_in_list(list, name);
}

static int setup_targets(void **state)
{
    (void)state;
    /* The suite always runs with the validation layer and without the disk cache. */
    setenv("GLOW_VK_VALIDATION", "1", 0);
    setenv("GLOW_VK_PIPELINE_CACHE", "off", 0);
    g_cpu = tu_open_cpu();
    const glow_backend_factory *f[8];
    int n = glow_backend_factories(f, 8);
    for (int i = 0; i < n; i++) {
        if (strcmp(f[i]->name, "ref") == 0 || !backend_selected(f[i]->name))
            continue;
        glow_device_info info[8];
        int count = 0;
        glow_status st = f[i]->list_devices(info, 8, &count);
        if (st != GLOW_OK) {
            if (g_n_unavailable < MAX_TARGETS) {
                unavailable *u = &g_unavailable[g_n_unavailable++];
                u->name = f[i]->name;
                u->st = st;
                snprintf(u->reason, sizeof u->reason, "%s", glow_last_error());
            }
            printf("[ skipped  ] %s: %s\n", f[i]->name, glow_last_error());
            continue;
        }
        for (int d = 0; d < count; d++) {
            int both = strcmp(f[i]->name, "vulkan") == 0 && info[d].type == GLOW_DEVICE_CPU;
            if (both) {
                open_target(f[i], d, "texel", &info[d]);
                open_target(f[i], d, "tiled", &info[d]);
            } else {
                open_target(f[i], d, NULL, &info[d]);
            }
        }
    }
    if (g_n_targets == 0)
        printf("[ skipped  ] no backend other than the CPU reference opens here: nothing to compare\n");
    return 0;
}

static int teardown_targets(void **state)
{
    (void)state;
    for (int i = 0; i < g_n_targets; i++)
        glow_backend_close(g_targets[i].be);
    g_n_targets = 0;
    glow_backend_close(g_cpu);
    return 0;
}

/* Fails when a required ($GLOW_TEST_REQUIRE) or broken backend did not list its devices;
 * skips (exit 77) when nothing but the CPU reference opened. */
static void require_targets(void)
{
    tu_require_factories();
    for (int i = 0; i < g_n_unavailable; i++)
        if (tu_backend_required(g_unavailable[i].name) || g_unavailable[i].st != GLOW_ERR_UNAVAILABLE)
            tu_backend_unavailable(g_unavailable[i].name, g_unavailable[i].st, g_unavailable[i].reason);
    tu_require(g_n_targets > 0, "a non-CPU backend (Vulkan or CUDA)");
}

/* ---- guarded operands ---------------------------------------------------------- */

/* Floats on each side of every operand: 37 (odd, so tensor offsets are unaligned) by
 * default; the conv cases run with 40 too (offsets multiples of 4: the vec4 texel paths). */
#define GUARD_UNALIGNED 37u
#define GUARD_ALIGNED 40u
static size_t g_guard = GUARD_UNALIGNED;
#define GUARD g_guard
#define SENTINEL_BITS 0x7fa5a5a5u /* a NaN no kernel produces */
#define MAX_OPERANDS 12

typedef enum {
    IN,    /* read only: must come back bit-identical */
    OUT,   /* overwritten (or transformed in place): compared directly */
    ACC,   /* accumulated into (+=) or updated in place: the increments are compared */
} role;

typedef struct {
    const char *name;
    int n, h, w, c;
    role role;
    float lo, hi;      /* uniform initial values */
    const float *data; /* or these (count floats), e.g. a permutation matrix */
    double tol;        /* NMSE bound for OUT/ACC; 0 means bit-identical */
} operand;

typedef glow_status (*op_fn)(glow_backend *be, glow_tensor *t, const void *arg);

static size_t operand_count(const operand *o)
{
    return (size_t)o->n * o->h * o->w * o->c;
}

typedef struct {
    glow_buffer *buf[MAX_OPERANDS];
    glow_tensor t[MAX_OPERANDS];
    float *host[MAX_OPERANDS]; /* whole buffers after the op */
} run_result;

static void run_on(glow_backend *be, const operand *ops, int n_ops, float *const *init, op_fn fn, const void *arg,
                   run_result *r)
{
    for (int i = 0; i < n_ops; i++) {
        size_t count = operand_count(&ops[i]);
        size_t total = count + 2 * GUARD;
        float *whole = malloc(total * sizeof(float));
        assert_non_null(whole);
        for (size_t k = 0; k < total; k++) {
            uint32_t s = SENTINEL_BITS;
            memcpy(&whole[k], &s, sizeof s);
        }
        memcpy(whole + GUARD, init[i], count * sizeof(float));
        TU_OK(glow_buffer_create(be, total * sizeof(float), &r->buf[i]));
        TU_OK(glow_upload(r->buf[i], 0, whole, total * sizeof(float)));
        r->t[i] = glow_tensor_make(r->buf[i], GUARD, ops[i].n, ops[i].h, ops[i].w, ops[i].c);
        r->host[i] = whole;
    }
    TU_OK(fn(be, r->t, arg));
    for (int i = 0; i < n_ops; i++) {
        size_t total = operand_count(&ops[i]) + 2 * GUARD;
        TU_OK(glow_download(r->buf[i], 0, r->host[i], total * sizeof(float)));
        glow_buffer_destroy(r->buf[i]);
    }
}

static void free_result(run_result *r, int n_ops)
{
    for (int i = 0; i < n_ops; i++)
        free(r->host[i]);
}

static void check_guards(const char *where, const char *op, const operand *o, const float *whole)
{
    size_t count = operand_count(o);
    for (size_t k = 0; k < GUARD; k++) {
        uint32_t before, after;
        memcpy(&before, &whole[k], sizeof before);
        memcpy(&after, &whole[GUARD + count + k], sizeof after);
        if (before != SENTINEL_BITS || after != SENTINEL_BITS)
            fail_msg("%s: %s: guard of '%s' overwritten (%s, word %zu)", where, op, o->name,
                     before != SENTINEL_BITS ? "before" : "after", k);
    }
}

/* NMSE of the increments got - init against ref - init (in double). */
static double nmse_increment(const float *got, const float *ref, const float *init, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double g = (double)got[i] - (double)init[i], r = (double)ref[i] - (double)init[i];
        num += (g - r) * (g - r);
        den += r * r;
    }
    return den > 0.0 ? num / den : num;
}

/* Worst-element bound of an operand relative to its scale (see the tolerances below). */
static double worst_bound(const operand *o);

/* $GLOW_TEST_REPORT_ERRORS=1 prints every comparison's NMSE and worst relative error
 * (how the tolerances below were chosen). */
static int g_report_errors = -1;

/* Runs `fn` on the CPU and on every target and compares (see the top of the file). */
static void run_case(const char *op, const operand *ops, int n_ops, op_fn fn, const void *arg, uint32_t seed)
{
    assert_true(n_ops <= MAX_OPERANDS);
    float *init[MAX_OPERANDS];
    for (int i = 0; i < n_ops; i++) {
        size_t count = operand_count(&ops[i]);
        init[i] = malloc(count * sizeof(float) + 1);
        assert_non_null(init[i]);
        if (ops[i].data)
            memcpy(init[i], ops[i].data, count * sizeof(float));
        else
            tu_fill_uniform(init[i], count, seed * 131u + (uint32_t)i, ops[i].lo, ops[i].hi);
    }
    run_result ref;
    run_on(g_cpu, ops, n_ops, init, fn, arg, &ref);
    for (int i = 0; i < n_ops; i++) {
        check_guards("ref", op, &ops[i], ref.host[i]);
        if (ops[i].role == IN && memcmp(ref.host[i] + GUARD, init[i], operand_count(&ops[i]) * sizeof(float)) != 0)
            fail_msg("cpu: %s: input '%s' was modified", op, ops[i].name);
    }
    for (int ti = 0; ti < g_n_targets; ti++) {
        target *tg = &g_targets[ti];
        run_result got;
        int messages_before = glow_vulkan_validation_errors(tg->be);
        run_on(tg->be, ops, n_ops, init, fn, arg, &got);
        for (int i = 0; i < n_ops; i++) {
            const operand *o = &ops[i];
            size_t count = operand_count(o);
            const float *g = got.host[i] + GUARD, *r = ref.host[i] + GUARD;
            check_guards(tg->label, op, o, got.host[i]);
            if (o->role == IN) {
                if (memcmp(g, init[i], count * sizeof(float)) != 0)
                    fail_msg("%s: %s: input '%s' was modified", tg->label, op, o->name);
                continue;
            }
            for (size_t k = 0; k < count; k++)
                if (!isfinite(g[k]))
                    fail_msg("%s: %s: '%s'[%zu] is not finite (%g; reference %g)", tg->label, op, o->name, k,
                             (double)g[k], (double)r[k]);
            if (o->tol == 0.0) {
                if (memcmp(g, r, count * sizeof(float)) != 0)
                    fail_msg("%s: %s: '%s' is not bit-identical to the reference (max |diff| %g)", tg->label, op,
                             o->name, tu_max_abs_diff(g, r, count));
                continue;
            }
            double e = o->role == ACC ? nmse_increment(g, r, init[i], count) : tu_nmse(g, r, count);
            double worst, scale;
            tu_worst_error(g, r, o->role == ACC ? init[i] : NULL, count, &worst, &scale);
            double rel = scale > 0.0 ? worst / scale : worst, bound = worst_bound(o);
            if (g_report_errors < 0)
                g_report_errors = getenv("GLOW_TEST_REPORT_ERRORS") && strcmp(getenv("GLOW_TEST_REPORT_ERRORS"), "1") == 0;
            if (g_report_errors)
                printf("[ error    ] %s: %s: '%s' NMSE %.3g worst %.3g of scale %.3g\n", tg->label, op, o->name, e,
                       rel, scale);
            if (!(e <= o->tol))
                fail_msg("%s: %s: '%s' NMSE %.3g > %.3g (max |diff| %.3g)", tg->label, op, o->name, e, o->tol,
                         worst);
            if (!(rel <= bound))
                fail_msg("%s: %s: '%s' worst element off by %.3g of the scale %.3g (> %.3g; NMSE %.3g)", tg->label,
                         op, o->name, rel, scale, bound, e);
        }
        int v = glow_vulkan_validation_errors(tg->be) - messages_before;
        if (v > 0)
            fail_msg("%s: %s: %d Vulkan validation message(s) (printed above)", tg->label, op, v);
        free_result(&got, n_ops);
    }
    free_result(&ref, n_ops);
    for (int i = 0; i < n_ops; i++)
        free(init[i]);
}

/* Tolerances (normalised MSE). */
#define TOL_MOVE 1e-10 /* pure data movement: any real error is O(1) */
#define TOL_F32 1e-6   /* float32 arithmetic: rounding differences are ~1e-14..1e-12 */

/* Worst-element bounds, relative to the operand's scale (max |reference|), from
 * GLOW_TEST_REPORT_ERRORS=1 on lavapipe: data movement, the optimiser, add_scalar and
 * logdet_sum were bit-identical (0); float32 arithmetic at most 2.7e-6 (conv2d_forward
 * 8x16x16x512->8 k3 on the tiled GEMM: sums of K = 4608 products, whose rounding
 * random-walks to ~sqrt(K) * 2^-24 ~ 4e-6 of the largest partial sum), everything else
 * below 1.3e-6. 2e-5 leaves room for a GPU's FMA contraction and another summation
 * order, and is still 50x below a 0.1% systematic error. */
#define WORST_MOVE 1e-6 /* data movement is exact: any real error is O(1) */
#define WORST_F32 2e-5

/* A case with a justified looser bound sets this around its run_case (0: none). */
static double g_worst_override;

static double worst_bound(const operand *o)
{
    if (g_worst_override > 0.0)
        return g_worst_override;
    return o->tol <= TOL_MOVE ? WORST_MOVE : WORST_F32;
}

/* The odd shape of most cases: no size is a multiple of a tile or workgroup size. */
#define ODD 3, 5, 7
/* Enough pixels that the cpu backend cuts a pass into several parts, the last one short. */
#define ODD_LARGE {5, 37, 41, 13}

/* ---- elementwise and data movement ----------------------------------------------- */

static glow_status run_fill(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_fill(be, t[0], -2.75f);
}

static void test_fill(void **state)
{
    (void)state;
    require_targets();
    operand ops[] = {{"t", ODD, 13, OUT, -1, 1, NULL, TOL_MOVE}};
    run_case("fill", ops, 1, run_fill, NULL, 1);
}

typedef struct {
    int src_c0, dst_c0, count, accumulate;
} copy_args;

static glow_status run_copy_channels(glow_backend *be, glow_tensor *t, const void *arg)
{
    const copy_args *a = arg;
    return glow_copy_channels(be, t[0], a->src_c0, t[1], a->dst_c0, a->count, a->accumulate);
}

static void test_copy_channels(void **state)
{
    (void)state;
    require_targets();
    for (int acc = 0; acc <= 1; acc++) {
        operand ops[] = {{"src", ODD, 13, IN, -1, 1, NULL, 0},
                         {"dst", ODD, 20, acc ? ACC : OUT, -1, 1, NULL, TOL_MOVE}};
        copy_args a = {3, 5, 7, acc};
        run_case(acc ? "copy_channels(+=)" : "copy_channels", ops, 2, run_copy_channels, &a, 2);
        copy_args whole = {0, 0, 13, acc};
        ops[1].c = 13;
        run_case(acc ? "copy_channels(all, +=)" : "copy_channels(all)", ops, 2, run_copy_channels, &whole, 3);
    }
}

static glow_status run_squeeze(glow_backend *be, glow_tensor *t, const void *arg)
{
    return glow_squeeze(be, t[0], t[1], *(const int *)arg);
}

static glow_status run_unsqueeze(glow_backend *be, glow_tensor *t, const void *arg)
{
    return glow_unsqueeze(be, t[0], t[1], *(const int *)arg);
}

static void test_squeeze_unsqueeze(void **state)
{
    (void)state;
    require_targets();
    for (int acc = 0; acc <= 1; acc++) {
        operand sq[] = {{"x", 3, 6, 10, 13, IN, -1, 1, NULL, 0},
                        {"y", 3, 3, 5, 52, acc ? ACC : OUT, -1, 1, NULL, TOL_MOVE}};
        run_case(acc ? "squeeze(+=)" : "squeeze", sq, 2, run_squeeze, &acc, 4);
        operand un[] = {{"y", 3, 3, 5, 52, IN, -1, 1, NULL, 0},
                        {"x", 3, 6, 10, 13, acc ? ACC : OUT, -1, 1, NULL, TOL_MOVE}};
        run_case(acc ? "unsqueeze(+=)" : "unsqueeze", un, 2, run_unsqueeze, &acc, 5);
        /* The model's first squeeze: (N,32,32,1) -> (N,16,16,4). */
        operand model[] = {{"x", 2, 32, 32, 1, IN, -1, 1, NULL, 0},
                           {"y", 2, 16, 16, 4, acc ? ACC : OUT, -1, 1, NULL, TOL_MOVE}};
        run_case("squeeze(model)", model, 2, run_squeeze, &acc, 6);
    }
}

static glow_status run_relu_backward(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_relu_backward(be, t[0], t[1]);
}

static glow_status run_add_scalar(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_add_scalar(be, t[0], 0.625f);
}

static glow_status run_logdet_sum(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_logdet_sum(be, t[0], 35.0f, t[1]);
}

static void test_elementwise(void **state)
{
    (void)state;
    require_targets();
    /* ReLU outputs: about half are exactly 0 (y <= 0 masks). */
    float *y = tu_random(3 * 5 * 7 * 13, 7, -1, 1);
    for (int i = 0; i < 3 * 5 * 7 * 13; i += 5)
        y[i] = 0.0f;
    operand relu[] = {{"y", ODD, 13, IN, 0, 0, y, 0}, {"dy", ODD, 13, OUT, -1, 1, NULL, TOL_MOVE}};
    run_case("relu_backward", relu, 2, run_relu_backward, NULL, 7);
    free(y);
    operand add[] = {{"t", ODD, 13, OUT, -1, 1, NULL, TOL_F32}};
    run_case("add_scalar", add, 1, run_add_scalar, NULL, 8);
    operand ld[] = {{"v", 1, 1, 1, 13, IN, -1, 1, NULL, 0}, {"ld", 1, 1, 1, 3, ACC, -1, 1, NULL, TOL_F32}};
    run_case("logdet_sum", ld, 2, run_logdet_sum, NULL, 9);
    operand ld_big[] = {{"v", 1, 1, 1, 512, IN, -1, 1, NULL, 0}, {"ld", 1, 1, 1, 7, ACC, -1, 1, NULL, TOL_F32}};
    run_case("logdet_sum(512)", ld_big, 2, run_logdet_sum, NULL, 10);
}

static glow_status run_channel_scale_forward(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_channel_scale_forward(be, t[0], t[1], GLOW_ZEROCONV_LOGSCALE_FACTOR);
}

static glow_status run_channel_scale_backward(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_channel_scale_backward(be, t[0], t[1], t[2], GLOW_ZEROCONV_LOGSCALE_FACTOR, t[3]);
}

static void test_channel_scale(void **state)
{
    (void)state;
    require_targets();
    operand fwd[] = {{"y", ODD, 13, OUT, -1, 1, NULL, TOL_F32}, {"logs", 1, 1, 1, 13, IN, -0.3f, 0.3f, NULL, 0}};
    run_case("channel_scale_forward", fwd, 2, run_channel_scale_forward, NULL, 11);
    operand bwd[] = {{"y", ODD, 13, IN, -1, 1, NULL, 0},
                     {"dy", ODD, 13, OUT, -1, 1, NULL, TOL_F32},
                     {"logs", 1, 1, 1, 13, IN, -0.3f, 0.3f, NULL, 0},
                     {"dlogs", 1, 1, 1, 13, ACC, -1, 1, NULL, TOL_F32}};
    run_case("channel_scale_backward", bwd, 4, run_channel_scale_backward, NULL, 12);
}

/* ---- actnorm ------------------------------------------------------------------------ */

static glow_status run_actnorm_forward(glow_backend *be, glow_tensor *t, const void *arg)
{
    int in_place = *(const int *)arg;
    return glow_actnorm_forward(be, t[0], t[1], t[2], in_place ? t[0] : t[3]);
}

static glow_status run_actnorm_inverse(glow_backend *be, glow_tensor *t, const void *arg)
{
    int in_place = *(const int *)arg;
    return glow_actnorm_inverse(be, t[0], t[1], t[2], in_place ? t[0] : t[3]);
}

static glow_status run_actnorm_backward(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_actnorm_backward(be, t[0], t[1], t[2], t[3], t[4], t[5], t[6]);
}

static glow_status run_actnorm_init(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_actnorm_init(be, t[0], t[1], t[2]);
}

static void test_actnorm(void **state)
{
    (void)state;
    require_targets();
    int shapes[3][4] = {{3, 5, 7, 13}, {4, 16, 16, 4}, ODD_LARGE};
    for (int s = 0; s < 3; s++) {
        int n = shapes[s][0], h = shapes[s][1], w = shapes[s][2], c = shapes[s][3];
        for (int in_place = 0; in_place <= 1; in_place++) {
            operand fwd[] = {{"x", n, h, w, c, in_place ? OUT : IN, -2, 2, NULL, TOL_F32},
                             {"bias", 1, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                             {"logs", 1, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                             {"y", n, h, w, c, OUT, -1, 1, NULL, TOL_F32}};
            run_case(in_place ? "actnorm_forward(in place)" : "actnorm_forward", fwd, 4, run_actnorm_forward,
                     &in_place, 20);
            run_case(in_place ? "actnorm_inverse(in place)" : "actnorm_inverse", fwd, 4, run_actnorm_inverse,
                     &in_place, 21);
        }
        operand bwd[] = {{"x", n, h, w, c, IN, -2, 2, NULL, 0},
                         {"dy", n, h, w, c, IN, -1, 1, NULL, 0},
                         {"bias", 1, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                         {"logs", 1, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                         {"dx", n, h, w, c, ACC, -1, 1, NULL, TOL_F32},
                         {"dbias", 1, 1, 1, c, ACC, -1, 1, NULL, TOL_F32},
                         {"dlogs", 1, 1, 1, c, ACC, -1, 1, NULL, TOL_F32}};
        run_case("actnorm_backward", bwd, 7, run_actnorm_backward, NULL, 22);
        /* Data with a per-channel offset far from 0, so a one-pass variance would show. */
        operand init[] = {{"x", n, h, w, c, IN, 3, 5, NULL, 0},
                          {"bias", 1, 1, 1, c, OUT, -1, 1, NULL, TOL_F32},
                          {"logs", 1, 1, 1, c, OUT, -1, 1, NULL, TOL_F32}};
        run_case("actnorm_init", init, 3, run_actnorm_init, NULL, 23);
    }
}

/* ---- LU-parametrised 1x1 convolution ------------------------------------------------- */

typedef struct {
    int c;
    float *perm, *sign;
} lu_data;

static lu_data make_lu_data(int c, uint32_t seed)
{
    lu_data d = {c, calloc((size_t)c * c, sizeof(float)), malloc((size_t)c * sizeof(float))};
    assert_non_null(d.perm);
    assert_non_null(d.sign);
    /* A permutation with no fixed structure: row i has its 1 at column (i * 5 + seed) mod c
     * (5 is coprime with every c used here), and alternating signs. */
    for (int i = 0; i < c; i++) {
        d.perm[i * c + (int)((i * 5u + seed) % (unsigned)c)] = 1.0f;
        d.sign[i] = (i % 3 == 1) ? -1.0f : 1.0f;
    }
    return d;
}

static glow_status run_lu_weight(glow_backend *be, glow_tensor *t, const void *arg)
{
    return glow_lu_weight(be, t[0], t[1], t[2], t[3], t[4], t[5], *(const int *)arg);
}

static glow_status run_lu_weight_pair(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_lu_weight_pair(be, t[0], t[1], t[2], t[3], t[4], t[5], t[6]);
}

static glow_status run_lu_weight_backward(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_lu_weight_backward(be, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8]);
}

static void test_lu(void **state)
{
    (void)state;
    require_targets();
    /* 384: more than 256, the Vulkan kernels' former shared-memory limit (the top level of
     * 64x64x3 images at L = 6 has 384 channels). */
    const int sizes[] = {13, 4, 48, 256, 384};
    for (int s = 0; s < 5; s++) {
        int c = sizes[s];
        lu_data d = make_lu_data(c, (uint32_t)s + 3u);
        /* Entries of L and U within +-0.3 and diagonal exp(+-0.5): W and W^-1 stay well
         * conditioned, so float32 rounding keeps the inverse within TOL_F32. */
        for (int inverse = 0; inverse <= 1; inverse++) {
            operand ops[] = {{"lower", c, 1, 1, c, IN, -0.3f, 0.3f, NULL, 0},
                             {"upper", c, 1, 1, c, IN, -0.3f, 0.3f, NULL, 0},
                             {"log_s", 1, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                             {"sign", 1, 1, 1, c, IN, 0, 0, d.sign, 0},
                             {"perm", c, 1, 1, c, IN, 0, 0, d.perm, 0},
                             {"weight", c, 1, 1, c, OUT, -1, 1, NULL, TOL_F32}};
            run_case(inverse ? "lu_weight(inverse)" : "lu_weight", ops, 6, run_lu_weight, &inverse, 30);
        }
        {
            operand pair[] = {{"lower", c, 1, 1, c, IN, -0.3f, 0.3f, NULL, 0},
                              {"upper", c, 1, 1, c, IN, -0.3f, 0.3f, NULL, 0},
                              {"log_s", 1, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                              {"sign", 1, 1, 1, c, IN, 0, 0, d.sign, 0},
                              {"perm", c, 1, 1, c, IN, 0, 0, d.perm, 0},
                              {"weight", c, 1, 1, c, OUT, -1, 1, NULL, TOL_F32},
                              {"weight_inv", c, 1, 1, c, OUT, -1, 1, NULL, TOL_F32}};
            run_case("lu_weight_pair", pair, 7, run_lu_weight_pair, NULL, 30);
        }
        operand bwd[] = {{"dweight", c, 1, 1, c, IN, -1, 1, NULL, 0},
                         {"lower", c, 1, 1, c, IN, -0.3f, 0.3f, NULL, 0},
                         {"upper", c, 1, 1, c, IN, -0.3f, 0.3f, NULL, 0},
                         {"log_s", 1, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                         {"sign", 1, 1, 1, c, IN, 0, 0, d.sign, 0},
                         {"perm", c, 1, 1, c, IN, 0, 0, d.perm, 0},
                         {"dlower", c, 1, 1, c, ACC, -1, 1, NULL, TOL_F32},
                         {"dupper", c, 1, 1, c, ACC, -1, 1, NULL, TOL_F32},
                         {"dlog_s", 1, 1, 1, c, ACC, -1, 1, NULL, TOL_F32}};
        run_case("lu_weight_backward", bwd, 9, run_lu_weight_backward, NULL, 31);
        free(d.perm);
        free(d.sign);
    }
}

/* The inverse of a singular weight (sign[2] = 0: U[2][2] = 0): the reference answers
 * GLOW_ERR_NONFINITE, and so must CUDA (it reads sign and log_s back). Vulkan records
 * the op without reading back and so cannot refuse it (it writes Inf): not checked. */
static void test_lu_singular(void **state)
{
    (void)state;
    require_targets();
    enum { C = 6 };
    lu_data d = make_lu_data(C, 1);
    d.sign[2] = 0.0f;
    float *lower = tu_random(C * C, 120, -0.3f, 0.3f), *log_s = tu_random(C, 121, -0.5f, 0.5f);
    glow_backend *bes[MAX_TARGETS + 1] = {g_cpu};
    for (int i = 0; i < g_n_targets; i++)
        bes[i + 1] = g_targets[i].be;
    for (int i = 0; i <= g_n_targets; i++) {
        if (i > 0 && strcmp(bes[i]->info.backend, "cuda") != 0)
            continue;
        glow_tensor l = tu_tensor(bes[i], C, 1, 1, C, lower), u = tu_tensor(bes[i], C, 1, 1, C, lower);
        glow_tensor ls = tu_tensor(bes[i], 1, 1, 1, C, log_s), sg = tu_tensor(bes[i], 1, 1, 1, C, d.sign);
        glow_tensor pm = tu_tensor(bes[i], C, 1, 1, C, d.perm), w = tu_tensor(bes[i], C, 1, 1, C, NULL);
        glow_status st = glow_lu_weight(bes[i], l, u, ls, sg, pm, w, 1);
        if (st != GLOW_ERR_NONFINITE || strstr(glow_last_error(), "U[2][2] = 0") == NULL)
            fail_msg("%s: lu_weight(inverse) of a singular weight: %s: %s (the reference's error is expected)",
                     i ? g_targets[i - 1].label : "ref", glow_status_name(st), glow_last_error());
        glow_tensor all[6] = {l, u, ls, sg, pm, w};
        for (int k = 0; k < 6; k++)
            tu_tensor_free(all[k]);
    }
    free(lower);
    free(log_s);
    free(d.perm);
    free(d.sign);
}

/* ---- convolution --------------------------------------------------------------------- */

typedef struct {
    int n, h, w, ci, co, k;
} conv_shape;

/* Odd sizes that are no multiple of any tile, and the model's real layer shapes
 * (level 0 of a 1x32x32 model: 16x16 pixels, 2 -> F, F -> F, F -> 4 with F = 64). */
static const conv_shape conv_shapes[] = {
    {3, 5, 7, 13, 29, 3}, {3, 5, 7, 13, 29, 1}, {2, 16, 16, 2, 64, 3},
    {2, 16, 16, 64, 64, 1}, {2, 16, 16, 64, 64, 3}, {2, 16, 16, 64, 4, 3},
    /* Model layers with hidden 128 at batch 32 and hidden 512 at batch 8 (16x16 pixels):
     * large pixel sums, so backward_weight takes its split-K path (partials + reduce). */
    {32, 16, 16, 4, 128, 3}, {32, 16, 16, 128, 128, 1}, {8, 16, 16, 512, 8, 3},
    /* Not multiples of the cpu backend's blocks: 2185 pixels (several GEMM and
     * backward_weight parts, the last short); channel counts with a scalar tail
     * after the 8-float vectors and a short last block of 4 outputs in its direct
     * 3x3 kernel (forward Ci = 20 -> Co = 5; backward_data 37 -> 6). */
    {5, 23, 19, 6, 37, 3}, {3, 9, 11, 20, 5, 3}, {5, 23, 19, 33, 17, 1},
    /* The cpu backend's stacked-tap kernel (cpu_conv_taps.c) takes its images in
     * chunks of at most 2^22 floats of its 9Co-wide temporary: 4032 pixels x 360
     * per image here, so two chunks, the second of one image. */
    {3, 56, 72, 16, 40, 3},
    /* 1x1 with few pixels per thread: the cpu backend splits the output channels
     * (forward, 200 in ranges of 16) or the input channels (backward_data, 72). */
    {2, 8, 8, 72, 200, 1},
    /* The report model's level-0 widths, scaled down: the zero conv F -> 4 (the cpu
     * backend's stacked taps, forward and weight gradient, with 4 outputs) and conv1
     * 2 -> F (im2col forward with K = 18, its weight gradient as dw^T, and its input
     * gradient through stacked taps with 2 outputs). */
    {2, 8, 8, 256, 4, 3}, {2, 8, 8, 2, 512, 3},
};

typedef struct {
    int relu, bias;
} conv_args;

static glow_status run_conv_forward(glow_backend *be, glow_tensor *t, const void *arg)
{
    const conv_args *a = arg;
    return glow_conv2d_forward(be, t[0], t[1], a->bias ? t[2] : glow_tensor_none(), t[3], a->relu);
}

static glow_status run_conv_backward_data(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_conv2d_backward_data(be, t[0], t[1], t[2]);
}

static glow_status run_conv_backward_weight(glow_backend *be, glow_tensor *t, const void *arg)
{
    const conv_args *a = arg;
    return glow_conv2d_backward_weight(be, t[0], t[1], t[2], a->bias ? t[3] : glow_tensor_none());
}

static void test_conv(void **state)
{
    (void)state;
    require_targets();
    size_t n_cases = 2 * (sizeof conv_shapes / sizeof conv_shapes[0]);
    for (size_t s2 = 0; s2 < n_cases; s2++) {
        size_t s = s2 / 2;
        conv_shape c = conv_shapes[s];
        g_guard = s2 % 2 ? GUARD_ALIGNED : GUARD_UNALIGNED;
        char name[112];
        for (int variant = 0; variant < 3; variant++) {
            conv_args a = {variant == 2, variant != 1};
            operand fwd[] = {{"x", c.n, c.h, c.w, c.ci, IN, -1, 1, NULL, 0},
                             {"w", c.co, c.k, c.k, c.ci, IN, -0.2f, 0.2f, NULL, 0},
                             {"bias", 1, 1, 1, c.co, IN, -0.5f, 0.5f, NULL, 0},
                             {"y", c.n, c.h, c.w, c.co, OUT, -1, 1, NULL, TOL_F32}};
            snprintf(name, sizeof name, "conv2d_forward %dx%dx%dx%d->%d k%d%s%s off%zu", c.n, c.h, c.w, c.ci, c.co,
                     c.k, a.bias ? " bias" : "", a.relu ? " relu" : "", g_guard);
            run_case(name, fwd, 4, run_conv_forward, &a, 40 + (uint32_t)s);
        }
        operand bd[] = {{"dy", c.n, c.h, c.w, c.co, IN, -1, 1, NULL, 0},
                        {"w", c.co, c.k, c.k, c.ci, IN, -0.2f, 0.2f, NULL, 0},
                        {"dx", c.n, c.h, c.w, c.ci, ACC, -1, 1, NULL, TOL_F32}};
        snprintf(name, sizeof name, "conv2d_backward_data %dx%dx%dx%d<-%d k%d off%zu", c.n, c.h, c.w, c.ci, c.co,
                 c.k, g_guard);
        run_case(name, bd, 3, run_conv_backward_data, NULL, 50 + (uint32_t)s);
        for (int bias = 0; bias <= 1; bias++) {
            conv_args a = {0, bias};
            operand bw[] = {{"x", c.n, c.h, c.w, c.ci, IN, -1, 1, NULL, 0},
                            {"dy", c.n, c.h, c.w, c.co, IN, -1, 1, NULL, 0},
                            {"dw", c.co, c.k, c.k, c.ci, ACC, -1, 1, NULL, TOL_F32},
                            {"dbias", 1, 1, 1, c.co, ACC, -1, 1, NULL, TOL_F32}};
            snprintf(name, sizeof name, "conv2d_backward_weight %dx%dx%dx%d,%d k%d%s off%zu", c.n, c.h, c.w, c.ci,
                     c.co, c.k, bias ? " dbias" : "", g_guard);
            run_case(name, bw, 4, run_conv_backward_weight, &a, 60 + (uint32_t)s);
        }
    }
    g_guard = GUARD_UNALIGNED;
}

/* ---- edge-indicator term of a padded 3x3 conv (--pad edge) ---------------------------- */

static glow_status run_conv_edge_forward(glow_backend *be, glow_tensor *t, const void *arg)
{
    return glow_conv2d_edge_forward(be, t[0], t[1], *(const int *)arg);
}

static glow_status run_conv_edge_backward_weight(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_conv2d_edge_backward_weight(be, t[0], t[1]);
}

/* Shapes (N,H,W,Co): images of one row, one column or one pixel (a pixel on two opposite
 * borders), 2-pixel sides (every pixel on the border), the model's sizes, odd ones. */
static const int conv_edge_shapes[][4] = {{3, 5, 7, 13}, {2, 1, 1, 4}, {2, 1, 6, 5}, {2, 6, 1, 3}, {2, 2, 2, 9},
                                          {4, 4, 4, 32}, {2, 16, 16, 8}, {5, 8, 8, 37}};

static void test_conv_edge(void **state)
{
    (void)state;
    require_targets();
    for (size_t s = 0; s < sizeof conv_edge_shapes / sizeof conv_edge_shapes[0]; s++) {
        const int *c = conv_edge_shapes[s];
        char name[112];
        for (int relu = 0; relu <= 1; relu++) {
            /* without ReLU the op adds the edge term: compared as an increment (ACC), so the
             * unchanged interior cannot hide an error in the border */
            operand fwd[] = {{"w_edge", c[3], 3, 3, 1, IN, -0.5f, 0.5f, NULL, 0},
                             {"y", c[0], c[1], c[2], c[3], relu ? OUT : ACC, -1, 1, NULL, TOL_F32}};
            snprintf(name, sizeof name, "conv2d_edge_forward %dx%dx%dx%d%s", c[0], c[1], c[2], c[3],
                     relu ? " relu" : "");
            run_case(name, fwd, 2, run_conv_edge_forward, &relu, 200 + (uint32_t)s);
        }
        operand bwd[] = {{"dy", c[0], c[1], c[2], c[3], IN, -1, 1, NULL, 0},
                         {"dw_edge", c[3], 3, 3, 1, ACC, -1, 1, NULL, TOL_F32}};
        snprintf(name, sizeof name, "conv2d_edge_backward_weight %dx%dx%dx%d", c[0], c[1], c[2], c[3]);
        run_case(name, bwd, 2, run_conv_edge_backward_weight, NULL, 220 + (uint32_t)s);
    }
}

/* ---- affine coupling ------------------------------------------------------------------ */

static glow_status run_coupling_forward(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_coupling_forward(be, t[0], t[1], t[2], t[3]);
}

static glow_status run_coupling_inverse(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_coupling_inverse(be, t[0], t[1], t[2]);
}

static glow_status run_coupling_backward(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_coupling_backward(be, t[0], t[1], t[2], -0.375f, t[3], t[4]);
}

static void test_coupling(void **state)
{
    (void)state;
    require_targets();
    int shapes[3][4] = {{3, 5, 7, 13}, {4, 16, 16, 4}, ODD_LARGE};
    for (int s = 0; s < 3; s++) {
        int n = shapes[s][0], h = shapes[s][1], w = shapes[s][2], c = shapes[s][3];
        int cb = c - c / 2;
        operand fwd[] = {{"x", n, h, w, c, IN, -2, 2, NULL, 0},
                         {"h", n, h, w, 2 * cb, IN, -2, 2, NULL, 0},
                         {"y", n, h, w, c, OUT, -1, 1, NULL, TOL_F32},
                         {"ld", 1, 1, 1, n, ACC, -1, 1, NULL, TOL_F32}};
        run_case("coupling_forward", fwd, 4, run_coupling_forward, NULL, 70);
        run_case("coupling_inverse", fwd, 3, run_coupling_inverse, NULL, 71);
        operand bwd[] = {{"x", n, h, w, c, IN, -2, 2, NULL, 0},
                         {"h", n, h, w, 2 * cb, IN, -2, 2, NULL, 0},
                         {"dy", n, h, w, c, IN, -1, 1, NULL, 0},
                         {"dx", n, h, w, c, ACC, -1, 1, NULL, TOL_F32},
                         {"dh", n, h, w, 2 * cb, ACC, -1, 1, NULL, TOL_F32}};
        run_case("coupling_backward", bwd, 5, run_coupling_backward, NULL, 72);
    }
}

/* ---- fused flow-step ops (against the reference's composition of the primitives) ------ */

typedef struct {
    int with_optional; /* xa / dxa / edge / mask present */
} fused_args;

static glow_tensor optional_t(const fused_args *a, glow_tensor t)
{
    return a->with_optional ? t : glow_tensor_none();
}

static glow_status run_invconv_forward(glow_backend *be, glow_tensor *t, const void *arg)
{
    return glow_actnorm_invconv_forward(be, t[0], t[1], t[2], t[3], t[4], t[5], optional_t(arg, t[6]), t[7]);
}

static glow_status run_invconv_inverse(glow_backend *be, glow_tensor *t, const void *arg)
{
    return glow_actnorm_invconv_inverse(be, t[0], t[1], t[2], t[3], t[4], optional_t(arg, t[5]));
}

static glow_status run_invconv_backward(glow_backend *be, glow_tensor *t, const void *arg)
{
    return glow_actnorm_invconv_backward(be, t[0], t[1], optional_t(arg, t[2]), t[3], t[4], t[5], 0.8125f, t[6], t[7],
                                         t[8], t[9], t[10]);
}

static glow_status run_zeroconv_forward(glow_backend *be, glow_tensor *t, const void *arg)
{
    return glow_coupling_zeroconv_forward(be, t[0], t[1], t[2], optional_t(arg, t[3]), t[4],
                                          GLOW_ZEROCONV_LOGSCALE_FACTOR, t[5], t[6], t[7], t[8]);
}

static glow_status run_zeroconv_inverse(glow_backend *be, glow_tensor *t, const void *arg)
{
    return glow_coupling_zeroconv_inverse(be, t[0], t[1], t[2], optional_t(arg, t[3]), t[4],
                                          GLOW_ZEROCONV_LOGSCALE_FACTOR, t[5], t[6], t[7]);
}

static glow_status run_zeroconv_backward(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_coupling_zeroconv_backward(be, t[0], t[1], t[2], -0.375f, t[3], GLOW_ZEROCONV_LOGSCALE_FACTOR, t[4],
                                           t[5], t[6]);
}

static glow_status run_backward_data_relu(glow_backend *be, glow_tensor *t, const void *arg)
{
    return glow_conv2d_backward_data_relu(be, t[0], t[1], optional_t(arg, t[2]), t[3]);
}

/* Outputs marked OUT start from random values, so an op that accumulated into them
 * instead of overwriting them fails. */
static void test_fused(void **state)
{
    (void)state;
    require_targets();
    int shapes[3][4] = {{3, 5, 7, 13}, {4, 16, 16, 4}, ODD_LARGE};
    for (int s = 0; s < 3; s++) {
        int n = shapes[s][0], h = shapes[s][1], w = shapes[s][2], c = shapes[s][3], ca = c / 2, cb = c - ca;
        for (int opt = 0; opt <= 1; opt++) {
            fused_args a = {opt};
            char name[112];
            operand fwd[] = {{"x", n, h, w, c, IN, -2, 2, NULL, 0},
                             {"bias", 1, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                             {"logs", 1, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                             {"weight", c, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                             {"log_s", 1, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                             {"y", n, h, w, c, OUT, -1, 1, NULL, TOL_F32},
                             {"xa", n, h, w, ca, opt ? OUT : IN, -1, 1, NULL, opt ? TOL_F32 : 0},
                             {"ld", 1, 1, 1, n, ACC, -1, 1, NULL, TOL_F32}};
            snprintf(name, sizeof name, "actnorm_invconv_forward %dx%dx%dx%d%s", n, h, w, c, opt ? " xa" : "");
            run_case(name, fwd, 8, run_invconv_forward, &a, 300 + (uint32_t)s);
            {
                operand inv[] = {{"y", n, h, w, c, IN, -2, 2, NULL, 0},
                                 {"bias", 1, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                                 {"logs", 1, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                                 {"weight_inv", c, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                                 {"x", n, h, w, c, OUT, -1, 1, NULL, TOL_F32},
                                 {"xa", n, h, w, ca, opt ? OUT : IN, -1, 1, NULL, opt ? TOL_F32 : 0}};
                snprintf(name, sizeof name, "actnorm_invconv_inverse %dx%dx%dx%d%s", n, h, w, c, opt ? " xa" : "");
                run_case(name, inv, 6, run_invconv_inverse, &a, 310 + (uint32_t)s);
            }
            operand bwd[] = {{"x", n, h, w, c, IN, -2, 2, NULL, 0},
                             {"dy", n, h, w, c, IN, -1, 1, NULL, 0},
                             {"dxa", n, h, w, ca, IN, -1, 1, NULL, 0},
                             {"bias", 1, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                             {"logs", 1, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                             {"weight", c, 1, 1, c, IN, -0.5f, 0.5f, NULL, 0},
                             {"dx", n, h, w, c, OUT, -1, 1, NULL, TOL_F32},
                             {"dweight", c, 1, 1, c, OUT, -1, 1, NULL, TOL_F32},
                             {"dbias", 1, 1, 1, c, ACC, -1, 1, NULL, TOL_F32},
                             {"dlogs", 1, 1, 1, c, ACC, -1, 1, NULL, TOL_F32},
                             {"dlog_s", 1, 1, 1, c, ACC, -1, 1, NULL, TOL_F32}};
            snprintf(name, sizeof name, "actnorm_invconv_backward %dx%dx%dx%d%s", n, h, w, c, opt ? " dxa" : "");
            run_case(name, bwd, 11, run_invconv_backward, &a, 320 + (uint32_t)s);
            for (int k = 1; k <= 3; k += 2) {
                const int f = s == 1 ? 64 : s == 2 ? 12 : 9;
                operand zf[] = {{"hin", n, h, w, f, IN, 0, 1, NULL, 0},
                                {"w", 2 * cb, k, k, f, IN, -0.2f, 0.2f, NULL, 0},
                                {"bias", 1, 1, 1, 2 * cb, IN, -0.5f, 0.5f, NULL, 0},
                                {"edge", 1, h, w, 2 * cb, IN, -0.5f, 0.5f, NULL, 0},
                                {"logs", 1, 1, 1, 2 * cb, IN, -0.3f, 0.3f, NULL, 0},
                                {"x", n, h, w, c, IN, -2, 2, NULL, 0},
                                {"h", n, h, w, 2 * cb, OUT, -1, 1, NULL, TOL_F32},
                                {"y", n, h, w, c, OUT, -1, 1, NULL, TOL_F32},
                                {"ld", 1, 1, 1, n, ACC, -1, 1, NULL, TOL_F32}};
                /* both guards: offsets that are and are not multiples of 4 (the vec4 path on Vulkan) */
                for (int aligned = 0; aligned <= 1; aligned++) {
                    g_guard = aligned ? GUARD_ALIGNED : GUARD_UNALIGNED;
                    snprintf(name, sizeof name, "coupling_zeroconv_forward %dx%dx%dx%d F%d k%d%s off%zu", n, h, w, c,
                             f, k, opt ? " edge" : "", g_guard);
                    run_case(name, zf, 9, run_zeroconv_forward, &a, 330 + (uint32_t)s);
                    snprintf(name, sizeof name, "coupling_zeroconv_inverse %dx%dx%dx%d F%d k%d%s off%zu", n, h, w, c,
                             f, k, opt ? " edge" : "", g_guard);
                    run_case(name, zf, 8, run_zeroconv_inverse, &a, 340 + (uint32_t)s);
                }
                g_guard = GUARD_UNALIGNED;
            }
            if (opt == 0) {
                operand zb[] = {{"x", n, h, w, c, IN, -2, 2, NULL, 0},
                                {"h", n, h, w, 2 * cb, IN, -2, 2, NULL, 0},
                                {"dy", n, h, w, c, IN, -1, 1, NULL, 0},
                                {"logs", 1, 1, 1, 2 * cb, IN, -0.3f, 0.3f, NULL, 0},
                                {"dx", n, h, w, c, OUT, -1, 1, NULL, TOL_F32},
                                {"dhu", n, h, w, 2 * cb, OUT, -1, 1, NULL, TOL_F32},
                                {"dlogs", 1, 1, 1, 2 * cb, ACC, -1, 1, NULL, TOL_F32}};
                run_case("coupling_zeroconv_backward", zb, 7, run_zeroconv_backward, &a, 350 + (uint32_t)s);
            }
        }
    }
    /* The ReLU-folded backward_data on the conv cases' shapes (every GEMM variant and tail),
     * with unaligned and aligned offsets (the latter take the vec4 and 8-channel texel blocks). */
    for (size_t s2 = 0; s2 < 2 * (sizeof conv_shapes / sizeof conv_shapes[0]); s2++) {
        size_t s = s2 / 2;
        conv_shape c = conv_shapes[s];
        g_guard = s2 % 2 ? GUARD_ALIGNED : GUARD_UNALIGNED;
        for (int opt = 0; opt <= 1; opt++) {
            fused_args a = {opt};
            char name[112];
            operand bd[] = {{"dy", c.n, c.h, c.w, c.co, IN, -1, 1, NULL, 0},
                            {"w", c.co, c.k, c.k, c.ci, IN, -0.2f, 0.2f, NULL, 0},
                            {"y", c.n, c.h, c.w, c.ci, IN, -1, 1, NULL, 0},
                            {"dx", c.n, c.h, c.w, c.ci, OUT, -1, 1, NULL, TOL_F32}};
            snprintf(name, sizeof name, "conv2d_backward_data_relu %dx%dx%dx%d<-%d k%d%s off%zu", c.n, c.h, c.w, c.ci,
                     c.co, c.k, opt ? " mask" : "", g_guard);
            run_case(name, bd, 4, run_backward_data_relu, &a, 360 + (uint32_t)s);
        }
    }
    g_guard = GUARD_UNALIGNED;
}

/* ---- Gaussian prior --------------------------------------------------------------------- */

static glow_status run_gaussian_logp(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_gaussian_logp(be, t[0], t[1], t[2]);
}

static glow_status run_gaussian_logp_backward(glow_backend *be, glow_tensor *t, const void *arg)
{
    int with_dz = *(const int *)arg;
    return glow_gaussian_logp_backward(be, t[0], t[1], 0.8125f, with_dz ? t[2] : glow_tensor_none(), t[3]);
}

static glow_status run_gaussian_sample(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    glow_rng rng = {0x1234567890abcdefull, GLOW_STREAM_SAMPLE, 3, 1000}; /* first_block != 0: honoured */
    return glow_gaussian_sample(be, t[0], 0.7f, rng, t[1]);
}

static void test_prior(void **state)
{
    (void)state;
    require_targets();
    int shapes[3][4] = {{3, 5, 7, 13}, {4, 8, 8, 8}, ODD_LARGE};
    for (int s = 0; s < 3; s++) {
        int n = shapes[s][0], h = shapes[s][1], w = shapes[s][2], c = shapes[s][3];
        operand lp[] = {{"z", n, h, w, c, IN, -2, 2, NULL, 0},
                        {"h", n, h, w, 2 * c, IN, -1, 1, NULL, 0},
                        {"logp", 1, 1, 1, n, ACC, -1, 1, NULL, TOL_F32}};
        run_case("gaussian_logp", lp, 3, run_gaussian_logp, NULL, 80);
        for (int with_dz = 0; with_dz <= 1; with_dz++) {
            operand bwd[] = {{"z", n, h, w, c, IN, -2, 2, NULL, 0},
                             {"h", n, h, w, 2 * c, IN, -1, 1, NULL, 0},
                             {"dz", n, h, w, c, ACC, -1, 1, NULL, TOL_F32},
                             {"dh", n, h, w, 2 * c, ACC, -1, 1, NULL, TOL_F32}};
            if (!with_dz)
                bwd[2].role = IN; /* absent: must stay untouched */
            run_case(with_dz ? "gaussian_logp_backward" : "gaussian_logp_backward(no dz)", bwd, 4,
                     run_gaussian_logp_backward, &with_dz, 81);
        }
        /* Normals go through log/sqrt/sin/cos, which may differ by a few ulp. */
        operand smp[] = {{"h", n, h, w, 2 * c, IN, -1, 1, NULL, 0}, {"z", n, h, w, c, OUT, -1, 1, NULL, TOL_F32}};
        run_case("gaussian_sample", smp, 2, run_gaussian_sample, NULL, 82);
    }
}

/* ---- class-conditional prior and classifier ------------------------------------------ */

static glow_status run_spatial_sum(glow_backend *be, glow_tensor *t, const void *arg)
{
    int accumulate = *(const int *)arg;
    return glow_spatial_sum(be, t[0], 0.3125f, t[1], accumulate);
}

static glow_status run_spatial_broadcast_add(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_spatial_broadcast_add(be, t[0], -0.625f, t[1]);
}

static glow_status run_softmax_xent(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_softmax_xent(be, t[0], t[1], t[2]);
}

static glow_status run_softmax_xent_backward(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_softmax_xent_backward(be, t[0], t[1], 0.8125f, t[2]);
}

static void test_cond(void **state)
{
    (void)state;
    require_targets();
    int shapes[3][4] = {{3, 5, 7, 13}, {4, 4, 4, 32}, ODD_LARGE};
    for (int s = 0; s < 3; s++) {
        int n = shapes[s][0], h = shapes[s][1], w = shapes[s][2], c = shapes[s][3];
        for (int accumulate = 0; accumulate <= 1; accumulate++) {
            operand sum[] = {{"x", n, h, w, c, IN, -2, 2, NULL, 0},
                             {"v", n, 1, 1, c, accumulate ? ACC : OUT, -1, 1, NULL, TOL_F32}};
            run_case(accumulate ? "spatial_sum(+=)" : "spatial_sum", sum, 2, run_spatial_sum, &accumulate, 90);
        }
        operand add[] = {{"v", n, 1, 1, c, IN, -2, 2, NULL, 0}, {"x", n, h, w, c, ACC, -1, 1, NULL, TOL_F32}};
        run_case("spatial_broadcast_add", add, 2, run_spatial_broadcast_add, NULL, 91);
    }
    /* logits over K classes; one-hot targets (the model's) and soft ones (sum != 1). */
    int rows[3][2] = {{7, 10}, {33, 3}, {5, 257}};
    for (int r = 0; r < 3; r++) {
        int n = rows[r][0], k = rows[r][1];
        float *onehot = calloc((size_t)n * k, sizeof *onehot);
        assert_non_null(onehot);
        for (int i = 0; i < n; i++)
            onehot[(size_t)i * k + (size_t)(i * 7 + 3) % k] = 1.0f;
        for (int soft = 0; soft <= 1; soft++) {
            operand fwd[] = {{"logits", n, 1, 1, k, IN, -6, 6, NULL, 0},
                             {"target", n, 1, 1, k, IN, 0, 1, soft ? NULL : onehot, 0},
                             {"loss", 1, 1, 1, n, OUT, -1, 1, NULL, TOL_F32}};
            run_case(soft ? "softmax_xent(soft)" : "softmax_xent", fwd, 3, run_softmax_xent, NULL, 92);
            operand bwd[] = {{"logits", n, 1, 1, k, IN, -6, 6, NULL, 0},
                             {"target", n, 1, 1, k, IN, 0, 1, soft ? NULL : onehot, 0},
                             {"dlogits", n, 1, 1, k, ACC, -1, 1, NULL, TOL_F32}};
            run_case(soft ? "softmax_xent_backward(soft)" : "softmax_xent_backward", bwd, 3,
                     run_softmax_xent_backward, NULL, 93);
        }
        free(onehot);
    }
}

/* ---- random numbers and dequantisation ---------------------------------------------- */

static glow_status run_rng_uniform(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    glow_rng rng = {0xfeedfacecafebeefull, GLOW_STREAM_TEST, 17, 5}; /* first_block != 0: honoured */
    return glow_rng_fill_uniform(be, rng, t[0]);
}

static glow_status run_rng_normal(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    glow_rng rng = {42, GLOW_STREAM_TEST, 0xffffffffu, 0};
    return glow_rng_fill_normal(be, rng, t[0]);
}

typedef struct {
    int n_bits;
} dequant_args;

static glow_status run_dequantize(glow_backend *be, glow_tensor *t, const void *arg)
{
    const dequant_args *a = arg;
    glow_rng rng = {7, GLOW_STREAM_DEQUANT, 12345, 0x10000u}; /* a data-parallel rank's offset */
    /* t[0] holds the pixel bytes (4 per float); its byte offset is a multiple of 4. */
    return glow_dequantize(be, t[0].buf, t[0].off * sizeof(float), a->n_bits, rng, t[1]);
}

static void test_random(void **state)
{
    (void)state;
    require_targets();
    /* Uniforms are exact 24-bit fractions of Philox words: bit-identical everywhere. */
    operand u[] = {{"out", ODD, 13, OUT, -1, 1, NULL, 0}};
    run_case("rng_uniform", u, 1, run_rng_uniform, NULL, 90);
    operand nrm[] = {{"out", ODD, 13, OUT, -1, 1, NULL, TOL_F32}};
    run_case("rng_normal", nrm, 1, run_rng_normal, NULL, 91);

    /* 2 x 32 x 32 x 1 pixels (the model's input) plus an odd count; bytes 0..255. */
    const int counts[2][4] = {{2, 32, 32, 1}, {3, 5, 7, 13}};
    for (int s = 0; s < 2; s++) {
        int n = counts[s][0], h = counts[s][1], w = counts[s][2], c = counts[s][3];
        size_t count = (size_t)n * h * w * c, words = (count + 3) / 4;
        uint8_t *bytes = calloc(words * 4, 1);
        assert_non_null(bytes);
        glow_rng r = {99, GLOW_STREAM_TEST, (uint32_t)s, 0};
        for (size_t i = 0; i < count; i++)
            bytes[i] = (uint8_t)(glow_rng_bits(r, i) & 0xff);
        bytes[0] = 0;
        bytes[1] = 255;
        for (int bits = 5; bits <= 8; bits += 3) {
            dequant_args a = {bits};
            /* x = k / 2^bits - 0.5 + u / 2^bits with u exact: the sum of two exactly
             * representable terms, rounded once in float on every backend. */
            operand ops[] = {{"pixels", 1, 1, 1, (int)words, IN, 0, 0, (const float *)bytes, 0},
                             {"x", n, h, w, c, OUT, -1, 1, NULL, TOL_MOVE}};
            run_case(bits == 8 ? "dequantize(8 bits)" : "dequantize(5 bits)", ops, 2, run_dequantize, &a, 92);
        }
        free(bytes);
    }
}

/* ---- optimiser -------------------------------------------------------------------------- */

static glow_status run_sum_squares(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    return glow_sum_squares(be, t[0], t[1]);
}

static glow_status run_optimizer_step(glow_backend *be, glow_tensor *t, const void *arg)
{
    const glow_adam_params *hp = arg;
    return glow_optimizer_step(be, t[0], t[1], t[2], t[3], hp, hp->max_grad_norm > 0 ? t[4] : glow_tensor_none());
}

static void test_optim(void **state)
{
    (void)state;
    require_targets();
    const int sizes[] = {1365, 100003};
    for (int s = 0; s < 2; s++) {
        operand ss[] = {{"g", 1, 1, 1, sizes[s], IN, -1, 1, NULL, 0}, {"out", 1, 1, 1, 1, OUT, 0, 0, NULL, TOL_F32}};
        run_case("sum_squares", ss, 2, run_sum_squares, NULL, 100);
        for (int kind = 0; kind <= 1; kind++) {
            for (int clip = 0; clip <= 1; clip++) {
                glow_adam_params hp = {kind ? GLOW_OPT_ADAMAX : GLOW_OPT_ADAM, 1e-3f, 0.9f, 0.999f, 1e-8f, 7,
                                       clip ? 1.5f : 0.0f};
                /* sumsq is an input here: the same value on both backends.
                 * params, m and v are compared by their increments (new - old): an Adam
                 * step moves a parameter by ~1e-4, far below the parameter itself, so
                 * comparing values could not see a missing update. The starting values
                 * are small enough that float32 resolves each increment to ~1e-4 of
                 * itself: |p| <= 0.05 (ulp <= 3.7e-9 against steps ~1e-4), |m| <= 0.01
                 * (steps ~1e-2), v <= 1e-4 (ulp <= 7.3e-12 against steps ~1e-6..1e-5). */
                float sumsq = 41.0f;
                operand ops[] = {{"params", 1, 1, 1, sizes[s], ACC, -0.05f, 0.05f, NULL, TOL_F32},
                                 {"grads", 1, 1, 1, sizes[s], IN, -0.1f, 0.1f, NULL, 0},
                                 {"m", 1, 1, 1, sizes[s], ACC, -0.01f, 0.01f, NULL, TOL_F32},
                                 {"v", 1, 1, 1, sizes[s], ACC, 0, 1e-4f, NULL, TOL_F32},
                                 {"sumsq", 1, 1, 1, 1, IN, 0, 0, &sumsq, 0}};
                char name[64];
                snprintf(name, sizeof name, "optimizer_step(%s%s)", kind ? "adamax" : "adam", clip ? ", clip" : "");
                run_case(name, ops, 5, run_optimizer_step, &hp, 101);
            }
        }
    }
}

/* ---- recording: a chain of dependent ops without a sync in between ------------------- */

static glow_status run_chain(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    /* Each op reads what the previous one wrote (RAW), then overwrites an input
     * another op read (WAR): missing barriers give wrong results on a parallel device. */
    for (int i = 0; i < 8; i++) {
        GLOW_TRY(glow_add_scalar(be, t[0], 0.5f));
        GLOW_TRY(glow_copy_channels(be, t[0], 0, t[1], 0, 13, 1));
        GLOW_TRY(glow_relu_backward(be, t[1], t[0]));
        GLOW_TRY(glow_actnorm_forward(be, t[1], t[2], t[3], t[1]));
    }
    return GLOW_OK;
}

/* More dispatches than one descriptor pool holds (1024 sets), in one recording: the
 * recorder must go on in the next pool of the chain without losing, reordering or
 * mis-binding any dispatch. Four buffers t0..t3 in a ring; iteration i (of 500, 3
 * dispatches each) with a = i mod 4, b = (i + 1) mod 4:
 *   t_b = t_a                              (copy_channels: a data path from buffer to buffer)
 *   t_b += c_i,  c_i = 0.01 * ((7 i) mod 13 - 6)   (add_scalar, the constant varies)
 *   t_b = (t_b + bias) * exp(logs_{i mod 2})        (actnorm_forward in place; logs_0 in
 *                                                    [0.25, 0.35] per channel and logs_1 = -logs_0,
 *                                                    so the values stay O(1))
 * The final t3 is the composition of all 1500 affine maps along the ring, which do not
 * commute (adding then scaling differs from scaling then adding), so any dispatch that
 * is lost (|c_i| >= 0.01 missing), reordered (an error of c_i (e^0.3 - 1)) or bound to the
 * wrong buffer changes it by far more than float32 rounding of 1500 ops (~1e-5). */
enum { RING = 4, RING_ITERATIONS = 500 };

static glow_status run_many_dispatches(glow_backend *be, glow_tensor *t, const void *arg)
{
    (void)arg;
    const glow_tensor bias = t[RING], logs[2] = {t[RING + 1], t[RING + 2]};
    for (int i = 0; i < RING_ITERATIONS; i++) {
        glow_tensor a = t[i % RING], b = t[(i + 1) % RING];
        GLOW_TRY(glow_copy_channels(be, a, 0, b, 0, a.c, 0));
        GLOW_TRY(glow_add_scalar(be, b, 0.01f * (float)((7 * i) % 13 - 6)));
        GLOW_TRY(glow_actnorm_forward(be, b, bias, logs[i % 2], b));
    }
    return GLOW_OK;
}

static void test_recorded_chain(void **state)
{
    (void)state;
    require_targets();
    operand ops[] = {{"a", ODD, 13, OUT, -1, 1, NULL, TOL_F32},
                     {"b", ODD, 13, OUT, -1, 1, NULL, TOL_F32},
                     {"bias", 1, 1, 1, 13, IN, -0.1f, 0.1f, NULL, 0},
                     {"logs", 1, 1, 1, 13, IN, -0.1f, 0.1f, NULL, 0}};
    run_case("chain of dependent ops", ops, 4, run_chain, NULL, 110);
    float logs_up[37], logs_down[37];
    tu_fill_uniform(logs_up, 37, 112, 0.25f, 0.35f);
    for (int k = 0; k < 37; k++)
        logs_down[k] = -logs_up[k];
    operand many[] = {{"t0", 1, 1, 1, 37, OUT, -1, 1, NULL, TOL_F32},
                      {"t1", 1, 1, 1, 37, OUT, -1, 1, NULL, TOL_F32},
                      {"t2", 1, 1, 1, 37, OUT, -1, 1, NULL, TOL_F32},
                      {"t3", 1, 1, 1, 37, OUT, -1, 1, NULL, TOL_F32},
                      {"bias", 1, 1, 1, 37, IN, -0.002f, 0.002f, NULL, 0},
                      {"logs+", 1, 1, 1, 37, IN, 0, 0, logs_up, 0},
                      {"logs-", 1, 1, 1, 37, IN, 0, 0, logs_down, 0}};
    /* 250 products exp(l) * exp(-l) that are 1 only up to the exp's few-ulp error
     * compound to 4.7e-5 of the scale on lavapipe: bound 3e-4, still 5x below the
     * smallest injected fault (a reordered add of 0.01: ~1.7e-3 of the scale). */
    g_worst_override = 3e-4;
    run_case("1500 dependent dispatches over 4 buffers", many, 7, run_many_dispatches, NULL, 111);
    g_worst_override = 0.0;
}

/* ---- memory: sub-allocation, partial transfers, staging ---------------------------- */

/* Buffers of assorted sizes (one larger than a 64 MiB block), filled, partly
 * overwritten at odd offsets, read back whole and in part: every byte must round-trip
 * exactly, and memory_usage must count the live bytes. */
static void exercise_memory(const char *label, glow_backend *be)
{
    const size_t sizes[] = {16, 4096, 1000000, 48, (65u << 20) + 4096, 777760};
    enum { NB = sizeof sizes / sizeof sizes[0] };
    glow_buffer *buf[NB];
    uint8_t *host[NB];
    size_t cur0 = 0, peak0 = 0, cur = 0, peak = 0;
    int messages_before = glow_vulkan_validation_errors(be);
    be->ops->memory_usage(be, &cur0, &peak0);
    size_t live = 0;
    for (int i = 0; i < NB; i++) {
        TU_OK(glow_buffer_create(be, sizes[i], &buf[i]));
        live += buf[i]->bytes;
        host[i] = malloc(sizes[i]);
        assert_non_null(host[i]);
        glow_rng r = {(uint64_t)i, GLOW_STREAM_TEST, 77, 0};
        for (size_t k = 0; k < sizes[i]; k++)
            host[i][k] = (uint8_t)glow_rng_bits(r, k);
        TU_OK(glow_upload(buf[i], 0, host[i], sizes[i]));
    }
    be->ops->memory_usage(be, &cur, &peak);
    if (cur != cur0 + live || peak < cur)
        fail_msg("%s: memory_usage current %zu (expected %zu), peak %zu", label, cur, cur0 + live, peak);
    /* Free one in the middle and reuse its space with a smaller buffer. */
    glow_buffer_destroy(buf[2]);
    free(host[2]);
    TU_OK(glow_buffer_create(be, 500000, &buf[2]));
    host[2] = calloc(500000, 1);
    assert_non_null(host[2]);
    for (size_t k = 0; k < 500000; k++)
        host[2][k] = (uint8_t)(k * 7u + 3u);
    TU_OK(glow_upload(buf[2], 0, host[2], 500000));
    /* Partial upload at an odd offset, then reads whole and partial. */
    uint8_t patch[1001];
    for (size_t k = 0; k < sizeof patch; k++)
        patch[k] = (uint8_t)(255u - k);
    TU_OK(glow_upload(buf[1], 1027, patch, sizeof patch));
    memcpy(host[1] + 1027, patch, sizeof patch);
    for (int i = 0; i < NB; i++) {
        size_t n = i == 2 ? 500000 : sizes[i];
        uint8_t *back = malloc(n);
        assert_non_null(back);
        TU_OK(glow_download(buf[i], 0, back, n));
        if (memcmp(back, host[i], n) != 0)
            fail_msg("%s: buffer %d of %zu bytes did not round-trip", label, i, n);
        size_t off = n / 3, len = n - off - n / 5;
        memset(back, 0, n);
        TU_OK(glow_download(buf[i], off, back, len));
        if (memcmp(back, host[i] + off, len) != 0)
            fail_msg("%s: bytes [%zu, %zu) of buffer %d did not round-trip", label, off, off + len, i);
        free(back);
    }
    /* Device work between transfers: fill part of a buffer, read it back. */
    glow_tensor t = glow_tensor_make(buf[3], 3, 1, 1, 1, 7);
    TU_OK(glow_fill(be, t, 1.5f));
    float f[12];
    TU_OK(glow_download(buf[3], 0, f, sizeof f));
    for (int k = 0; k < 12; k++) {
        float want;
        if (k >= 3 && k < 10)
            want = 1.5f;
        else
            memcpy(&want, host[3] + 4 * k, 4);
        if (memcmp(&f[k], &want, 4) != 0)
            fail_msg("%s: after fill, float %d is %g, expected %g", label, k, (double)f[k], (double)want);
    }
    for (int i = 0; i < NB; i++) {
        glow_buffer_destroy(buf[i]);
        free(host[i]);
    }
    be->ops->memory_usage(be, &cur, &peak);
    if (cur != cur0)
        fail_msg("%s: memory_usage current %zu after freeing everything, expected %zu", label, cur, cur0);
    int v = glow_vulkan_validation_errors(be) - messages_before;
    if (v > 0)
        fail_msg("%s: %d Vulkan validation message(s) (printed above)", label, v);
}

static void test_memory(void **state)
{
    (void)state;
    require_targets();
    for (int ti = 0; ti < g_n_targets; ti++)
        exercise_memory(g_targets[ti].label, g_targets[ti].be);
    /* The staging path (discrete GPUs) forced on the first Vulkan device. */
    const glow_backend_factory *f[8];
    int n = glow_backend_factories(f, 8);
    for (int i = 0; i < n; i++) {
        if (strcmp(f[i]->name, "vulkan") != 0 || !backend_selected("vulkan"))
            continue;
        glow_device_info info;
        int count = 0;
        if (f[i]->list_devices(&info, 1, &count) != GLOW_OK || count == 0)
            continue;
        setenv("GLOW_VK_STAGING", "1", 1);
        glow_backend *be = NULL;
        glow_status st = f[i]->open(0, &be);
        unsetenv("GLOW_VK_STAGING");
        TU_OK(st);
        exercise_memory("vulkan[0] staging", be);
        glow_backend_close(be);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_fill),
        cmocka_unit_test(test_copy_channels),
        cmocka_unit_test(test_squeeze_unsqueeze),
        cmocka_unit_test(test_elementwise),
        cmocka_unit_test(test_channel_scale),
        cmocka_unit_test(test_actnorm),
        cmocka_unit_test(test_lu),
        cmocka_unit_test(test_lu_singular),
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_conv_edge),
        cmocka_unit_test(test_coupling),
        cmocka_unit_test(test_fused),
        cmocka_unit_test(test_prior),
        cmocka_unit_test(test_cond),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_optim),
        cmocka_unit_test(test_recorded_chain),
    };
    /* e.g. GLOW_TEST_FILTER=test_conv runs one family. */
    const char *filter = getenv("GLOW_TEST_FILTER");
    if (filter && *filter)
        cmocka_set_test_filter(filter);
    return tu_exit_status(cmocka_run_group_tests(tests, setup_targets, teardown_targets));
}
