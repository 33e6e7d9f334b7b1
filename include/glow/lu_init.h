/* Host-side initialisation of the LU-parametrised invertible 1x1 convolution
 * with a random orthogonal matrix (Glow, section 3.2: "initialize W as a random
 * rotation matrix", then parametrise W = P L (U + diag(s))). */
#ifndef GLOW_LU_INIT_H
#define GLOW_LU_INIT_H

#include "glow/rng.h"
#include "glow/status.h"

/* Draws a c x c matrix A[i][j] = glow_rng_normal(rng, i*c + j), orthogonalises
 * it (QR in double) to Q, factors Q = P L U with partial pivoting, and writes
 * (all c x c arrays row-major [row][col]):
 *   perm  = P (a dense permutation matrix),
 *   lower = strictly lower part of L (the unit diagonal is implicit; zeros elsewhere),
 *   upper = strictly upper part of U (zeros elsewhere),
 *   sign[i] = sign(U[i][i]), log_s[i] = log|U[i][i]|   (c-vectors),
 * so that glow_lu_weight reproduces W = perm L U = Q (orthogonal, log|det W| = 0). */
glow_status glow_lu_init_orthogonal(int c, glow_rng rng, float *lower, float *upper, float *log_s, float *sign,
                                    float *perm);

#endif
