/* CPU reference: the LU-parametrised 1x1 convolution weight and its gradient.
 * Matrices are C x C row-major ([row][col]); all arithmetic is in double.
 *   L = strictly_lower(lower) + I
 *   U = strictly_upper(upper) + diag(sign * exp(log_s))
 *   W = perm L U,   W^-1 = U^-1 L^-1 perm^T. */
#include "ref_internal.h"

#include <math.h>
#include <stdlib.h>

/* Host copies of the factors in double: P (perm), L, U, each C x C. */
typedef struct {
    int c;
    double *p, *l, *u;
} lu_factors;

static void lu_factors_free(lu_factors *f)
{
    free(f->p);
    free(f->l);
    free(f->u);
}

static glow_status lu_factors_load(lu_factors *f, glow_tensor lower, glow_tensor upper, glow_tensor log_s,
                                   glow_tensor sign, glow_tensor perm, const char *op)
{
    int c = lower.c;
    size_t cc = (size_t)c * c;
    f->c = c;
    f->p = ref_zeros_f64(cc, op);
    f->l = ref_zeros_f64(cc, op);
    f->u = ref_zeros_f64(cc, op);
    if (f->p == NULL || f->l == NULL || f->u == NULL) {
        lu_factors_free(f);
        return GLOW_ERR_OUT_OF_MEMORY;
    }
    const float *lo = ref_data(lower), *up = ref_data(upper), *ls = ref_data(log_s), *sg = ref_data(sign),
                *pm = ref_data(perm);
    for (int i = 0; i < c; i++)
        for (int j = 0; j < c; j++) {
            size_t k = (size_t)i * c + j;
            f->p[k] = pm[k];
            if (i > j)
                f->l[k] = lo[k];
            else if (i == j)
                f->l[k] = 1.0;
            if (i < j)
                f->u[k] = up[k];
            else if (i == j)
                f->u[k] = (double)sg[i] * exp((double)ls[i]);
        }
    return GLOW_OK;
}

/* out = op(a) op(b), c x c, op = transpose when the flag is set. */
static void matmul(int c, const double *a, int trans_a, const double *b, int trans_b, double *out)
{
    for (int i = 0; i < c; i++)
        for (int j = 0; j < c; j++) {
            double s = 0.0;
            for (int k = 0; k < c; k++) {
                double av = trans_a ? a[(size_t)k * c + i] : a[(size_t)i * c + k];
                double bv = trans_b ? b[(size_t)j * c + k] : b[(size_t)k * c + j];
                s += av * bv;
            }
            out[(size_t)i * c + j] = s;
        }
}

/* inv = L^-1 for L unit lower triangular (inv zeroed by the caller), by forward
 * substitution column by column: x_j = 1, x_i = -sum_{j<=k<i} L[i][k] x_k, i > j. */
static void invert_unit_lower(int c, const double *l, double *inv)
{
    for (int j = 0; j < c; j++) {
        inv[(size_t)j * c + j] = 1.0;
        for (int i = j + 1; i < c; i++) {
            double s = 0.0;
            for (int k = j; k < i; k++)
                s += l[(size_t)i * c + k] * inv[(size_t)k * c + j];
            inv[(size_t)i * c + j] = -s;
        }
    }
}

/* inv = U^-1 for U upper triangular with a non-zero diagonal (inv zeroed by the
 * caller), by back substitution column by column: x_j = 1/U[j][j],
 * x_i = -(sum_{i<k<=j} U[i][k] x_k) / U[i][i] for i < j. */
static void invert_upper(int c, const double *u, double *inv)
{
    for (int j = 0; j < c; j++) {
        inv[(size_t)j * c + j] = 1.0 / u[(size_t)j * c + j];
        for (int i = j - 1; i >= 0; i--) {
            double s = 0.0;
            for (int k = i + 1; k <= j; k++)
                s += u[(size_t)i * c + k] * inv[(size_t)k * c + j];
            inv[(size_t)i * c + j] = -s / u[(size_t)i * c + i];
        }
    }
}

glow_status ref_lu_weight(glow_backend *be, glow_tensor lower, glow_tensor upper, glow_tensor log_s, glow_tensor sign,
                          glow_tensor perm, glow_tensor weight, int inverse)
{
    (void)be;
    const char *op = "lu_weight";
    lu_factors f;
    GLOW_TRY(lu_factors_load(&f, lower, upper, log_s, sign, perm, op));
    int c = f.c;
    size_t cc = (size_t)c * c;
    double *t = ref_zeros_f64(cc, op), *w = ref_zeros_f64(cc, op);
    double *l_inv = ref_zeros_f64(cc, op), *u_inv = ref_zeros_f64(cc, op);
    glow_status st = GLOW_OK;
    if (t == NULL || w == NULL || l_inv == NULL || u_inv == NULL) {
        st = GLOW_ERR_OUT_OF_MEMORY;
        goto done;
    }
    if (!inverse) {
        matmul(c, f.l, 0, f.u, 0, t); /* L U */
        matmul(c, f.p, 0, t, 0, w);   /* P (L U) */
    } else {
        for (int i = 0; i < c; i++)
            if (f.u[(size_t)i * c + i] == 0.0) {
                st = glow_error(GLOW_ERR_NONFINITE, "ref lu_weight: U[%d][%d] = 0, the weight is singular", i, i);
                goto done;
            }
        invert_unit_lower(c, f.l, l_inv);
        invert_upper(c, f.u, u_inv);
        matmul(c, u_inv, 0, l_inv, 0, t); /* U^-1 L^-1 */
        matmul(c, t, 0, f.p, 1, w);       /* (U^-1 L^-1) P^T */
    }
    float *out = ref_data(weight);
    for (size_t k = 0; k < cc; k++)
        out[k] = (float)w[k];
done:
    free(t);
    free(w);
    free(l_inv);
    free(u_inv);
    lu_factors_free(&f);
    return st;
}

/* With G = P^T dW, A = L, B = U:
 *   dA = G B^T,  dB = A^T G,
 *   dlower += strictly_lower(dA),  dupper += strictly_upper(dB),
 *   dlog_s[i] += dB[i][i] * sign[i] * exp(log_s[i])  (= dB[i][i] * U[i][i]). */
glow_status ref_lu_weight_backward(glow_backend *be, glow_tensor dweight, glow_tensor lower, glow_tensor upper,
                                   glow_tensor log_s, glow_tensor sign, glow_tensor perm, glow_tensor dlower,
                                   glow_tensor dupper, glow_tensor dlog_s)
{
    (void)be;
    const char *op = "lu_weight_backward";
    lu_factors f;
    GLOW_TRY(lu_factors_load(&f, lower, upper, log_s, sign, perm, op));
    int c = f.c;
    size_t cc = (size_t)c * c;
    double *dw = ref_zeros_f64(cc, op), *g = ref_zeros_f64(cc, op), *da = ref_zeros_f64(cc, op),
           *db = ref_zeros_f64(cc, op);
    glow_status st = GLOW_OK;
    if (dw == NULL || g == NULL || da == NULL || db == NULL) {
        st = GLOW_ERR_OUT_OF_MEMORY;
        goto done;
    }
    const float *dwv = ref_data(dweight);
    for (size_t k = 0; k < cc; k++)
        dw[k] = dwv[k];
    matmul(c, f.p, 1, dw, 0, g);  /* G = P^T dW */
    matmul(c, g, 0, f.u, 1, da);  /* dA = G U^T */
    matmul(c, f.l, 1, g, 0, db);  /* dB = L^T G */
    float *gl = ref_data(dlower), *gu = ref_data(dupper), *gs = ref_data(dlog_s);
    for (int i = 0; i < c; i++)
        for (int j = 0; j < c; j++) {
            size_t k = (size_t)i * c + j;
            if (i > j)
                gl[k] += (float)da[k];
            else if (i < j)
                gu[k] += (float)db[k];
            else
                gs[i] += (float)(db[k] * f.u[k]);
        }
done:
    free(dw);
    free(g);
    free(da);
    free(db);
    lu_factors_free(&f);
    return st;
}
