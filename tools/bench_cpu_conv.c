/* bench_cpu_conv: which kernel should run the fast CPU backend's 3x3 convolutions
 * with few channels on one side?
 *
 * On the model's real shapes (NHWC, batch B, the hidden width F, the flow channels
 * C at each level), single-threaded, in CPU time of the calling thread (so that a
 * loaded machine changes the figures little), best of --reps:
 *   direct      backends/cpu/cpu_conv_small.c: cpu_conv3x3_few_outputs (forward,
 *               and backward_data through the flipped weights) and
 *               cpu_conv3x3_few_outputs_dw (weight gradient);
 *   im2col      im2col rows + one oneDNN dnnl_sgemm call per block, the backend's
 *               generic path (block of 32768 floats, as cpu_conv.c);
 *   taps        backends/cpu/cpu_conv_taps.c: one GEMM over the 9 taps stacked
 *               side by side (P x 9Co = x wt^T, then the tap sums; the weight
 *               gradient as 9Co x Ci = D^T x), through the cpu backend opened
 *               with one thread;
 *   oneDNN      oneDNN's convolution primitives (forward_training, backward_data,
 *               backward_weights; src/dst nhwc, weights in the primitive's own
 *               format with the reorder from/to (Co,3,3,Ci) counted), the kernels
 *               PyTorch uses on CPUs; OpenMP threads set to 1.
 * Prints GFLOP/s per kernel and shape. A benchmark, not a test.
 * Usage: bench_cpu_conv [--reps R] */
#include "cpu_internal.h"
#include "glow/backend.h"

#include <dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { COL_BLOCK_FLOATS = 1 << 15 };

static int reps = 5;

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *random_floats(size_t n)
{
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (p == NULL) {
        fprintf(stderr, "bench_cpu_conv: out of memory for %zu floats\n", n);
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((i * 2654435761u) % 1000u) / 1000.0f - 0.5f;
    return p;
}

#define CHECK(call)                                                                                                   \
    do {                                                                                                              \
        dnnl_status_t s_ = (call);                                                                                    \
        if (s_ != dnnl_success) {                                                                                     \
            fprintf(stderr, "bench_cpu_conv: %s failed (oneDNN status %d)\n", #call, (int)s_);                       \
            exit(1);                                                                                                  \
        }                                                                                                             \
    } while (0)

typedef struct {
    const char *name;
    int n, h, w, ci, co;
} conv_shape;

static double gflops(const conv_shape *s, double seconds)
{
    return 2.0 * s->n * s->h * s->w * 9.0 * s->ci * s->co / seconds / 1e9;
}

/* kind 0 forward, 1 backward data, 2 backward weights; GFLOP/s of oneDNN's primitive. */
static double onednn(dnnl_engine_t eng, dnnl_stream_t strm, const conv_shape *s, int kind, const char **impl)
{
    dnnl_dims_t sd = {s->n, s->ci, s->h, s->w}, wd = {s->co, s->ci, 3, 3}, dd = {s->n, s->co, s->h, s->w};
    dnnl_dims_t bd = {s->co}, stride = {1, 1}, pad = {1, 1};
    dnnl_memory_desc_t src, wts, wany, dst, bias;
    CHECK(dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, dnnl_nhwc));
    CHECK(dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, dnnl_nhwc));
    CHECK(dnnl_memory_desc_init_by_tag(&wts, 4, wd, dnnl_f32, dnnl_ohwi));
    CHECK(dnnl_memory_desc_init_by_tag(&wany, 4, wd, dnnl_f32, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_a));
    dnnl_convolution_desc_t fwd_desc, desc;
    dnnl_primitive_desc_t fwd_pd, pd;
    CHECK(dnnl_convolution_forward_desc_init(&fwd_desc, dnnl_forward_training, dnnl_convolution_direct, &src, &wany,
                                             &bias, &dst, stride, pad, pad));
    CHECK(dnnl_primitive_desc_create(&fwd_pd, &fwd_desc, NULL, eng, NULL));
    if (kind == 0)
        desc = fwd_desc;
    else if (kind == 1)
        CHECK(dnnl_convolution_backward_data_desc_init(&desc, dnnl_convolution_direct, &src, &wany, &dst, stride, pad,
                                                       pad));
    else
        CHECK(dnnl_convolution_backward_weights_desc_init(&desc, dnnl_convolution_direct, &src, &wany, &bias, &dst,
                                                          stride, pad, pad));
    CHECK(dnnl_primitive_desc_create(&pd, &desc, NULL, eng, kind ? fwd_pd : NULL));
    CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, impl));
    const dnnl_memory_desc_t *wmd =
        dnnl_primitive_desc_query_md(pd, kind == 2 ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
    dnnl_primitive_t prim, reorder;
    CHECK(dnnl_primitive_create(&prim, pd));
    float *x = random_floats((size_t)s->n * s->h * s->w * s->ci), *y = random_floats((size_t)s->n * s->h * s->w * s->co);
    float *w = random_floats((size_t)s->co * 9 * s->ci), *b = random_floats((size_t)s->co);
    dnnl_memory_t mx, my, mw, mb, mwp;
    CHECK(dnnl_memory_create(&mx, &src, eng, x));
    CHECK(dnnl_memory_create(&my, &dst, eng, y));
    CHECK(dnnl_memory_create(&mw, &wts, eng, w));
    CHECK(dnnl_memory_create(&mb, &bias, eng, b));
    CHECK(dnnl_memory_create(&mwp, wmd, eng, DNNL_MEMORY_ALLOCATE));
    dnnl_primitive_desc_t rpd;
    if (kind == 2)
        CHECK(dnnl_reorder_primitive_desc_create(&rpd, wmd, eng, &wts, eng, NULL));
    else
        CHECK(dnnl_reorder_primitive_desc_create(&rpd, &wts, eng, wmd, eng, NULL));
    CHECK(dnnl_primitive_create(&reorder, rpd));
    dnnl_exec_arg_t rargs[2] = {{DNNL_ARG_FROM, kind == 2 ? mwp : mw}, {DNNL_ARG_TO, kind == 2 ? mw : mwp}};
    dnnl_exec_arg_t args[4];
    int nargs = 4;
    if (kind == 0) {
        args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, mx};
        args[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, mwp};
        args[2] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, mb};
        args[3] = (dnnl_exec_arg_t){DNNL_ARG_DST, my};
    } else if (kind == 1) {
        args[0] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, mx};
        args[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, mwp};
        args[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, my};
        nargs = 3;
    } else {
        args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, mx};
        args[1] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_WEIGHTS, mwp};
        args[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_BIAS, mb};
        args[3] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, my};
    }
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = cpu_now();
        if (kind != 2)
            CHECK(dnnl_primitive_execute(reorder, strm, 2, rargs));
        CHECK(dnnl_primitive_execute(prim, strm, nargs, args));
        if (kind == 2)
            CHECK(dnnl_primitive_execute(reorder, strm, 2, rargs));
        CHECK(dnnl_stream_wait(strm));
        t = cpu_now() - t;
        best = t < best ? t : best;
    }
    dnnl_primitive_destroy(prim);
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_desc_destroy(fwd_pd);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(mx);
    dnnl_memory_destroy(my);
    dnnl_memory_destroy(mw);
    dnnl_memory_destroy(mb);
    dnnl_memory_destroy(mwp);
    free(x);
    free(y);
    free(w);
    free(b);
    return gflops(s, best);
}

/* col rows of pixels [r0, r1) (as cpu_conv.c's im2col, k = 3). */
static void im2col3(const float *x, int H, int W, int Ci, size_t r0, size_t r1, float *col)
{
    const size_t hw = (size_t)H * W, K = 9 * (size_t)Ci;
    for (size_t r = r0; r < r1; r++) {
        size_t n = r / hw, rem = r % hw;
        int i = (int)(rem / (size_t)W), j = (int)(rem % (size_t)W);
        float *dst = col + (r - r0) * K;
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++, dst += Ci) {
                int si = i + ky - 1, sj = j + kx - 1;
                if (si < 0 || si >= H || sj < 0 || sj >= W)
                    memset(dst, 0, (size_t)Ci * sizeof(float));
                else
                    memcpy(dst, x + ((n * H + (size_t)si) * W + (size_t)sj) * Ci, (size_t)Ci * sizeof(float));
            }
    }
}

/* kind 0: y = col w^T; kind 2: dw += dy^T col. (backward data is kind 0 on the flipped shape.) */
static double im2col_gemm(const conv_shape *s, int kind)
{
    const size_t P = (size_t)s->n * s->h * s->w, K = 9 * (size_t)s->ci;
    size_t rows = COL_BLOCK_FLOATS / K;
    rows = rows < 16 ? 16 : rows > 512 ? 512 : rows;
    rows = rows / 16 * 16;
    float *x = random_floats(P * s->ci), *y = random_floats(P * s->co), *w = random_floats((size_t)s->co * K);
    float *col = random_floats(rows * K);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = cpu_now();
        for (size_t r0 = 0; r0 < P; r0 += rows) {
            size_t r1 = r0 + rows < P ? r0 + rows : P;
            im2col3(x, s->h, s->w, s->ci, r0, r1, col);
            if (kind == 0)
                cpu_sgemm(0, 1, (int)(r1 - r0), s->co, (int)K, 1.0f, col, (int)K, w, (int)K, 0.0f,
                          y + r0 * (size_t)s->co, s->co);
            else
                cpu_sgemm(1, 0, s->co, (int)K, (int)(r1 - r0), 1.0f, y + r0 * (size_t)s->co, s->co, col, (int)K, 1.0f,
                          w, (int)K);
        }
        t = cpu_now() - t;
        best = t < best ? t : best;
    }
    free(x);
    free(y);
    free(w);
    free(col);
    return gflops(s, best);
}

static double direct(const conv_shape *s, int kind)
{
    const size_t P = (size_t)s->n * s->h * s->w;
    float *x = random_floats(P * s->ci), *y = random_floats(P * s->co), *w = random_floats((size_t)s->co * 9 * s->ci);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = cpu_now();
        if (kind == 0)
            cpu_conv3x3_few_outputs(x, s->h, s->w, s->ci, w, s->co, NULL, 0, 0, y, 0, P);
        else
            for (int tap = 0; tap < 9; tap++)
                for (int c = 0; c < s->ci; c += CPU_BW_FEW_CI)
                    cpu_conv3x3_few_outputs_dw(x, s->n, s->h, s->w, s->ci, y, s->co, w, tap, c);
        t = cpu_now() - t;
        best = t < best ? t : best;
    }
    free(x);
    free(y);
    free(w);
    return gflops(s, best);
}

static glow_backend *cpu_be; /* the cpu backend with one thread */

static double taps(const conv_shape *s, int kind)
{
    const size_t P = (size_t)s->n * s->h * s->w, wn = (size_t)s->co * 9 * s->ci;
    glow_buffer *buf = NULL;
    if (glow_buffer_create(cpu_be, (P * s->ci + P * s->co) * sizeof(float), &buf) != GLOW_OK) {
        fprintf(stderr, "bench_cpu_conv: no buffer for %s\n", s->name);
        exit(1);
    }
    glow_tensor x = glow_tensor_make(buf, 0, s->n, s->h, s->w, s->ci);
    glow_tensor y = glow_tensor_make(buf, P * s->ci, s->n, s->h, s->w, s->co);
    float *xh = random_floats(P * s->ci), *yh = random_floats(P * s->co), *w = random_floats(wn);
    if (glow_tensor_upload(x, xh) != GLOW_OK || glow_tensor_upload(y, yh) != GLOW_OK)
        exit(1);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = cpu_now();
        glow_status st = kind == 0 ? cpu_conv3x3_taps_forward(cpu_be, x, w, s->co, NULL, cpu_data(y), 0, 0, NULL, "fwd")
                                   : cpu_conv3x3_taps_backward_weight(cpu_be, x, y, w, NULL, "dw");
        t = cpu_now() - t;
        if (st != GLOW_OK)
            exit(1);
        best = t < best ? t : best;
    }
    glow_buffer_destroy(buf);
    free(xh);
    free(yh);
    free(w);
    return gflops(s, best);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0) {
            reps = atoi(argv[++i]);
        } else {
            printf("usage: bench_cpu_conv [--reps R]\n"
                   "  GFLOP/s (single thread, CPU time) of the direct few-channel 3x3 kernels, im2col + oneDNN sgemm\n"
                   "  and oneDNN's convolution primitives on the model's shapes. A benchmark, not a test.\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    omp_set_num_threads(1);
    glow_set_cpu_threads(1);
    if (glow_backend_open("cpu", 0, &cpu_be) != GLOW_OK) {
        fprintf(stderr, "bench_cpu_conv: cannot open the cpu backend\n");
        return 1;
    }
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    /* forward-form shapes: the zero conv F -> C, and conv1's input gradient as the forward conv F -> C/2
     * of the flipped weights; the weight gradient uses the zero conv's shape */
    static const conv_shape shapes[] = {
        {"report l0 zeroconv", 16, 16, 16, 512, 4}, {"report l1 zeroconv", 16, 8, 8, 512, 8},
        {"report l2 zeroconv", 16, 4, 4, 512, 16},  {"report l0 conv1 dx", 16, 16, 16, 512, 2},
        {"report l1 conv1 dx", 16, 8, 8, 512, 4},   {"report l2 conv1 dx", 16, 4, 4, 512, 8},
        {"rgb l0 zeroconv", 32, 16, 16, 128, 12},   {"rgb l1 zeroconv", 32, 8, 8, 128, 24},
        {"rgb l2 zeroconv", 32, 4, 4, 128, 48},     {"rgb l0 conv1 dx", 32, 16, 16, 128, 6},
        {"small l0 zeroconv", 32, 16, 16, 128, 4},  {"small l0 conv1 dx", 32, 16, 16, 128, 2},
    };
    printf("GFLOP/s, one thread, CPU time, best of %d (F -> few outputs: forward form; dw: that conv's weight "
           "gradient)\n",
           reps);
    printf("%-20s %-14s %8s %8s %8s %8s   %8s %8s %8s %8s\n", "shape", "NHW Ci->Co", "fwd dir", "taps", "im2col",
           "oneDNN", "dw dir", "taps", "im2col", "oneDNN");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const conv_shape *s = &shapes[i];
        const char *impl_f = "", *impl_w = "";
        char dims[32];
        snprintf(dims, sizeof dims, "%dx%dx%d %d->%d", s->n, s->h, s->w, s->ci, s->co);
        double fd = direct(s, 0), ft = taps(s, 0), fg = im2col_gemm(s, 0), fo = onednn(eng, strm, s, 0, &impl_f);
        double wd = direct(s, 2), wt = taps(s, 2), wg = im2col_gemm(s, 2), wo = onednn(eng, strm, s, 2, &impl_w);
        printf("%-20s %-14s %8.1f %8.1f %8.1f %8.1f   %8.1f %8.1f %8.1f %8.1f   [%s / %s]\n", s->name, dims, fd, ft,
               fg, fo, wd, wt, wg, wo, impl_f, impl_w);
    }
    dnnl_stream_destroy(strm);
    dnnl_engine_destroy(eng);
    glow_backend_close(cpu_be);
    return 0;
}
