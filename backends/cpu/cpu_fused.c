/* Fast CPU backend: the fused flow-step ops (semantics: include/glow/ops.def).
 *
 * Actnorm folded into the 1x1 convolution's weights (one GEMM pass instead of an actnorm
 * pass and a GEMM), with e = exp(logs):
 *   forward:  y_p = W (x_p + bias) e = W' x_p + b',  W' = W diag(e),  b' = W (bias e)
 *   inverse:  x_p = diag(1/e) W^-1 y_p - bias        (W'' = diag(1/e) W^-1, bias'' = -bias)
 *   backward: dx_p = diag(e) W^T g_p = W'^T g_p;  dweight = sum_p g_p a_p^T;
 *             dbias = sum_p dx_p;  dlogs = sum_p dx_p (x_p + bias) + ld_grad  (da a = dx (x + bias)).
 * The zero-conv + coupling ops run the conv GEMM (cpu_conv2d_forward) and then the
 * coupling pass of cpu_coupling.c, the scale applied in between; the ReLU-folded
 * backward_data zeroes dx, runs cpu_conv2d_backward_data and masks in one pass. */
#include "cpu_internal.h"

#include <math.h>
#include <string.h>

/* A host array wrapped as a tensor of this backend (for the conv helpers). */
typedef struct {
    glow_buffer buf;
    float *data;
    size_t count;
} cpu_temp;

static glow_status temp_make(glow_backend *be, cpu_temp *t, size_t count, const char *op)
{
    t->count = count;
    t->data = cpu_alloc_floats(cpu_st(be), count, op);
    if (t->data == NULL)
        return GLOW_ERR_OUT_OF_MEMORY;
    t->buf = (glow_buffer){be, count * sizeof(float), t->data};
    return GLOW_OK;
}

static void temp_free(glow_backend *be, cpu_temp *t)
{
    if (t->data)
        cpu_free_floats(cpu_st(be), t->data, t->count);
    t->data = NULL;
}

static glow_tensor temp_tensor(cpu_temp *t, int n, int h, int w, int c)
{
    return glow_tensor_make(&t->buf, 0, n, h, w, c);
}

/* ---- actnorm + invertible 1x1 convolution ----------------------------------------- */

glow_status cpu_actnorm_invconv_forward(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs,
                                        glow_tensor weight, glow_tensor log_s, glow_tensor y, glow_tensor xa,
                                        glow_tensor ld)
{
    const int C = x.c;
    cpu_temp fw;
    GLOW_TRY(temp_make(be, &fw, (size_t)C * C + C, "actnorm_invconv_forward"));
    const float *W = cpu_data(weight), *b = cpu_data(bias), *ls = cpu_data(logs);
    float *wf = fw.data, *bf = fw.data + (size_t)C * C;
    for (int i = 0; i < C; i++) {
        double acc = 0.0;
        for (int j = 0; j < C; j++) {
            float e = expf(ls[j]);
            wf[i * C + j] = W[i * C + j] * e;
            acc += (double)W[i * C + j] * ((double)b[j] * e);
        }
        bf[i] = (float)acc;
    }
    glow_status st = cpu_conv2d_forward(be, x, temp_tensor(&fw, C, 1, 1, C),
                                        glow_tensor_make(&fw.buf, (size_t)C * C, 1, 1, 1, C), y, 0);
    temp_free(be, &fw);
    GLOW_TRY(st);
    if (xa.buf)
        GLOW_TRY(cpu_copy_channels(be, y, 0, xa, 0, xa.c, 0));
    double sum = 0.0;
    const float *lu = cpu_data(log_s);
    for (int c = 0; c < C; c++)
        sum += (double)ls[c] + (double)lu[c];
    const float term = (float)(sum * (double)(x.h * x.w));
    float *l = cpu_data(ld);
    for (int n = 0; n < x.n; n++)
        l[n] += term;
    return GLOW_OK;
}

glow_status cpu_actnorm_invconv_inverse(glow_backend *be, glow_tensor y, glow_tensor bias, glow_tensor logs,
                                        glow_tensor weight_inv, glow_tensor x, glow_tensor xa)
{
    const int C = y.c;
    cpu_temp fw;
    GLOW_TRY(temp_make(be, &fw, (size_t)C * C + C, "actnorm_invconv_inverse"));
    const float *Wi = cpu_data(weight_inv), *b = cpu_data(bias), *ls = cpu_data(logs);
    float *wf = fw.data, *bf = fw.data + (size_t)C * C;
    for (int i = 0; i < C; i++) {
        float inv_e = expf(-ls[i]);
        for (int j = 0; j < C; j++)
            wf[i * C + j] = Wi[i * C + j] * inv_e;
        bf[i] = -b[i];
    }
    glow_status st = cpu_conv2d_forward(be, y, temp_tensor(&fw, C, 1, 1, C),
                                        glow_tensor_make(&fw.buf, (size_t)C * C, 1, 1, 1, C), x, 0);
    temp_free(be, &fw);
    GLOW_TRY(st);
    return xa.buf ? cpu_copy_channels(be, x, 0, xa, 0, xa.c, 0) : GLOW_OK;
}

glow_status cpu_actnorm_invconv_backward(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor dxa,
                                         glow_tensor bias, glow_tensor logs, glow_tensor weight, float ld_grad,
                                         glow_tensor dx, glow_tensor dweight, glow_tensor dbias, glow_tensor dlogs,
                                         glow_tensor dlog_s)
{
    const char *op = "actnorm_invconv_backward";
    const int C = x.c;
    const size_t P = glow_tensor_rows(x), count = P * (size_t)C;
    cpu_temp tmp; /* g (P x C), a (P x C), W' (C x C) */
    GLOW_TRY(temp_make(be, &tmp, 2 * count + (size_t)C * C, op));
    float *g = tmp.data, *a = tmp.data + count, *wf = tmp.data + 2 * count;
    const float *xv = cpu_data(x), *gy = cpu_data(dy), *b = cpu_data(bias), *ls = cpu_data(logs);
    const float *W = cpu_data(weight);
    memcpy(g, gy, count * sizeof(float));
    if (dxa.buf) {
        const float *ga = cpu_data(dxa);
        for (size_t p = 0; p < P; p++)
            for (int c = 0; c < dxa.c; c++)
                g[p * C + c] += ga[p * dxa.c + c];
    }
    for (size_t p = 0; p < P; p++)
        for (int c = 0; c < C; c++)
            a[p * C + c] = (xv[p * C + c] + b[c]) * expf(ls[c]);
    for (int i = 0; i < C; i++)
        for (int j = 0; j < C; j++)
            wf[i * C + j] = W[i * C + j] * expf(ls[j]);
    glow_tensor gt = glow_tensor_make(&tmp.buf, 0, x.n, x.h, x.w, C);
    glow_tensor at = glow_tensor_make(&tmp.buf, count, x.n, x.h, x.w, C);
    glow_tensor wt = glow_tensor_make(&tmp.buf, 2 * count, C, 1, 1, C);
    memset(cpu_data(dweight), 0, (size_t)C * C * sizeof(float));
    memset(cpu_data(dx), 0, count * sizeof(float));
    glow_status st = cpu_conv2d_backward_weight(be, at, gt, dweight, glow_tensor_none());
    if (st == GLOW_OK)
        st = cpu_conv2d_backward_data(be, gt, wt, dx);
    temp_free(be, &tmp);
    GLOW_TRY(st);
    const float *gx = cpu_data(dx);
    float *db = cpu_data(dbias), *dl = cpu_data(dlogs), *dls = cpu_data(dlog_s);
    for (int c = 0; c < C; c++) {
        double sb = 0.0, sl = 0.0;
        for (size_t p = 0; p < P; p++) {
            sb += gx[p * C + c];
            sl += (double)gx[p * C + c] * ((double)xv[p * C + c] + b[c]);
        }
        db[c] += (float)sb;
        dl[c] += (float)sl + ld_grad;
        dls[c] += ld_grad;
    }
    return GLOW_OK;
}

/* ---- coupling output stage fused with the zero-conv -------------------------------- */

/* h = (conv(hin) + bias + edge) * exp(factor logs), in place after the conv GEMM. */
static glow_status zeroconv_stage(glow_backend *be, glow_tensor hin, glow_tensor w, glow_tensor bias, glow_tensor edge,
                                  glow_tensor logs, float factor, glow_tensor h)
{
    GLOW_TRY(cpu_conv2d_forward(be, hin, w, bias, h, 0));
    const int Co = h.c;
    float scale[Co];
    cpu_channel_exp(logs, factor, scale);
    const size_t per_sample = (size_t)h.h * h.w;
    const float *e = edge.buf ? cpu_data(edge) : NULL;
    float *hv = cpu_data(h);
    for (size_t p = 0; p < glow_tensor_rows(h); p++) {
        float *hp = hv + p * Co;
        const float *ep = e ? e + (p % per_sample) * Co : NULL;
        for (int c = 0; c < Co; c++)
            hp[c] = (hp[c] + (ep ? ep[c] : 0.0f)) * scale[c];
    }
    return GLOW_OK;
}

glow_status cpu_coupling_zeroconv_forward(glow_backend *be, glow_tensor hin, glow_tensor w, glow_tensor bias,
                                          glow_tensor edge, glow_tensor logs, float factor, glow_tensor x,
                                          glow_tensor h, glow_tensor y, glow_tensor ld)
{
    GLOW_TRY(zeroconv_stage(be, hin, w, bias, edge, logs, factor, h));
    return cpu_coupling_forward(be, x, h, y, ld);
}

glow_status cpu_coupling_zeroconv_inverse(glow_backend *be, glow_tensor hin, glow_tensor w, glow_tensor bias,
                                          glow_tensor edge, glow_tensor logs, float factor, glow_tensor y,
                                          glow_tensor h, glow_tensor x)
{
    GLOW_TRY(zeroconv_stage(be, hin, w, bias, edge, logs, factor, h));
    return cpu_coupling_inverse(be, y, h, x);
}

/* One pass: dx, dh from the coupling, dlogs += factor sum dh h, dhu = dh scale. */
glow_status cpu_coupling_zeroconv_backward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor dy, float g,
                                           glow_tensor logs, float factor, glow_tensor dx, glow_tensor dhu,
                                           glow_tensor dlogs)
{
    (void)be;
    const int C = x.c, Ca = C / 2, Cb = C - Ca;
    float scale[2 * Cb];
    double acc[2 * Cb];
    cpu_channel_exp(logs, factor, scale);
    for (int c = 0; c < 2 * Cb; c++)
        acc[c] = 0.0;
    const float *xv = cpu_data(x), *hv = cpu_data(h), *gy = cpu_data(dy);
    float *gx = cpu_data(dx), *gh = cpu_data(dhu);
    for (size_t q = 0; q < glow_tensor_rows(x); q++) {
        const float *xp = xv + q * C, *hp = hv + q * 2 * Cb, *gyp = gy + q * C;
        float *gxp = gx + q * C, *ghp = gh + q * 2 * Cb;
        memcpy(gxp, gyp, (size_t)Ca * sizeof(float));
        for (int i = 0; i < Cb; i++) {
            float s = 1.0f / (1.0f + expf(-(hp[Cb + i] + 2.0f)));
            float gyb = gyp[Ca + i];
            float dshift = gyb * s;
            float draw = (gyb * (xp[Ca + i] + hp[i]) * s + g) * (1.0f - s);
            gxp[Ca + i] = dshift;
            acc[i] += (double)dshift * hp[i];
            acc[Cb + i] += (double)draw * hp[Cb + i];
            ghp[i] = dshift * scale[i];
            ghp[Cb + i] = draw * scale[Cb + i];
        }
    }
    float *dl = cpu_data(dlogs);
    for (int c = 0; c < 2 * Cb; c++)
        dl[c] += factor * (float)acc[c];
    return GLOW_OK;
}

/* ---- backward_data with the ReLU backward folded in ------------------------------------ */

glow_status cpu_conv2d_backward_data_relu(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor y,
                                          glow_tensor dx)
{
    return cpu_conv_backward_data(be, dy, w, dx, y.buf ? cpu_data(y) : NULL, 0);
}

/* W and W^-1 of the same parameters: lu_weight twice. */
glow_status cpu_lu_weight_pair(glow_backend *be, glow_tensor lower, glow_tensor upper, glow_tensor log_s,
                              glow_tensor sign, glow_tensor perm, glow_tensor weight, glow_tensor weight_inv)
{
    GLOW_TRY(cpu_lu_weight(be, lower, upper, log_s, sign, perm, weight, 0));
    return cpu_lu_weight(be, lower, upper, log_s, sign, perm, weight_inv, 1);
}
