/* The body of the direct few-output 3x3 kernel (cpu_conv_small.c), included
 * once per vector width: before including, define
 *   KERNEL_NAME  the function's name,
 *   KERNEL_ATTR  its attributes (target ISA),
 *   VW           the lanes per vector (8 or 16), VF the vector type, VLOAD(dst, p), VHSUM(v).
 * One pixel, or two neighbouring pixels of one image row, times 4 outputs per
 * pass: 2 input loads and 4 weight loads feed 8 FMAs. Every output sums in the
 * same order on both paths (VW lanes over ci, taps in order, the lanes by
 * VHSUM, then the scalar tail of Ci % VW), so pairing never changes a result. */

/* acc[b][q] += x_q . w_b over the taps valid for pixels (si, sj0 + q), q < npix. */
KERNEL_ATTR
static void KERNEL_NAME(const float *x, int H, int W, int Ci, const float *w, int Co, const float *bias, int relu,
                        int accumulate, float *y, size_t r0, size_t r1)
{
    const size_t hw = (size_t)H * W, wrow = 9 * (size_t)Ci;
    const int vec_end = Ci / VW * VW;
    size_t r = r0;
    while (r < r1) {
        size_t n = r / hw, rem = r % hw;
        int i = (int)(rem / (size_t)W), j = (int)(rem % (size_t)W);
        /* a pair when both pixels are in the part and every tap column is inside the row for both */
        const int npix = (r + 1 < r1 && j >= 1 && j + 2 <= W - 1) ? 2 : 1;
        float *yp = y + r * (size_t)Co;
        for (int o0 = 0; o0 < Co; o0 += 4) {
            const int nb = Co - o0 < 4 ? Co - o0 : 4;
            /* missing outputs of the last block repeat its first row; their sums are dropped */
            const float *w0 = w + (size_t)o0 * wrow;
            const float *w1 = nb > 1 ? w0 + wrow : w0, *w2 = nb > 2 ? w0 + 2 * wrow : w0,
                        *w3 = nb > 3 ? w0 + 3 * wrow : w0;
            VF a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
            float t0 = 0.0f, t1 = 0.0f, t2 = 0.0f, t3 = 0.0f, u0 = 0.0f, u1 = 0.0f, u2 = 0.0f, u3 = 0.0f;
            for (int ky = 0; ky < 3; ky++) {
                int si = i + ky - 1;
                if (si < 0 || si >= H)
                    continue;
                for (int kx = 0; kx < 3; kx++) {
                    int sj = j + kx - 1;
                    if (sj < 0 || sj >= W)
                        continue;
                    const float *xp = x + ((n * H + (size_t)si) * W + (size_t)sj) * Ci, *xq = xp + Ci;
                    const size_t wo = (size_t)(ky * 3 + kx) * Ci;
                    int ci = 0;
                    if (npix == 2) {
                        for (; ci < vec_end; ci += VW) {
                            VF xv, xu, wv0, wv1, wv2, wv3;
                            VLOAD(xv, xp + ci);
                            VLOAD(xu, xq + ci);
                            VLOAD(wv0, w0 + wo + ci);
                            VLOAD(wv1, w1 + wo + ci);
                            VLOAD(wv2, w2 + wo + ci);
                            VLOAD(wv3, w3 + wo + ci);
                            a0 += xv * wv0;
                            a1 += xv * wv1;
                            a2 += xv * wv2;
                            a3 += xv * wv3;
                            b0 += xu * wv0;
                            b1 += xu * wv1;
                            b2 += xu * wv2;
                            b3 += xu * wv3;
                        }
                        for (; ci < Ci; ci++) {
                            float xv = xp[ci], xu = xq[ci];
                            t0 += xv * w0[wo + ci];
                            t1 += xv * w1[wo + ci];
                            t2 += xv * w2[wo + ci];
                            t3 += xv * w3[wo + ci];
                            u0 += xu * w0[wo + ci];
                            u1 += xu * w1[wo + ci];
                            u2 += xu * w2[wo + ci];
                            u3 += xu * w3[wo + ci];
                        }
                    } else {
                        for (; ci < vec_end; ci += VW) {
                            VF xv, wv0, wv1, wv2, wv3;
                            VLOAD(xv, xp + ci);
                            VLOAD(wv0, w0 + wo + ci);
                            VLOAD(wv1, w1 + wo + ci);
                            VLOAD(wv2, w2 + wo + ci);
                            VLOAD(wv3, w3 + wo + ci);
                            a0 += xv * wv0;
                            a1 += xv * wv1;
                            a2 += xv * wv2;
                            a3 += xv * wv3;
                        }
                        for (; ci < Ci; ci++) {
                            float xv = xp[ci];
                            t0 += xv * w0[wo + ci];
                            t1 += xv * w1[wo + ci];
                            t2 += xv * w2[wo + ci];
                            t3 += xv * w3[wo + ci];
                        }
                    }
                }
            }
            float s[2][4] = {{VHSUM(a0) + t0, VHSUM(a1) + t1, VHSUM(a2) + t2, VHSUM(a3) + t3},
                             {VHSUM(b0) + u0, VHSUM(b1) + u1, VHSUM(b2) + u2, VHSUM(b3) + u3}};
            for (int q = 0; q < npix; q++) {
                float *yq = yp + (size_t)q * Co;
                for (int b = 0; b < nb; b++) {
                    float v = s[q][b] + (bias ? bias[o0 + b] : 0.0f);
                    if (accumulate)
                        v += yq[o0 + b];
                    yq[o0 + b] = relu && !(v > 0.0f) ? 0.0f : v;
                }
            }
        }
        r += (size_t)npix;
    }
}
