/* bench_cpu_gemm: which library should run the fast CPU backend's GEMMs?
 *
 * Times row-major SGEMM C = op(A) op(B) on the GEMM shapes of the model's
 * convolutions (NHWC, P = batch*H*W pixels, F hidden channels, C flow channels
 * at level 1 of a 1x32x32 image squeezed to 16x16x4):
 *   conv2 1x1 F->F   fwd  M=P N=F K=F;   bwd-data M=P N=F K=F;   bwd-weight M=F N=F K=P
 *   conv1 3x3 C/2->F fwd  M=P N=F K=9C/2 (im2col); bwd-data (flipped fwd) M=P N=C/2 K=9F;
 *                    bwd-weight M=F N=9C/2 K=P
 *   zeroconv 3x3 F->C fwd M=P N=C K=9F; bwd-data (flipped fwd) M=P N=F K=9C; bwd-weight M=C N=9F K=P
 * with each library loaded by dlopen (so that their cblas symbols cannot clash):
 *   OpenBLAS (libopenblas.so.0, Debian's pthread variant), BLIS (libblis.so.4),
 *   oneDNN (libdnnl.so.2, dnnl_sgemm; OpenMP threads),
 * in three threading schemes:
 *   lib-T   one call, the library's own T threads;
 *   pool-T  T pthreads, each one single-threaded call on a fixed block of rows
 *           (M split in 256-row parts; bwd-weight: K split, partials summed) --
 *           the scheme of backends/cpu;
 *   1       one call on one thread.
 * Prints GFLOP/s (median of --reps). A benchmark, not a test.
 * Usage: bench_cpu_gemm [--threads T] [--reps R] [--config small|report] */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*cblas_sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                               float *, int);
typedef int (*dnnl_sgemm_fn)(char, char, long, long, long, float, const float *, long, const float *, long, float,
                             float *, long);
typedef void (*set_threads_fn)(int);

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112, POOL_ROWS = 256 };

typedef struct {
    const char *name;
    cblas_sgemm_fn cblas;
    dnnl_sgemm_fn dnnl;
    set_threads_fn set_threads;
} library;

typedef struct {
    const char *name;
    int ta, tb, m, n, k;
} shape;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void gemm(const library *lib, int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b,
                 int ldb, float beta, float *c, int ldc)
{
    if (lib->cblas)
        lib->cblas(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, m, n, k, 1.0f, a, lda, b, ldb, beta, c,
                   ldc);
    else
        lib->dnnl(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}

typedef struct {
    const library *lib;
    const shape *s;
    const float *a, *b;
    float *c, *partial;
    int worker, threads;
} job;

/* lda/ldb of a row-major operand: A is m x k (k x m when transposed), B is k x n (n x k). */
static int lda_of(const shape *s)
{
    return s->ta ? s->m : s->k;
}
static int ldb_of(const shape *s)
{
    return s->tb ? s->k : s->n;
}

static void *pool_worker(void *p)
{
    job *j = p;
    const shape *s = j->s;
    if (!s->ta) { /* split M into fixed 256-row parts, contiguous blocks of parts per worker */
        int parts = (s->m + POOL_ROWS - 1) / POOL_ROWS;
        for (int part = parts * j->worker / j->threads; part < parts * (j->worker + 1) / j->threads; part++) {
            int r0 = part * POOL_ROWS, rows = s->m - r0 < POOL_ROWS ? s->m - r0 : POOL_ROWS;
            gemm(j->lib, 0, s->tb, rows, s->n, s->k, j->a + (size_t)r0 * lda_of(s), lda_of(s), j->b, ldb_of(s), 0.0f,
                 j->c + (size_t)r0 * s->n, s->n);
        }
    } else { /* bwd-weight: split the K (pixel) sum, one partial per worker */
        int k0 = s->k * j->worker / j->threads, k1 = s->k * (j->worker + 1) / j->threads;
        gemm(j->lib, 1, s->tb, s->m, s->n, k1 - k0, j->a + (size_t)k0 * s->m, s->m,
             j->b + (size_t)k0 * ldb_of(s), ldb_of(s), 0.0f, j->partial + (size_t)j->worker * s->m * s->n, s->n);
    }
    return NULL;
}

static double run_once(const library *lib, const shape *s, int scheme_threads, int pool, const float *a,
                       const float *b, float *c, float *partial)
{
    double t0 = now();
    if (!pool) {
        gemm(lib, s->ta, s->tb, s->m, s->n, s->k, a, lda_of(s), b, ldb_of(s), 0.0f, c, s->n);
        return now() - t0;
    }
    pthread_t tid[64];
    job jobs[64];
    for (int w = 0; w < scheme_threads; w++) {
        jobs[w] = (job){lib, s, a, b, c, partial, w, scheme_threads};
        if (w > 0)
            pthread_create(&tid[w], NULL, pool_worker, &jobs[w]);
    }
    pool_worker(&jobs[0]);
    for (int w = 1; w < scheme_threads; w++)
        pthread_join(tid[w], NULL);
    if (s->ta) {
        size_t mn = (size_t)s->m * s->n;
        for (size_t e = 0; e < mn; e++) {
            float sum = 0.0f;
            for (int w = 0; w < scheme_threads; w++)
                sum += partial[(size_t)w * mn + e];
            c[e] = sum;
        }
    }
    return now() - t0;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static double gflops(const library *lib, const shape *s, int threads, int pool, int reps)
{
    size_t asz = (size_t)s->m * s->k, bsz = (size_t)s->k * s->n, csz = (size_t)s->m * s->n;
    float *a = malloc(asz * 4), *b = malloc(bsz * 4), *c = malloc(csz * 4), *partial = malloc(csz * 4 * 64);
    for (size_t i = 0; i < asz; i++)
        a[i] = (float)((i * 7919u) % 1000u) / 1000.0f - 0.5f;
    for (size_t i = 0; i < bsz; i++)
        b[i] = (float)((i * 104729u) % 1000u) / 1000.0f - 0.5f;
    double t[64];
    run_once(lib, s, threads, pool, a, b, c, partial);
    for (int r = 0; r < reps; r++)
        t[r] = run_once(lib, s, threads, pool, a, b, c, partial);
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    free(a);
    free(b);
    free(c);
    free(partial);
    return 2.0 * s->m * s->n * (double)s->k / t[reps / 2] * 1e-9;
}

int main(int argc, char **argv)
{
    int threads = 2, reps = 7;
    const char *config = "small";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--config") == 0)
            config = argv[i + 1];
    }
    if (threads < 1 || threads > 64 || reps < 1 || reps > 64) {
        fprintf(stderr, "usage: bench_cpu_gemm [--threads 1..64] [--reps 1..64] [--config small|report]\n");
        return 2;
    }
    int report = strcmp(config, "report") == 0;
    const int F = report ? 512 : 128, P = (report ? 16 : 32) * 256, C = 4, ca = C / 2;
    const shape shapes[] = {
        {"conv2 1x1 fwd", 0, 1, P, F, F},          {"conv2 1x1 bwd-data", 0, 0, P, F, F},
        {"conv2 1x1 bwd-weight", 1, 0, F, F, P},   {"conv1 3x3 fwd", 0, 1, P, F, 9 * ca},
        {"conv1 3x3 bwd-data", 0, 1, P, ca, 9 * F}, {"conv1 3x3 bwd-weight", 1, 0, F, 9 * ca, P},
        {"zeroconv 3x3 fwd", 0, 1, P, C, 9 * F},   {"zeroconv 3x3 bwd-data", 0, 1, P, F, 9 * C},
        {"zeroconv 3x3 bwd-weight", 1, 0, C, 9 * F, P},
    };
    library libs[3];
    int nlibs = 0;
    void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (h)
        libs[nlibs++] = (library){"OpenBLAS", (cblas_sgemm_fn)dlsym(h, "cblas_sgemm"), NULL,
                                  (set_threads_fn)dlsym(h, "openblas_set_num_threads")};
    h = dlopen("libblis.so.4", RTLD_NOW | RTLD_LOCAL);
    if (h)
        libs[nlibs++] = (library){"BLIS", (cblas_sgemm_fn)dlsym(h, "cblas_sgemm"), NULL,
                                  (set_threads_fn)dlsym(h, "bli_thread_set_num_threads")};
    h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    void *gomp = dlopen("libgomp.so.1", RTLD_NOW | RTLD_GLOBAL);
    if (h && gomp)
        libs[nlibs++] = (library){"oneDNN", NULL, (dnnl_sgemm_fn)dlsym(h, "dnnl_sgemm"),
                                  (set_threads_fn)dlsym(gomp, "omp_set_num_threads")};
    printf("config %s (F=%d, P=%d, C=%d), %d threads, median of %d; GFLOP/s\n", config, F, P, C, threads, reps);
    printf("%-26s %6s %6s %6s", "shape", "M", "N", "K");
    for (int l = 0; l < nlibs; l++)
        printf(" %9s-lib%-2d %9s-pool%-2d %9s-1", libs[l].name, threads, libs[l].name, threads, libs[l].name);
    printf("\n");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *s = &shapes[i];
        printf("%-26s %6d %6d %6d", s->name, s->m, s->n, s->k);
        for (int l = 0; l < nlibs; l++) {
            library *lib = &libs[l];
            if ((lib->cblas == NULL && lib->dnnl == NULL) || lib->set_threads == NULL) {
                printf(" %15s %16s %11s", "-", "-", "-");
                continue;
            }
            lib->set_threads(threads);
            double g_lib = gflops(lib, s, threads, 0, reps);
            lib->set_threads(1);
            double g_pool = gflops(lib, s, threads, 1, reps);
            double g_one = gflops(lib, s, 1, 0, reps);
            printf(" %15.1f %16.1f %11.1f", g_lib, g_pool, g_one);
        }
        printf("\n");
        fflush(stdout);
    }
    return 0;
}
