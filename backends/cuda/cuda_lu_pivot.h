/* The CUDA backend's singular-weight check for lu_weight(inverse), in plain C so
 * that a test compiles it without a GPU (tests/test_cuda_host.c): the first i with
 * U[i][i] = sign[i] * exp(log_s[i]) == 0 in double, the reference's test
 * (backends/ref/ref_lu.c), or -1 when U has no zero on its diagonal. */
#ifndef GLOW_CUDA_LU_PIVOT_H
#define GLOW_CUDA_LU_PIVOT_H

#include <math.h>

static inline int cu_lu_zero_pivot(const float *sign, const float *log_s, int c)
{
    for (int i = 0; i < c; i++)
        if ((double)sign[i] * exp((double)log_s[i]) == 0.0)
            return i;
    return -1;
}

#endif
