/* CUDA: the LU-parametrised 1x1 convolution weight and its gradient (shaders:
 * lu_weight.comp, lu_weight_backward.comp). Matrices are C x C row-major
 * ([row][col]); all arithmetic is in double, in the same order as the CPU
 * reference, in the backend's scratch region:
 *   L = strictly_lower(lower) + I
 *   U = strictly_upper(upper) + diag(sign * exp(log_s))
 *   W = perm L U,   W^-1 = U^-1 L^-1 perm^T.
 * C is at most a few hundred, so one thread per matrix entry (products) or per
 * column (triangular inverses) is plenty. The inverse of a singular weight (a
 * zero on U's diagonal: sign 0, or exp(log_s) = 0) is refused with the
 * reference's error, GLOW_ERR_NONFINITE; that check reads sign and log_s (2C
 * floats) back and so waits for the stream once per inverse. */
#include <stdlib.h>

#include "cuda_host.h"
#include "cuda_lu_pivot.h"

/* P, L, U (double, C x C each) from the parameters; one thread per entry. */
__global__ void lu_expand_kernel(const float *lower, const float *upper, const float *log_s, const float *sign,
                                 const float *perm, int c, double *P, double *L, double *U)
{
    size_t cc = (size_t)c * c;
    CU_FOR_EACH(k, cc)
    {
        int i = (int)(k / c), j = (int)(k % c);
        P[k] = perm[k];
        L[k] = i > j ? (double)lower[k] : i == j ? 1.0 : 0.0;
        U[k] = i < j ? (double)upper[k] : i == j ? (double)sign[i] * exp((double)log_s[i]) : 0.0;
    }
}

/* out = op(a) op(b), op = transpose when the flag is set; one thread per entry,
 * the sum over k in increasing order. */
__global__ void lu_matmul_kernel(int c, const double *a, int trans_a, const double *b, int trans_b, double *out)
{
    size_t cc = (size_t)c * c;
    CU_FOR_EACH(e, cc)
    {
        int i = (int)(e / c), j = (int)(e % c);
        double s = 0.0;
        for (int k = 0; k < c; k++) {
            double av = trans_a ? a[(size_t)k * c + i] : a[(size_t)i * c + k];
            double bv = trans_b ? b[(size_t)j * c + k] : b[(size_t)k * c + j];
            s += av * bv;
        }
        out[e] = s;
    }
}

/* Column j of L^-1 (L unit lower triangular) by forward substitution, one
 * thread per column: x_j = 1, x_i = -sum_{j<=k<i} L[i][k] x_k for i > j, 0 above. */
__global__ void lu_invert_unit_lower_kernel(int c, const double *L, double *inv)
{
    CU_FOR_EACH(jj, (size_t)c)
    {
        int j = (int)jj;
        for (int i = 0; i < j; i++)
            inv[(size_t)i * c + j] = 0.0;
        inv[(size_t)j * c + j] = 1.0;
        for (int i = j + 1; i < c; i++) {
            double s = 0.0;
            for (int k = j; k < i; k++)
                s += L[(size_t)i * c + k] * inv[(size_t)k * c + j];
            inv[(size_t)i * c + j] = -s;
        }
    }
}

/* Column j of U^-1 by back substitution, one thread per column:
 * x_j = 1/U[j][j], x_i = -(sum_{i<k<=j} U[i][k] x_k) / U[i][i] for i < j, 0 below. */
__global__ void lu_invert_upper_kernel(int c, const double *U, double *inv)
{
    CU_FOR_EACH(jj, (size_t)c)
    {
        int j = (int)jj;
        for (int i = j + 1; i < c; i++)
            inv[(size_t)i * c + j] = 0.0;
        inv[(size_t)j * c + j] = 1.0 / U[(size_t)j * c + j];
        for (int i = j - 1; i >= 0; i--) {
            double s = 0.0;
            for (int k = i + 1; k <= j; k++)
                s += U[(size_t)i * c + k] * inv[(size_t)k * c + j];
            inv[(size_t)i * c + j] = -s / U[(size_t)i * c + i];
        }
    }
}

__global__ void lu_store_kernel(const double *w, float *out, size_t cc)
{
    CU_FOR_EACH(k, cc)
    out[k] = (float)w[k];
}

/* GLOW_ERR_NONFINITE, as the reference, when U = strictly_upper(upper) + diag(sign *
 * exp(log_s)) has a zero on its diagonal (cu_lu_zero_pivot). */
static glow_status lu_check_invertible(glow_backend *be, glow_tensor log_s, glow_tensor sign, const char *op)
{
    const int c = sign.c;
    float *host = (float *)malloc(2 * (size_t)c * sizeof(float));
    if (host == NULL)
        return cu_error(GLOW_ERR_OUT_OF_MEMORY, "cuda %s: out of host memory", op);
    cudaError_t e = cudaMemcpyAsync(host, cu_data(sign), (size_t)c * sizeof(float), cudaMemcpyDeviceToHost,
                                    cu_stream(be));
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(host + c, cu_data(log_s), (size_t)c * sizeof(float), cudaMemcpyDeviceToHost,
                            cu_stream(be));
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(cu_stream(be));
    int pivot = e == cudaSuccess ? cu_lu_zero_pivot(host, host + c, c) : -1;
    free(host);
    if (e != cudaSuccess)
        return cu_runtime_failed("lu_weight: reading sign and log_s (or an earlier op on the stream)", e);
    if (pivot >= 0)
        return cu_error(GLOW_ERR_NONFINITE, "cuda %s: U[%d][%d] = 0, the weight is singular", op, pivot, pivot);
    return GLOW_OK;
}

/* Scratch layout: 7 C x C double matrices. */
static glow_status lu_scratch(glow_backend *be, int c, const char *op, double *m[7])
{
    size_t cc = (size_t)c * c;
    void *scratch;
    GLOW_TRY(cu_scratch(be, 7 * cc * sizeof(double), op, &scratch));
    for (int i = 0; i < 7; i++)
        m[i] = (double *)scratch + i * cc;
    return GLOW_OK;
}

glow_status cu_lu_weight(glow_backend *be, glow_tensor lower, glow_tensor upper, glow_tensor log_s, glow_tensor sign,
                         glow_tensor perm, glow_tensor weight, int inverse)
{
    const char *op = "lu_weight";
    const int c = lower.c;
    const size_t cc = (size_t)c * c;
    if (inverse)
        GLOW_TRY(lu_check_invertible(be, log_s, sign, op));
    double *m[7];
    GLOW_TRY(lu_scratch(be, c, op, m));
    double *P = m[0], *L = m[1], *U = m[2], *T = m[3], *W = m[4], *Linv = m[5], *Uinv = m[6];
    cudaStream_t s = cu_stream(be);
    const unsigned grid = cu_blocks(cc), grid_cols = cu_blocks((size_t)c);
    lu_expand_kernel<<<grid, CU_THREADS, 0, s>>>(cu_data(lower), cu_data(upper), cu_data(log_s), cu_data(sign),
                                                 cu_data(perm), c, P, L, U);
    GLOW_TRY(cu_launched(op));
    if (!inverse) {
        lu_matmul_kernel<<<grid, CU_THREADS, 0, s>>>(c, L, 0, U, 0, T); /* L U */
        GLOW_TRY(cu_launched(op));
        lu_matmul_kernel<<<grid, CU_THREADS, 0, s>>>(c, P, 0, T, 0, W); /* P (L U) */
        GLOW_TRY(cu_launched(op));
    } else {
        lu_invert_unit_lower_kernel<<<grid_cols, CU_THREADS, 0, s>>>(c, L, Linv);
        GLOW_TRY(cu_launched(op));
        lu_invert_upper_kernel<<<grid_cols, CU_THREADS, 0, s>>>(c, U, Uinv);
        GLOW_TRY(cu_launched(op));
        lu_matmul_kernel<<<grid, CU_THREADS, 0, s>>>(c, Uinv, 0, Linv, 0, T); /* U^-1 L^-1 */
        GLOW_TRY(cu_launched(op));
        lu_matmul_kernel<<<grid, CU_THREADS, 0, s>>>(c, T, 0, P, 1, W); /* (U^-1 L^-1) P^T */
        GLOW_TRY(cu_launched(op));
    }
    lu_store_kernel<<<grid, CU_THREADS, 0, s>>>(W, cu_data(weight), cc);
    return cu_launched(op);
}

/* dA = G U^T, dB = L^T G (G = P^T dW) are given; one thread per entry:
 *   i > j: dlower += dA;  i < j: dupper += dB;  i == j: dlog_s[i] += dB[i][i] U[i][i]. */
__global__ void lu_scatter_grad_kernel(int c, const double *dA, const double *dB, const double *U, float *dlower,
                                       float *dupper, float *dlog_s)
{
    size_t cc = (size_t)c * c;
    CU_FOR_EACH(k, cc)
    {
        int i = (int)(k / c), j = (int)(k % c);
        if (i > j)
            dlower[k] += (float)dA[k];
        else if (i < j)
            dupper[k] += (float)dB[k];
        else
            dlog_s[i] += (float)(dB[k] * U[k]);
    }
}

__global__ void lu_load_kernel(const float *in, double *out, size_t cc)
{
    CU_FOR_EACH(k, cc)
    out[k] = in[k];
}

glow_status cu_lu_weight_backward(glow_backend *be, glow_tensor dweight, glow_tensor lower, glow_tensor upper,
                                  glow_tensor log_s, glow_tensor sign, glow_tensor perm, glow_tensor dlower,
                                  glow_tensor dupper, glow_tensor dlog_s)
{
    const char *op = "lu_weight_backward";
    const int c = lower.c;
    const size_t cc = (size_t)c * c;
    double *m[7];
    GLOW_TRY(lu_scratch(be, c, op, m));
    double *P = m[0], *L = m[1], *U = m[2], *dW = m[3], *G = m[4], *dA = m[5], *dB = m[6];
    cudaStream_t s = cu_stream(be);
    const unsigned grid = cu_blocks(cc);
    lu_expand_kernel<<<grid, CU_THREADS, 0, s>>>(cu_data(lower), cu_data(upper), cu_data(log_s), cu_data(sign),
                                                 cu_data(perm), c, P, L, U);
    GLOW_TRY(cu_launched(op));
    lu_load_kernel<<<grid, CU_THREADS, 0, s>>>(cu_data(dweight), dW, cc);
    GLOW_TRY(cu_launched(op));
    lu_matmul_kernel<<<grid, CU_THREADS, 0, s>>>(c, P, 1, dW, 0, G); /* G = P^T dW */
    GLOW_TRY(cu_launched(op));
    lu_matmul_kernel<<<grid, CU_THREADS, 0, s>>>(c, G, 0, U, 1, dA); /* dA = G U^T */
    GLOW_TRY(cu_launched(op));
    lu_matmul_kernel<<<grid, CU_THREADS, 0, s>>>(c, L, 1, G, 0, dB); /* dB = L^T G */
    GLOW_TRY(cu_launched(op));
    lu_scatter_grad_kernel<<<grid, CU_THREADS, 0, s>>>(c, dA, dB, U, cu_data(dlower), cu_data(dupper),
                                                       cu_data(dlog_s));
    return cu_launched(op);
}
