/* CPU reference: fill, copy_channels, squeeze/unsqueeze, relu_backward,
 * add_scalar, logdet_sum. Semantics: glow/backend.h. */
#include "ref_internal.h"

glow_status ref_fill(glow_backend *be, glow_tensor t, float value)
{
    (void)be;
    float *d = ref_data(t);
    size_t count = glow_tensor_count(t);
    for (size_t i = 0; i < count; i++)
        d[i] = value;
    return GLOW_OK;
}

/* dst[p][dst_c0 + k] (= or +=) src[p][src_c0 + k] for every pixel p, 0 <= k < count. */
glow_status ref_copy_channels(glow_backend *be, glow_tensor src, int src_c0, glow_tensor dst, int dst_c0, int count,
                              int accumulate)
{
    (void)be;
    const float *s = ref_data(src);
    float *d = ref_data(dst);
    size_t pixels = glow_tensor_rows(src);
    for (size_t p = 0; p < pixels; p++) {
        const float *sp = s + p * (size_t)src.c + src_c0;
        float *dp = d + p * (size_t)dst.c + dst_c0;
        if (accumulate)
            for (int k = 0; k < count; k++)
                dp[k] += sp[k];
        else
            for (int k = 0; k < count; k++)
                dp[k] = sp[k];
    }
    return GLOW_OK;
}

/* The 2x2 space-to-depth permutation, in either direction:
 *   small[n][i][j][c*4 + dy*2 + dx]  <->  big[n][2i+dy][2j+dx][c],
 * big (N,H,W,C), small (N,H/2,W/2,4C). to_small: write small from big, else big
 * from small; accumulate: += instead of =. The innermost loop runs over the
 * contiguous channels of the big tensor. */
static void space_to_depth(glow_tensor big, glow_tensor small, int to_small, int accumulate)
{
    float *b = ref_data(big);
    float *s = ref_data(small);
    const int C = big.c;
    for (int n = 0; n < big.n; n++)
        for (int i = 0; i < small.h; i++)
            for (int j = 0; j < small.w; j++) {
                float *sp = s + (((size_t)n * small.h + i) * small.w + j) * small.c;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) {
                        float *bp = b + (((size_t)n * big.h + 2 * i + dy) * big.w + 2 * j + dx) * C;
                        int sub = dy * 2 + dx;
                        for (int c = 0; c < C; c++) {
                            float *from = to_small ? &bp[c] : &sp[c * 4 + sub];
                            float *to = to_small ? &sp[c * 4 + sub] : &bp[c];
                            *to = accumulate ? *to + *from : *from;
                        }
                    }
            }
}

glow_status ref_squeeze(glow_backend *be, glow_tensor x, glow_tensor y, int accumulate)
{
    (void)be;
    space_to_depth(x, y, 1, accumulate);
    return GLOW_OK;
}

glow_status ref_unsqueeze(glow_backend *be, glow_tensor y, glow_tensor x, int accumulate)
{
    (void)be;
    space_to_depth(x, y, 0, accumulate);
    return GLOW_OK;
}

glow_status ref_relu_backward(glow_backend *be, glow_tensor y, glow_tensor dy)
{
    (void)be;
    const float *yv = ref_data(y);
    float *d = ref_data(dy);
    size_t count = glow_tensor_count(y);
    for (size_t i = 0; i < count; i++)
        if (!(yv[i] > 0.0f))
            d[i] = 0.0f;
    return GLOW_OK;
}

glow_status ref_add_scalar(glow_backend *be, glow_tensor t, float value)
{
    (void)be;
    float *d = ref_data(t);
    size_t count = glow_tensor_count(t);
    for (size_t i = 0; i < count; i++)
        d[i] += value;
    return GLOW_OK;
}

/* ld[n] += scale * sum_i v[i] for each of the count(ld) samples; the sum in double. */
glow_status ref_logdet_sum(glow_backend *be, glow_tensor v, float scale, glow_tensor ld)
{
    (void)be;
    const float *vv = ref_data(v);
    size_t count = glow_tensor_count(v);
    double sum = 0.0;
    for (size_t i = 0; i < count; i++)
        sum += vv[i];
    float term = (float)((double)scale * sum);
    float *l = ref_data(ld);
    size_t samples = glow_tensor_count(ld);
    for (size_t n = 0; n < samples; n++)
        l[n] += term;
    return GLOW_OK;
}
