/* Random orthogonal initialisation of the LU 1x1 conv (see glow/lu_init.h).
 * All work in double: Gaussian A -> Q by modified Gram-Schmidt on the columns
 * (applied twice, which keeps Q orthogonal to rounding), then Doolittle LU with
 * partial pivoting of Q. */
#include "glow/lu_init.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Columns of a (c x c, row-major) made orthonormal in place: for each column j,
 * subtract its projections on columns 0..j-1 (two passes), then normalise.
 * The work runs on the transpose t (t[j][i] = a[i][j]), so that every column is
 * a contiguous row: the same operations in the same order as on a's columns
 * (the result is bit for bit the same), but O(c^3) cache-friendly accesses
 * instead of strided ones (c = 768, the top level of a 128x128x3 image with
 * L = 7: 48 s -> about a second). */
static glow_status orthonormalise_columns(int c, double *a)
{
    double *t = malloc((size_t)c * c * sizeof *t);
    if (t == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "lu_init: no memory for a %dx%d matrix", c, c);
    for (int i = 0; i < c; i++)
        for (int j = 0; j < c; j++)
            t[(size_t)j * c + i] = a[(size_t)i * c + j];
    glow_status st = GLOW_OK;
    for (int j = 0; j < c && st == GLOW_OK; j++) {
        double *col = t + (size_t)j * c;
        for (int pass = 0; pass < 2; pass++)
            for (int k = 0; k < j; k++) {
                const double *prev = t + (size_t)k * c;
                double dot = 0.0;
                for (int i = 0; i < c; i++)
                    dot += prev[i] * col[i];
                for (int i = 0; i < c; i++)
                    col[i] -= dot * prev[i];
            }
        double norm = 0.0;
        for (int i = 0; i < c; i++)
            norm += col[i] * col[i];
        norm = sqrt(norm);
        if (!(norm > 1e-12))
            st = glow_error(GLOW_ERR_NONFINITE, "lu_init: column %d of the random %dx%d matrix is degenerate", j, c, c);
        for (int i = 0; i < c; i++)
            col[i] /= norm;
    }
    for (int i = 0; i < c; i++)
        for (int j = 0; j < c; j++)
            a[(size_t)i * c + j] = t[(size_t)j * c + i];
    free(t);
    return st;
}

/* In place LU with partial pivoting: afterwards a holds L (strictly below the
 * diagonal, unit diagonal implicit) and U (on and above it) with
 * (row piv[k] of the original) = row k of L U. */
static glow_status lu_decompose(int c, double *a, int *piv)
{
    for (int i = 0; i < c; i++)
        piv[i] = i;
    for (int k = 0; k < c; k++) {
        int best = k;
        for (int i = k + 1; i < c; i++)
            if (fabs(a[(size_t)i * c + k]) > fabs(a[(size_t)best * c + k]))
                best = i;
        if (a[(size_t)best * c + k] == 0.0)
            return glow_error(GLOW_ERR_NONFINITE, "lu_init: the %dx%d matrix is singular at column %d", c, c, k);
        if (best != k) {
            for (int j = 0; j < c; j++) {
                double t = a[(size_t)k * c + j];
                a[(size_t)k * c + j] = a[(size_t)best * c + j];
                a[(size_t)best * c + j] = t;
            }
            int t = piv[k];
            piv[k] = piv[best];
            piv[best] = t;
        }
        for (int i = k + 1; i < c; i++) {
            double l = a[(size_t)i * c + k] / a[(size_t)k * c + k];
            a[(size_t)i * c + k] = l;
            for (int j = k + 1; j < c; j++)
                a[(size_t)i * c + j] -= l * a[(size_t)k * c + j];
        }
    }
    return GLOW_OK;
}

glow_status glow_lu_init_orthogonal(int c, glow_rng rng, float *lower, float *upper, float *log_s, float *sign,
                                    float *perm)
{
    if (c <= 0 || !lower || !upper || !log_s || !sign || !perm)
        return glow_error(GLOW_ERR_INVALID_ARG, "lu_init: need c > 0 (got %d) and five output arrays", c);
    size_t cc = (size_t)c * c;
    double *a = malloc(cc * sizeof(double));
    int *piv = malloc((size_t)c * sizeof(int));
    if (a == NULL || piv == NULL) {
        free(a);
        free(piv);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "lu_init: no memory for a %dx%d matrix", c, c);
    }
    for (size_t e = 0; e < cc; e++)
        a[e] = glow_rng_normal(rng, e);
    glow_status st = orthonormalise_columns(c, a);
    if (st == GLOW_OK)
        st = lu_decompose(c, a, piv);
    if (st == GLOW_OK) {
        /* Q = P L U with P[piv[k]][k] = 1: row i of P L U is row k of L U where piv[k] = i. */
        memset(perm, 0, cc * sizeof(float));
        for (int k = 0; k < c; k++)
            perm[(size_t)piv[k] * c + k] = 1.0f;
        for (int i = 0; i < c; i++)
            for (int j = 0; j < c; j++) {
                size_t e = (size_t)i * c + j;
                lower[e] = i > j ? (float)a[e] : 0.0f;
                upper[e] = i < j ? (float)a[e] : 0.0f;
            }
        for (int i = 0; i < c; i++) {
            double d = a[(size_t)i * c + i];
            sign[i] = d < 0.0 ? -1.0f : 1.0f;
            log_s[i] = (float)log(fabs(d));
        }
    }
    free(a);
    free(piv);
    return st;
}
