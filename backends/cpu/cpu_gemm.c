/* GEMM for the fast CPU backend: oneDNN's dnnl_sgemm (Debian's libdnnl, the
 * library PyTorch uses on CPUs), called single-threaded from each worker of
 * the backend's own pool. Chosen by measurement on the model's GEMM shapes
 * (tools/bench_cpu_gemm.c; figures in the README's design section): oneDNN's
 * JIT kernels use the widest ISA the CPU has, several times faster here than
 * Debian's OpenBLAS and BLIS. oneDNN is built on OpenMP; each pool worker sets
 * its OpenMP thread count to 1 (cpu_gemm_single_threaded) so that a call runs
 * on the thread that makes it, which keeps the partitioning of the pool (and
 * so the results) independent of OpenMP. */
#include "cpu_internal.h"

#include <dnnl.h>
#include <omp.h>
#include <stdio.h>

void cpu_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
               int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    /* Arguments are valid by construction (the op layer checked the shapes), so
     * dnnl_sgemm's only failure, dnnl_invalid_arguments, cannot happen. */
    (void)dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static const char *isa_name(dnnl_cpu_isa_t isa)
{
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "SSE4.1";
    case dnnl_cpu_isa_avx: return "AVX";
    case dnnl_cpu_isa_avx2: return "AVX2";
    case dnnl_cpu_isa_avx2_vnni: return "AVX2-VNNI";
    case dnnl_cpu_isa_avx512_core: return "AVX-512";
    case dnnl_cpu_isa_avx512_core_vnni: return "AVX-512 VNNI";
    case dnnl_cpu_isa_avx512_core_bf16: return "AVX-512 BF16";
    case dnnl_cpu_isa_avx512_core_amx: return "AVX-512 AMX";
    default: return "other";
    }
}

const char *cpu_gemm_library(void)
{
    static char text[192];
    const dnnl_version_t *v = dnnl_version();
    snprintf(text, sizeof text, "oneDNN %d.%d.%d sgemm, JIT ISA %s", v->major, v->minor, v->patch,
             isa_name(dnnl_get_effective_cpu_isa()));
    return text;
}

void cpu_gemm_single_threaded(void)
{
    omp_set_num_threads(1);
}
