/* GEMM for the fast CPU backend: OpenBLAS SGEMM (Debian's libopenblas, pthread
 * variant), called single-threaded from each worker of the backend's own pool.
 * The choice of library and threading comes from tools/bench_cpu_gemm.c on
 * the model's shapes (see the README's design section). */
#include "cpu_internal.h"

#include <cblas.h>
#include <stdio.h>

void cpu_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
               int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
}

const char *cpu_gemm_library(void)
{
    static char text[256];
    const char *config = openblas_get_config();
    const char *core = openblas_get_corename();
    snprintf(text, sizeof text, "%s, core %s", config ? config : "OpenBLAS", core ? core : "unknown");
    return text;
}

void cpu_gemm_single_threaded(void)
{
    openblas_set_num_threads(1);
}
