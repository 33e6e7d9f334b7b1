#version 450
#extension GL_GOOGLE_include_directive : require
// Weight of the LU-parametrised 1x1 convolution; every matrix (C,1,1,C) row-major [row][col]:
//   L = strictly_lower(lower) + I,  U = strictly_upper(upper) + diag(d),  d = sign * exp(log_s)
//   inverse == 0: weight = perm * L * U
//   inverse == 1: weight = U^-1 L^-1 perm^T
//   inverse == 2: both (lu_weight_pair): workgroups [0, C) write W to weight, [C, 2C) W^-1 to weight_inv
// One workgroup per column j of weight, the column held in shared memory (C <= MAX_C):
//   forward: u = (L U)[:, j] (dense sums), then weight[i][j] = sum_k perm[i][k] u[k]
//   inverse: x = perm^T e_j (x[k] = perm[j][k]); solve L y = x by forward substitution,
//            then U x = y by back substitution, column-oriented: after x[k] is final,
//            every invocation updates its own rows m with x[m] -= M[m][k] x[k].
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
#define MAX_C 2048 // 8 KiB of shared memory (Vulkan guarantees 16 KiB): up to the 1536 channels
                   // of the top level of 256x256x3 images at L = 8
layout(set = 0, binding = 0) readonly buffer LO { float lower[]; };
layout(set = 0, binding = 1) readonly buffer UP { float upper[]; };
layout(set = 0, binding = 2) readonly buffer LS { float log_s[]; };
layout(set = 0, binding = 3) readonly buffer SG { float sign_[]; };
layout(set = 0, binding = 4) readonly buffer PM { float perm[]; };
layout(set = 0, binding = 5) buffer WT { float weight[]; };
layout(set = 0, binding = 6) buffer WI { float weight_inv[]; };
layout(push_constant) uniform Push {
    uint lower_off, upper_off, log_s_off, sign_off, perm_off, weight_off, c, inverse, weight_inv_off;
} pc;

// Element e of the output this workgroup computes (W^-1 goes to weight_inv in pair mode).
void store_out(bool inv, uint e, float v)
{
    if (inv && pc.inverse == 2u)
        weight_inv[pc.weight_inv_off + e] = v;
    else
        weight[pc.weight_off + e] = v;
}

shared float col[MAX_C];

float diag_u(uint k)
{
    return sign_[pc.sign_off + k] * exp(log_s[pc.log_s_off + k]);
}

float l_at(uint r, uint q) // L[r][q]
{
    return q < r ? lower[pc.lower_off + r * pc.c + q] : (q == r ? 1.0 : 0.0);
}

float u_at(uint r, uint q) // U[r][q]
{
    return q > r ? upper[pc.upper_off + r * pc.c + q] : (q == r ? diag_u(r) : 0.0);
}

void main()
{
    uint j = gl_WorkGroupID.x, t = gl_LocalInvocationID.x, C = pc.c, WG = gl_WorkGroupSize.x;
    bool inv = pc.inverse == 1u || (pc.inverse == 2u && j >= C);
    if (j >= C)
        j -= C;
    if (!inv) {
        for (uint k = t; k < C; k += WG) {
            float acc = 0.0;
            for (uint m = 0u; m <= min(k, j); m++)
                acc += l_at(k, m) * u_at(m, j);
            col[k] = acc;
        }
        barrier();
        for (uint i = t; i < C; i += WG) {
            float acc = 0.0;
            for (uint k = 0u; k < C; k++)
                acc += perm[pc.perm_off + i * C + k] * col[k];
            store_out(false, i * C + j, acc);
        }
        return;
    }
    for (uint k = t; k < C; k += WG)
        col[k] = perm[pc.perm_off + j * C + k];
    barrier();
    // L y = x, unit diagonal: y[k] is final once rows above are eliminated.
    for (uint k = 0u; k + 1u < C; k++) {
        float yk = col[k];
        for (uint m = k + 1u + t; m < C; m += WG)
            col[m] -= l_at(m, k) * yk;
        barrier();
    }
    // U x = y from the bottom row up.
    for (uint kk = C; kk > 0u; kk--) {
        uint k = kk - 1u;
        float xk = col[k] / diag_u(k);
        barrier(); // everyone has read col[k] before it is overwritten
        for (uint m = t; m < k; m += WG)
            col[m] -= u_at(m, k) * xk;
        if (t == 0u)
            col[k] = xk;
        barrier();
    }
    for (uint i = t; i < C; i += WG)
        store_out(true, i * C + j, col[i]);
}
