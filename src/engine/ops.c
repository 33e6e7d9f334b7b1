/* Shape and bounds validation in front of every backend op (see glow/ops.h). */
#include "glow/ops.h"

#include <math.h>
#include <stdint.h>

/* ---- checks -------------------------------------------------------------- */

/* Sets *end to the end of a tensor in bytes, (off + N*H*W*C) * 4, and returns 1;
 * returns 0 when that does not fit in size_t (huge offsets or shapes would
 * otherwise wrap around and pass the end-of-buffer check). The shape is positive. */
static int tensor_end_byte(glow_tensor t, size_t *end)
{
    const int dims[4] = {t.n, t.h, t.w, t.c};
    size_t count = 1;
    for (int i = 0; i < 4; i++) {
        if ((size_t)dims[i] > SIZE_MAX / count)
            return 0;
        count *= (size_t)dims[i];
    }
    if (t.off > SIZE_MAX - count || t.off + count > SIZE_MAX / sizeof(float))
        return 0;
    *end = (t.off + count) * sizeof(float);
    return 1;
}

static glow_status check_tensor(glow_backend *be, const char *op, const char *name, glow_tensor t)
{
    if (t.buf == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: tensor '%s' is missing", op, name);
    if (t.buf->backend != be)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: tensor '%s' belongs to another backend", op, name);
    if (t.n <= 0 || t.h <= 0 || t.w <= 0 || t.c <= 0)
        return glow_error(GLOW_ERR_SHAPE, "%s: tensor '%s' has non-positive shape (%d,%d,%d,%d)", op, name, t.n,
                          t.h, t.w, t.c);
    size_t end = 0;
    if (!tensor_end_byte(t, &end))
        return glow_error(GLOW_ERR_SHAPE,
                          "%s: tensor '%s' (%d,%d,%d,%d) at element %zu ends beyond any address, past its buffer "
                          "of %zu bytes",
                          op, name, t.n, t.h, t.w, t.c, t.off, t.buf->bytes);
    if (end > t.buf->bytes)
        return glow_error(GLOW_ERR_SHAPE,
                          "%s: tensor '%s' (%d,%d,%d,%d) at element %zu ends at byte %zu, past its buffer of %zu bytes",
                          op, name, t.n, t.h, t.w, t.c, t.off, end, t.buf->bytes);
    return GLOW_OK;
}

static glow_status check_optional(glow_backend *be, const char *op, const char *name, glow_tensor t)
{
    return t.buf == NULL ? GLOW_OK : check_tensor(be, op, name, t);
}

static glow_status check_same_pixels(const char *op, const char *an, glow_tensor a, const char *bn, glow_tensor b)
{
    if (a.n != b.n || a.h != b.h || a.w != b.w)
        return glow_error(GLOW_ERR_SHAPE, "%s: '%s' (%d,%d,%d,%d) and '%s' (%d,%d,%d,%d) differ in N, H or W", op, an,
                          a.n, a.h, a.w, a.c, bn, b.n, b.h, b.w, b.c);
    return GLOW_OK;
}

static glow_status check_same_shape(const char *op, const char *an, glow_tensor a, const char *bn, glow_tensor b)
{
    if (a.n != b.n || a.h != b.h || a.w != b.w || a.c != b.c)
        return glow_error(GLOW_ERR_SHAPE, "%s: '%s' (%d,%d,%d,%d) and '%s' (%d,%d,%d,%d) differ in shape", op, an, a.n,
                          a.h, a.w, a.c, bn, b.n, b.h, b.w, b.c);
    return GLOW_OK;
}

static glow_status check_count(const char *op, const char *name, glow_tensor t, size_t count)
{
    if (glow_tensor_count(t) != count)
        return glow_error(GLOW_ERR_SHAPE, "%s: '%s' has %zu elements, expected %zu", op, name, glow_tensor_count(t),
                          count);
    return GLOW_OK;
}

static glow_status check_square(const char *op, const char *name, glow_tensor t, int c)
{
    if (t.n != c || t.h != 1 || t.w != 1 || t.c != c)
        return glow_error(GLOW_ERR_SHAPE, "%s: '%s' must be (%d,1,1,%d), got (%d,%d,%d,%d)", op, name, c, c, t.n, t.h,
                          t.w, t.c);
    return GLOW_OK;
}

static glow_status check_disjoint(const char *op, const char *an, glow_tensor a, const char *bn, glow_tensor b)
{
    if (a.buf != b.buf)
        return GLOW_OK;
    size_t a_end = a.off + glow_tensor_count(a), b_end = b.off + glow_tensor_count(b);
    if (a.off < b_end && b.off < a_end)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: '%s' and '%s' overlap in memory", op, an, bn);
    return GLOW_OK;
}

/* y may alias x exactly, but must not overlap it partially. */
static glow_status check_alias_ok(const char *op, const char *an, glow_tensor a, const char *bn, glow_tensor b)
{
    if (a.buf == b.buf && a.off == b.off)
        return GLOW_OK;
    return check_disjoint(op, an, a, bn, b);
}

static int is_finite_value(float v)
{
    return isfinite(v);
}

/* ---- elementwise and data movement ---------------------------------------- */

glow_status glow_fill(glow_backend *be, glow_tensor t, float value)
{
    GLOW_TRY(check_tensor(be, "fill", "t", t));
    return be->ops->fill(be, t, value);
}

glow_status glow_copy_channels(glow_backend *be, glow_tensor src, int src_c0, glow_tensor dst, int dst_c0, int count,
                               int accumulate)
{
    const char *op = "copy_channels";
    GLOW_TRY(check_tensor(be, op, "src", src));
    GLOW_TRY(check_tensor(be, op, "dst", dst));
    GLOW_TRY(check_same_pixels(op, "src", src, "dst", dst));
    GLOW_TRY(check_disjoint(op, "src", src, "dst", dst));
    if (count <= 0 || src_c0 < 0 || dst_c0 < 0 || src_c0 + count > src.c || dst_c0 + count > dst.c)
        return glow_error(GLOW_ERR_SHAPE, "%s: channels [%d,%d) of src (C=%d) to [%d,%d) of dst (C=%d) out of range",
                          op, src_c0, src_c0 + count, src.c, dst_c0, dst_c0 + count, dst.c);
    return be->ops->copy_channels(be, src, src_c0, dst, dst_c0, count, accumulate);
}

static glow_status check_split(glow_backend *be, const char *op, glow_tensor x, glow_tensor a, glow_tensor b)
{
    GLOW_TRY(check_tensor(be, op, "x", x));
    GLOW_TRY(check_tensor(be, op, "a", a));
    GLOW_TRY(check_tensor(be, op, "b", b));
    if (x.c % 2 != 0)
        return glow_error(GLOW_ERR_SHAPE, "%s: C=%d is odd; a split needs an even channel count", op, x.c);
    GLOW_TRY(check_same_pixels(op, "x", x, "a", a));
    GLOW_TRY(check_same_pixels(op, "x", x, "b", b));
    if (a.c != x.c / 2 || b.c != x.c / 2)
        return glow_error(GLOW_ERR_SHAPE, "%s: halves of C=%d must have %d channels, got %d and %d", op, x.c,
                          x.c / 2, a.c, b.c);
    return GLOW_OK;
}

glow_status glow_split_channels(glow_backend *be, glow_tensor x, glow_tensor a, glow_tensor b)
{
    GLOW_TRY(check_split(be, "split", x, a, b));
    GLOW_TRY(glow_copy_channels(be, x, 0, a, 0, a.c, 0));
    return glow_copy_channels(be, x, a.c, b, 0, b.c, 0);
}

glow_status glow_concat_channels(glow_backend *be, glow_tensor a, glow_tensor b, glow_tensor x, int accumulate)
{
    GLOW_TRY(check_split(be, "concat", x, a, b));
    GLOW_TRY(glow_copy_channels(be, a, 0, x, 0, a.c, accumulate));
    return glow_copy_channels(be, b, 0, x, a.c, b.c, accumulate);
}

static glow_status check_squeeze_pair(glow_backend *be, const char *op, glow_tensor big, glow_tensor small)
{
    GLOW_TRY(check_tensor(be, op, "x", big));
    GLOW_TRY(check_tensor(be, op, "y", small));
    if (big.h % 2 != 0 || big.w % 2 != 0)
        return glow_error(GLOW_ERR_SHAPE, "%s: H=%d and W=%d must both be even for a 2x2 squeeze", op, big.h, big.w);
    if (small.n != big.n || small.h != big.h / 2 || small.w != big.w / 2 || small.c != big.c * 4)
        return glow_error(GLOW_ERR_SHAPE, "%s: x (%d,%d,%d,%d) needs y (%d,%d,%d,%d), got (%d,%d,%d,%d)", op, big.n,
                          big.h, big.w, big.c, big.n, big.h / 2, big.w / 2, big.c * 4, small.n, small.h, small.w,
                          small.c);
    return check_disjoint(op, "x", big, "y", small);
}

glow_status glow_squeeze(glow_backend *be, glow_tensor x, glow_tensor y, int accumulate)
{
    GLOW_TRY(check_squeeze_pair(be, "squeeze", x, y));
    return be->ops->squeeze(be, x, y, accumulate);
}

glow_status glow_unsqueeze(glow_backend *be, glow_tensor y, glow_tensor x, int accumulate)
{
    GLOW_TRY(check_squeeze_pair(be, "unsqueeze", x, y));
    return be->ops->unsqueeze(be, y, x, accumulate);
}

glow_status glow_relu_backward(glow_backend *be, glow_tensor y, glow_tensor dy)
{
    GLOW_TRY(check_tensor(be, "relu_backward", "y", y));
    GLOW_TRY(check_tensor(be, "relu_backward", "dy", dy));
    GLOW_TRY(check_same_shape("relu_backward", "y", y, "dy", dy));
    return be->ops->relu_backward(be, y, dy);
}

glow_status glow_add_scalar(glow_backend *be, glow_tensor t, float value)
{
    GLOW_TRY(check_tensor(be, "add_scalar", "t", t));
    return be->ops->add_scalar(be, t, value);
}

glow_status glow_logdet_sum(glow_backend *be, glow_tensor v, float scale, glow_tensor ld)
{
    GLOW_TRY(check_tensor(be, "logdet_sum", "v", v));
    GLOW_TRY(check_tensor(be, "logdet_sum", "ld", ld));
    return be->ops->logdet_sum(be, v, scale, ld);
}

/* ---- actnorm ------------------------------------------------------------- */

static glow_status check_channel_vec(glow_backend *be, const char *op, const char *name, glow_tensor v, int c)
{
    GLOW_TRY(check_tensor(be, op, name, v));
    return check_count(op, name, v, (size_t)c);
}

static glow_status check_actnorm(glow_backend *be, const char *op, glow_tensor x, glow_tensor bias, glow_tensor logs)
{
    GLOW_TRY(check_tensor(be, op, "x", x));
    GLOW_TRY(check_channel_vec(be, op, "bias", bias, x.c));
    return check_channel_vec(be, op, "logs", logs, x.c);
}

glow_status glow_actnorm_forward(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs, glow_tensor y)
{
    GLOW_TRY(check_actnorm(be, "actnorm_forward", x, bias, logs));
    GLOW_TRY(check_tensor(be, "actnorm_forward", "y", y));
    GLOW_TRY(check_same_shape("actnorm_forward", "x", x, "y", y));
    GLOW_TRY(check_alias_ok("actnorm_forward", "x", x, "y", y));
    return be->ops->actnorm_forward(be, x, bias, logs, y);
}

glow_status glow_actnorm_inverse(glow_backend *be, glow_tensor y, glow_tensor bias, glow_tensor logs, glow_tensor x)
{
    GLOW_TRY(check_actnorm(be, "actnorm_inverse", y, bias, logs));
    GLOW_TRY(check_tensor(be, "actnorm_inverse", "x", x));
    GLOW_TRY(check_same_shape("actnorm_inverse", "y", y, "x", x));
    GLOW_TRY(check_alias_ok("actnorm_inverse", "y", y, "x", x));
    return be->ops->actnorm_inverse(be, y, bias, logs, x);
}

glow_status glow_actnorm_backward(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor bias, glow_tensor logs,
                                  glow_tensor dx, glow_tensor dbias, glow_tensor dlogs)
{
    const char *op = "actnorm_backward";
    GLOW_TRY(check_actnorm(be, op, x, bias, logs));
    GLOW_TRY(check_tensor(be, op, "dy", dy));
    GLOW_TRY(check_tensor(be, op, "dx", dx));
    GLOW_TRY(check_same_shape(op, "x", x, "dy", dy));
    GLOW_TRY(check_same_shape(op, "x", x, "dx", dx));
    GLOW_TRY(check_disjoint(op, "dy", dy, "dx", dx));
    GLOW_TRY(check_channel_vec(be, op, "dbias", dbias, x.c));
    GLOW_TRY(check_channel_vec(be, op, "dlogs", dlogs, x.c));
    return be->ops->actnorm_backward(be, x, dy, bias, logs, dx, dbias, dlogs);
}

glow_status glow_actnorm_init(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs)
{
    GLOW_TRY(check_actnorm(be, "actnorm_init", x, bias, logs));
    return be->ops->actnorm_init(be, x, bias, logs);
}

/* ---- LU 1x1 convolution --------------------------------------------------- */

static glow_status check_lu(glow_backend *be, const char *op, glow_tensor lower, glow_tensor upper, glow_tensor log_s,
                            glow_tensor sign, glow_tensor perm, int *c_out)
{
    GLOW_TRY(check_tensor(be, op, "lower", lower));
    int c = lower.c;
    GLOW_TRY(check_square(op, "lower", lower, c));
    GLOW_TRY(check_tensor(be, op, "upper", upper));
    GLOW_TRY(check_square(op, "upper", upper, c));
    GLOW_TRY(check_tensor(be, op, "perm", perm));
    GLOW_TRY(check_square(op, "perm", perm, c));
    GLOW_TRY(check_channel_vec(be, op, "log_s", log_s, c));
    GLOW_TRY(check_channel_vec(be, op, "sign", sign, c));
    *c_out = c;
    return GLOW_OK;
}

glow_status glow_lu_weight(glow_backend *be, glow_tensor lower, glow_tensor upper, glow_tensor log_s, glow_tensor sign,
                           glow_tensor perm, glow_tensor weight, int inverse)
{
    int c;
    GLOW_TRY(check_lu(be, "lu_weight", lower, upper, log_s, sign, perm, &c));
    GLOW_TRY(check_tensor(be, "lu_weight", "weight", weight));
    GLOW_TRY(check_square("lu_weight", "weight", weight, c));
    return be->ops->lu_weight(be, lower, upper, log_s, sign, perm, weight, inverse);
}

glow_status glow_lu_weight_pair(glow_backend *be, glow_tensor lower, glow_tensor upper, glow_tensor log_s,
                                glow_tensor sign, glow_tensor perm, glow_tensor weight, glow_tensor weight_inv)
{
    const char *op = "lu_weight_pair";
    int c;
    GLOW_TRY(check_lu(be, op, lower, upper, log_s, sign, perm, &c));
    GLOW_TRY(check_tensor(be, op, "weight", weight));
    GLOW_TRY(check_square(op, "weight", weight, c));
    GLOW_TRY(check_tensor(be, op, "weight_inv", weight_inv));
    GLOW_TRY(check_square(op, "weight_inv", weight_inv, c));
    GLOW_TRY(check_disjoint(op, "weight", weight, "weight_inv", weight_inv));
    return be->ops->lu_weight_pair(be, lower, upper, log_s, sign, perm, weight, weight_inv);
}

glow_status glow_lu_weight_backward(glow_backend *be, glow_tensor dweight, glow_tensor lower, glow_tensor upper,
                                    glow_tensor log_s, glow_tensor sign, glow_tensor perm, glow_tensor dlower,
                                    glow_tensor dupper, glow_tensor dlog_s)
{
    const char *op = "lu_weight_backward";
    int c;
    GLOW_TRY(check_lu(be, op, lower, upper, log_s, sign, perm, &c));
    GLOW_TRY(check_tensor(be, op, "dweight", dweight));
    GLOW_TRY(check_square(op, "dweight", dweight, c));
    GLOW_TRY(check_tensor(be, op, "dlower", dlower));
    GLOW_TRY(check_square(op, "dlower", dlower, c));
    GLOW_TRY(check_tensor(be, op, "dupper", dupper));
    GLOW_TRY(check_square(op, "dupper", dupper, c));
    GLOW_TRY(check_channel_vec(be, op, "dlog_s", dlog_s, c));
    return be->ops->lu_weight_backward(be, dweight, lower, upper, log_s, sign, perm, dlower, dupper, dlog_s);
}

/* ---- convolution ----------------------------------------------------------- */

static glow_status check_conv(glow_backend *be, const char *op, glow_tensor x, glow_tensor w, glow_tensor y)
{
    GLOW_TRY(check_tensor(be, op, "x", x));
    GLOW_TRY(check_tensor(be, op, "w", w));
    GLOW_TRY(check_tensor(be, op, "y", y));
    if (w.h != w.w || (w.h != 1 && w.h != 3))
        return glow_error(GLOW_ERR_SHAPE, "%s: kernel must be 1x1 or 3x3, got %dx%d", op, w.h, w.w);
    if (w.c != x.c)
        return glow_error(GLOW_ERR_SHAPE, "%s: weight has Ci=%d but x has C=%d", op, w.c, x.c);
    if (w.n != y.c)
        return glow_error(GLOW_ERR_SHAPE, "%s: weight has Co=%d but y has C=%d", op, w.n, y.c);
    GLOW_TRY(check_same_pixels(op, "x", x, "y", y));
    GLOW_TRY(check_disjoint(op, "x", x, "y", y));
    GLOW_TRY(check_disjoint(op, "x", x, "w", w));
    return check_disjoint(op, "y", y, "w", w);
}

glow_status glow_conv2d_forward(glow_backend *be, glow_tensor x, glow_tensor w, glow_tensor bias, glow_tensor y,
                                int relu)
{
    GLOW_TRY(check_conv(be, "conv2d_forward", x, w, y));
    if (bias.buf)
        GLOW_TRY(check_channel_vec(be, "conv2d_forward", "bias", bias, y.c));
    return be->ops->conv2d_forward(be, x, w, bias, y, relu);
}

glow_status glow_conv2d_backward_data(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor dx)
{
    GLOW_TRY(check_conv(be, "conv2d_backward_data", dx, w, dy));
    return be->ops->conv2d_backward_data(be, dy, w, dx);
}

glow_status glow_conv2d_backward_weight(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor dw,
                                        glow_tensor dbias)
{
    GLOW_TRY(check_conv(be, "conv2d_backward_weight", x, dw, dy));
    if (dbias.buf)
        GLOW_TRY(check_channel_vec(be, "conv2d_backward_weight", "dbias", dbias, dy.c));
    return be->ops->conv2d_backward_weight(be, x, dy, dw, dbias);
}

glow_status glow_channel_scale_forward(glow_backend *be, glow_tensor y, glow_tensor logs, float factor)
{
    GLOW_TRY(check_tensor(be, "channel_scale_forward", "y", y));
    GLOW_TRY(check_channel_vec(be, "channel_scale_forward", "logs", logs, y.c));
    return be->ops->channel_scale_forward(be, y, logs, factor);
}

glow_status glow_channel_scale_backward(glow_backend *be, glow_tensor y, glow_tensor dy, glow_tensor logs, float factor,
                                        glow_tensor dlogs)
{
    const char *op = "channel_scale_backward";
    GLOW_TRY(check_tensor(be, op, "y", y));
    GLOW_TRY(check_tensor(be, op, "dy", dy));
    GLOW_TRY(check_same_shape(op, "y", y, "dy", dy));
    GLOW_TRY(check_channel_vec(be, op, "logs", logs, y.c));
    GLOW_TRY(check_channel_vec(be, op, "dlogs", dlogs, y.c));
    return be->ops->channel_scale_backward(be, y, dy, logs, factor, dlogs);
}

/* ---- edge-indicator term of a padded 3x3 conv ------------------------------ */

static glow_status check_conv_edge(glow_backend *be, const char *op, glow_tensor w_edge, glow_tensor y)
{
    GLOW_TRY(check_tensor(be, op, "w_edge", w_edge));
    GLOW_TRY(check_tensor(be, op, "y", y));
    if (w_edge.n != y.c || w_edge.h != 3 || w_edge.w != 3 || w_edge.c != 1)
        return glow_error(GLOW_ERR_SHAPE, "%s: w_edge must be (Co,3,3,1) with Co = %d, got (%d,%d,%d,%d)", op, y.c,
                          w_edge.n, w_edge.h, w_edge.w, w_edge.c);
    return check_disjoint(op, "y", y, "w_edge", w_edge);
}

glow_status glow_conv2d_edge_forward(glow_backend *be, glow_tensor w_edge, glow_tensor y, int relu)
{
    GLOW_TRY(check_conv_edge(be, "conv2d_edge_forward", w_edge, y));
    return be->ops->conv2d_edge_forward(be, w_edge, y, relu);
}

glow_status glow_conv2d_edge_backward_weight(glow_backend *be, glow_tensor dy, glow_tensor dw_edge)
{
    GLOW_TRY(check_conv_edge(be, "conv2d_edge_backward_weight", dw_edge, dy));
    return be->ops->conv2d_edge_backward_weight(be, dy, dw_edge);
}

glow_status glow_zeroconv_forward(glow_backend *be, glow_tensor x, glow_tensor w, glow_tensor bias, glow_tensor logs,
                                  glow_tensor y)
{
    GLOW_TRY(glow_conv2d_forward(be, x, w, bias, y, 0));
    return glow_channel_scale_forward(be, y, logs, GLOW_ZEROCONV_LOGSCALE_FACTOR);
}

glow_status glow_zeroconv_backward(glow_backend *be, glow_tensor x, glow_tensor w, glow_tensor logs, glow_tensor y,
                                   glow_tensor dy, glow_tensor dx, glow_tensor dw, glow_tensor dbias, glow_tensor dlogs)
{
    GLOW_TRY(glow_channel_scale_backward(be, y, dy, logs, GLOW_ZEROCONV_LOGSCALE_FACTOR, dlogs));
    GLOW_TRY(glow_conv2d_backward_weight(be, x, dy, dw, dbias));
    if (dx.buf)
        GLOW_TRY(glow_conv2d_backward_data(be, dy, w, dx));
    return GLOW_OK;
}

/* ---- affine coupling ------------------------------------------------------- */

static glow_status check_coupling(glow_backend *be, const char *op, glow_tensor x, glow_tensor h)
{
    GLOW_TRY(check_tensor(be, op, "x", x));
    GLOW_TRY(check_tensor(be, op, "h", h));
    if (x.c < 2)
        return glow_error(GLOW_ERR_SHAPE, "%s: coupling needs at least 2 channels, got %d", op, x.c);
    GLOW_TRY(check_same_pixels(op, "x", x, "h", h));
    int cb = x.c - x.c / 2;
    if (h.c != 2 * cb)
        return glow_error(GLOW_ERR_SHAPE, "%s: x has C=%d so h needs 2*%d=%d channels (shift, raw), got %d", op, x.c,
                          cb, 2 * cb, h.c);
    return GLOW_OK;
}

static glow_status check_ld(glow_backend *be, const char *op, glow_tensor ld, int n)
{
    GLOW_TRY(check_tensor(be, op, "ld", ld));
    return check_count(op, "ld", ld, (size_t)n);
}

glow_status glow_coupling_forward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor y, glow_tensor ld)
{
    const char *op = "coupling_forward";
    GLOW_TRY(check_coupling(be, op, x, h));
    GLOW_TRY(check_tensor(be, op, "y", y));
    GLOW_TRY(check_same_shape(op, "x", x, "y", y));
    GLOW_TRY(check_disjoint(op, "x", x, "y", y));
    GLOW_TRY(check_disjoint(op, "h", h, "y", y));
    GLOW_TRY(check_ld(be, op, ld, x.n));
    return be->ops->coupling_forward(be, x, h, y, ld);
}

glow_status glow_coupling_inverse(glow_backend *be, glow_tensor y, glow_tensor h, glow_tensor x)
{
    const char *op = "coupling_inverse";
    GLOW_TRY(check_coupling(be, op, y, h));
    GLOW_TRY(check_tensor(be, op, "x", x));
    GLOW_TRY(check_same_shape(op, "y", y, "x", x));
    GLOW_TRY(check_disjoint(op, "x", x, "y", y));
    GLOW_TRY(check_disjoint(op, "h", h, "x", x));
    return be->ops->coupling_inverse(be, y, h, x);
}

glow_status glow_coupling_backward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor dy, float g,
                                   glow_tensor dx, glow_tensor dh)
{
    const char *op = "coupling_backward";
    GLOW_TRY(check_coupling(be, op, x, h));
    GLOW_TRY(check_tensor(be, op, "dy", dy));
    GLOW_TRY(check_tensor(be, op, "dx", dx));
    GLOW_TRY(check_tensor(be, op, "dh", dh));
    GLOW_TRY(check_same_shape(op, "x", x, "dy", dy));
    GLOW_TRY(check_same_shape(op, "x", x, "dx", dx));
    GLOW_TRY(check_same_shape(op, "h", h, "dh", dh));
    GLOW_TRY(check_disjoint(op, "dy", dy, "dx", dx));
    if (!is_finite_value(g))
        return glow_error(GLOW_ERR_NONFINITE, "%s: log-det gradient g is not finite", op);
    return be->ops->coupling_backward(be, x, h, dy, g, dx, dh);
}

/* ---- fused flow-step ops (semantics: glow/ops.def) -------------------------- */

static glow_status check_invconv(glow_backend *be, const char *op, glow_tensor x, glow_tensor bias, glow_tensor logs,
                                 glow_tensor weight)
{
    GLOW_TRY(check_actnorm(be, op, x, bias, logs));
    GLOW_TRY(check_tensor(be, op, "weight", weight));
    return check_square(op, "weight", weight, x.c);
}

/* Optional first-half view xa (N,H,W,Ca) of x (N,H,W,C), Ca = C/2, disjoint from `other`. */
static glow_status check_half(glow_backend *be, const char *op, const char *name, glow_tensor xa, glow_tensor x,
                              glow_tensor other)
{
    if (xa.buf == NULL)
        return GLOW_OK;
    GLOW_TRY(check_tensor(be, op, name, xa));
    GLOW_TRY(check_same_pixels(op, name, xa, "x", x));
    if (xa.c != x.c / 2)
        return glow_error(GLOW_ERR_SHAPE, "%s: '%s' must have C/2=%d channels, got %d", op, name, x.c / 2, xa.c);
    return check_disjoint(op, name, xa, "output", other);
}

glow_status glow_actnorm_invconv_forward(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs,
                                         glow_tensor weight, glow_tensor log_s, glow_tensor y, glow_tensor xa,
                                         glow_tensor ld)
{
    const char *op = "actnorm_invconv_forward";
    GLOW_TRY(check_invconv(be, op, x, bias, logs, weight));
    GLOW_TRY(check_channel_vec(be, op, "log_s", log_s, x.c));
    GLOW_TRY(check_tensor(be, op, "y", y));
    GLOW_TRY(check_same_shape(op, "x", x, "y", y));
    GLOW_TRY(check_disjoint(op, "x", x, "y", y));
    GLOW_TRY(check_half(be, op, "xa", xa, x, y));
    GLOW_TRY(check_tensor(be, op, "ld", ld));
    GLOW_TRY(check_count(op, "ld", ld, (size_t)x.n));
    return be->ops->actnorm_invconv_forward(be, x, bias, logs, weight, log_s, y, xa, ld);
}

glow_status glow_actnorm_invconv_inverse(glow_backend *be, glow_tensor y, glow_tensor bias, glow_tensor logs,
                                         glow_tensor weight_inv, glow_tensor x, glow_tensor xa)
{
    const char *op = "actnorm_invconv_inverse";
    GLOW_TRY(check_invconv(be, op, y, bias, logs, weight_inv));
    GLOW_TRY(check_tensor(be, op, "x", x));
    GLOW_TRY(check_same_shape(op, "y", y, "x", x));
    GLOW_TRY(check_disjoint(op, "y", y, "x", x));
    GLOW_TRY(check_half(be, op, "xa", xa, x, x));
    GLOW_TRY(check_half(be, op, "xa", xa, x, y));
    return be->ops->actnorm_invconv_inverse(be, y, bias, logs, weight_inv, x, xa);
}

glow_status glow_actnorm_invconv_backward(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor dxa,
                                          glow_tensor bias, glow_tensor logs, glow_tensor weight, float ld_grad,
                                          glow_tensor dx, glow_tensor dweight, glow_tensor dbias, glow_tensor dlogs,
                                          glow_tensor dlog_s)
{
    const char *op = "actnorm_invconv_backward";
    GLOW_TRY(check_invconv(be, op, x, bias, logs, weight));
    GLOW_TRY(check_tensor(be, op, "dy", dy));
    GLOW_TRY(check_same_shape(op, "x", x, "dy", dy));
    GLOW_TRY(check_tensor(be, op, "dx", dx));
    GLOW_TRY(check_same_shape(op, "x", x, "dx", dx));
    GLOW_TRY(check_disjoint(op, "dx", dx, "dy", dy));
    GLOW_TRY(check_disjoint(op, "dx", dx, "x", x));
    GLOW_TRY(check_half(be, op, "dxa", dxa, x, dx));
    GLOW_TRY(check_tensor(be, op, "dweight", dweight));
    GLOW_TRY(check_square(op, "dweight", dweight, x.c));
    GLOW_TRY(check_channel_vec(be, op, "dbias", dbias, x.c));
    GLOW_TRY(check_channel_vec(be, op, "dlogs", dlogs, x.c));
    GLOW_TRY(check_channel_vec(be, op, "dlog_s", dlog_s, x.c));
    if (!is_finite_value(ld_grad))
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: ld_grad %g is not finite", op, (double)ld_grad);
    return be->ops->actnorm_invconv_backward(be, x, dy, dxa, bias, logs, weight, ld_grad, dx, dweight, dbias, dlogs,
                                             dlog_s);
}

/* hin -> h conv of the fused zero-conv: shapes of w, bias, logs, edge, h; x/y the coupling pair. */
static glow_status check_zeroconv_stage(glow_backend *be, const char *op, glow_tensor hin, glow_tensor w,
                                        glow_tensor bias, glow_tensor edge, glow_tensor logs, float factor,
                                        glow_tensor x, glow_tensor h, glow_tensor out)
{
    GLOW_TRY(check_conv(be, op, hin, w, h));
    GLOW_TRY(check_channel_vec(be, op, "bias", bias, h.c));
    GLOW_TRY(check_channel_vec(be, op, "logs", logs, h.c));
    if (edge.buf) {
        GLOW_TRY(check_tensor(be, op, "edge", edge));
        if (edge.n != 1 || edge.h != h.h || edge.w != h.w || edge.c != h.c)
            return glow_error(GLOW_ERR_SHAPE, "%s: 'edge' must be (1,%d,%d,%d), got (%d,%d,%d,%d)", op, h.h, h.w, h.c,
                              edge.n, edge.h, edge.w, edge.c);
    }
    if (!is_finite_value(factor))
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: factor %g is not finite", op, (double)factor);
    GLOW_TRY(check_coupling(be, op, x, h));
    GLOW_TRY(check_tensor(be, op, "out", out));
    GLOW_TRY(check_same_shape(op, "in", x, "out", out));
    GLOW_TRY(check_disjoint(op, "in", x, "out", out));
    GLOW_TRY(check_disjoint(op, "h", h, "out", out));
    GLOW_TRY(check_disjoint(op, "h", h, "in", x));
    return check_disjoint(op, "hin", hin, "out", out);
}

glow_status glow_coupling_zeroconv_forward(glow_backend *be, glow_tensor hin, glow_tensor w, glow_tensor bias,
                                           glow_tensor edge, glow_tensor logs, float factor, glow_tensor x,
                                           glow_tensor h, glow_tensor y, glow_tensor ld)
{
    const char *op = "coupling_zeroconv_forward";
    GLOW_TRY(check_zeroconv_stage(be, op, hin, w, bias, edge, logs, factor, x, h, y));
    GLOW_TRY(check_ld(be, op, ld, x.n));
    return be->ops->coupling_zeroconv_forward(be, hin, w, bias, edge, logs, factor, x, h, y, ld);
}

glow_status glow_coupling_zeroconv_inverse(glow_backend *be, glow_tensor hin, glow_tensor w, glow_tensor bias,
                                           glow_tensor edge, glow_tensor logs, float factor, glow_tensor y,
                                           glow_tensor h, glow_tensor x)
{
    const char *op = "coupling_zeroconv_inverse";
    GLOW_TRY(check_zeroconv_stage(be, op, hin, w, bias, edge, logs, factor, y, h, x));
    return be->ops->coupling_zeroconv_inverse(be, hin, w, bias, edge, logs, factor, y, h, x);
}

glow_status glow_coupling_zeroconv_backward(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor dy, float g,
                                            glow_tensor logs, float factor, glow_tensor dx, glow_tensor dhu,
                                            glow_tensor dlogs)
{
    const char *op = "coupling_zeroconv_backward";
    GLOW_TRY(check_coupling(be, op, x, h));
    GLOW_TRY(check_tensor(be, op, "dy", dy));
    GLOW_TRY(check_same_shape(op, "x", x, "dy", dy));
    GLOW_TRY(check_tensor(be, op, "dx", dx));
    GLOW_TRY(check_same_shape(op, "x", x, "dx", dx));
    GLOW_TRY(check_tensor(be, op, "dhu", dhu));
    GLOW_TRY(check_same_shape(op, "h", h, "dhu", dhu));
    GLOW_TRY(check_channel_vec(be, op, "logs", logs, h.c));
    GLOW_TRY(check_channel_vec(be, op, "dlogs", dlogs, h.c));
    GLOW_TRY(check_disjoint(op, "dx", dx, "dy", dy));
    GLOW_TRY(check_disjoint(op, "dx", dx, "dhu", dhu));
    GLOW_TRY(check_disjoint(op, "dhu", dhu, "dy", dy));
    GLOW_TRY(check_disjoint(op, "dhu", dhu, "h", h));
    if (!is_finite_value(g) || !is_finite_value(factor))
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: g %g or factor %g is not finite", op, (double)g, (double)factor);
    return be->ops->coupling_zeroconv_backward(be, x, h, dy, g, logs, factor, dx, dhu, dlogs);
}

glow_status glow_conv2d_backward_data_relu(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor y,
                                           glow_tensor dx)
{
    const char *op = "conv2d_backward_data_relu";
    GLOW_TRY(check_conv(be, op, dx, w, dy));
    if (y.buf) {
        GLOW_TRY(check_tensor(be, op, "y", y));
        GLOW_TRY(check_same_shape(op, "y", y, "dx", dx));
        GLOW_TRY(check_disjoint(op, "y", y, "dx", dx));
    }
    return be->ops->conv2d_backward_data_relu(be, dy, w, y, dx);
}

/* ---- Gaussian prior ---------------------------------------------------------- */

static glow_status check_prior(glow_backend *be, const char *op, glow_tensor z, glow_tensor h)
{
    GLOW_TRY(check_tensor(be, op, "z", z));
    GLOW_TRY(check_tensor(be, op, "h", h));
    GLOW_TRY(check_same_pixels(op, "z", z, "h", h));
    if (h.c != 2 * z.c)
        return glow_error(GLOW_ERR_SHAPE, "%s: z has C=%d so h needs %d channels (mean, logsd), got %d", op, z.c,
                          2 * z.c, h.c);
    return GLOW_OK;
}

glow_status glow_gaussian_logp(glow_backend *be, glow_tensor z, glow_tensor h, glow_tensor logp)
{
    GLOW_TRY(check_prior(be, "gaussian_logp", z, h));
    GLOW_TRY(check_tensor(be, "gaussian_logp", "logp", logp));
    GLOW_TRY(check_count("gaussian_logp", "logp", logp, (size_t)z.n));
    return be->ops->gaussian_logp(be, z, h, logp);
}

glow_status glow_gaussian_logp_backward(glow_backend *be, glow_tensor z, glow_tensor h, float g, glow_tensor dz,
                                        glow_tensor dh)
{
    const char *op = "gaussian_logp_backward";
    GLOW_TRY(check_prior(be, op, z, h));
    GLOW_TRY(check_optional(be, op, "dz", dz));
    if (dz.buf)
        GLOW_TRY(check_same_shape(op, "z", z, "dz", dz));
    GLOW_TRY(check_tensor(be, op, "dh", dh));
    GLOW_TRY(check_same_shape(op, "h", h, "dh", dh));
    if (!is_finite_value(g))
        return glow_error(GLOW_ERR_NONFINITE, "%s: log-density gradient g is not finite", op);
    return be->ops->gaussian_logp_backward(be, z, h, g, dz, dh);
}

glow_status glow_gaussian_sample(glow_backend *be, glow_tensor h, float temperature, glow_rng rng, glow_tensor z)
{
    GLOW_TRY(check_prior(be, "gaussian_sample", z, h));
    GLOW_TRY(check_disjoint("gaussian_sample", "z", z, "h", h));
    return be->ops->gaussian_sample(be, h, temperature, rng, z);
}

/* ---- class-conditional prior and class prediction ---------------------------- */

/* v must be (x.n, 1, 1, x.c), x and v disjoint. */
static glow_status check_sample_vec(glow_backend *be, const char *op, glow_tensor x, glow_tensor v)
{
    GLOW_TRY(check_tensor(be, op, "x", x));
    GLOW_TRY(check_tensor(be, op, "v", v));
    if (v.n != x.n || v.h != 1 || v.w != 1 || v.c != x.c)
        return glow_error(GLOW_ERR_SHAPE, "%s: 'v' must be (%d,1,1,%d) for x (%d,%d,%d,%d), got (%d,%d,%d,%d)", op,
                          x.n, x.c, x.n, x.h, x.w, x.c, v.n, v.h, v.w, v.c);
    return check_disjoint(op, "x", x, "v", v);
}

glow_status glow_spatial_sum(glow_backend *be, glow_tensor x, float scale, glow_tensor v, int accumulate)
{
    GLOW_TRY(check_sample_vec(be, "spatial_sum", x, v));
    if (!is_finite_value(scale))
        return glow_error(GLOW_ERR_NONFINITE, "spatial_sum: scale is not finite");
    return be->ops->spatial_sum(be, x, scale, v, accumulate != 0);
}

glow_status glow_spatial_broadcast_add(glow_backend *be, glow_tensor v, float scale, glow_tensor x)
{
    GLOW_TRY(check_sample_vec(be, "spatial_broadcast_add", x, v));
    if (!is_finite_value(scale))
        return glow_error(GLOW_ERR_NONFINITE, "spatial_broadcast_add: scale is not finite");
    return be->ops->spatial_broadcast_add(be, v, scale, x);
}

/* logits and target (N,1,1,K) of the same shape, `out` (per-sample losses or the
 * logits' gradient) disjoint from both. */
static glow_status check_xent(glow_backend *be, const char *op, glow_tensor logits, glow_tensor target,
                              const char *out_name, glow_tensor out)
{
    GLOW_TRY(check_tensor(be, op, "logits", logits));
    GLOW_TRY(check_tensor(be, op, "target", target));
    GLOW_TRY(check_tensor(be, op, out_name, out));
    if (logits.h != 1 || logits.w != 1)
        return glow_error(GLOW_ERR_SHAPE, "%s: 'logits' must be (N,1,1,K), got (%d,%d,%d,%d)", op, logits.n,
                          logits.h, logits.w, logits.c);
    GLOW_TRY(check_same_shape(op, "logits", logits, "target", target));
    GLOW_TRY(check_disjoint(op, "logits", logits, out_name, out));
    return check_disjoint(op, "target", target, out_name, out);
}

glow_status glow_softmax_xent(glow_backend *be, glow_tensor logits, glow_tensor target, glow_tensor loss)
{
    GLOW_TRY(check_xent(be, "softmax_xent", logits, target, "loss", loss));
    GLOW_TRY(check_count("softmax_xent", "loss", loss, (size_t)logits.n));
    return be->ops->softmax_xent(be, logits, target, loss);
}

glow_status glow_softmax_xent_backward(glow_backend *be, glow_tensor logits, glow_tensor target, float g,
                                       glow_tensor dlogits)
{
    const char *op = "softmax_xent_backward";
    GLOW_TRY(check_xent(be, op, logits, target, "dlogits", dlogits));
    GLOW_TRY(check_same_shape(op, "logits", logits, "dlogits", dlogits));
    if (!is_finite_value(g))
        return glow_error(GLOW_ERR_NONFINITE, "%s: loss gradient g is not finite", op);
    return be->ops->softmax_xent_backward(be, logits, target, g, dlogits);
}

/* ---- RNG and dequantisation ------------------------------------------------- */

glow_status glow_rng_fill_uniform(glow_backend *be, glow_rng rng, glow_tensor out)
{
    GLOW_TRY(check_tensor(be, "rng_uniform", "out", out));
    return be->ops->rng_fill_uniform(be, rng, out);
}

glow_status glow_rng_fill_normal(glow_backend *be, glow_rng rng, glow_tensor out)
{
    GLOW_TRY(check_tensor(be, "rng_normal", "out", out));
    return be->ops->rng_fill_normal(be, rng, out);
}

glow_status glow_dequantize(glow_backend *be, const glow_buffer *pixels, size_t pixel_off, int n_bits, glow_rng rng,
                            glow_tensor x)
{
    GLOW_TRY(check_tensor(be, "dequantize", "x", x));
    if (pixels == NULL || pixels->backend != be)
        return glow_error(GLOW_ERR_INVALID_ARG, "dequantize: pixel buffer missing or from another backend");
    if (pixel_off % 4 != 0)
        return glow_error(GLOW_ERR_INVALID_ARG, "dequantize: pixel offset %zu is not a multiple of 4", pixel_off);
    if (pixel_off > pixels->bytes || glow_tensor_count(x) > pixels->bytes - pixel_off)
        return glow_error(GLOW_ERR_SHAPE, "dequantize: %zu pixels at byte %zu run past the buffer of %zu bytes",
                          glow_tensor_count(x), pixel_off, pixels->bytes);
    if (n_bits < 1 || n_bits > 8)
        return glow_error(GLOW_ERR_INVALID_ARG, "dequantize: n_bits=%d outside 1..8", n_bits);
    return be->ops->dequantize(be, pixels, pixel_off, n_bits, rng, x);
}

/* ---- optimiser ---------------------------------------------------------------- */

glow_status glow_sum_squares(glow_backend *be, glow_tensor g, glow_tensor out)
{
    GLOW_TRY(check_tensor(be, "sum_squares", "g", g));
    GLOW_TRY(check_tensor(be, "sum_squares", "out", out));
    GLOW_TRY(check_count("sum_squares", "out", out, 1));
    return be->ops->sum_squares(be, g, out);
}

glow_status glow_optimizer_step(glow_backend *be, glow_tensor params, glow_tensor grads, glow_tensor m, glow_tensor v,
                                const glow_adam_params *hp, glow_tensor sumsq)
{
    const char *op = "optimizer_step";
    GLOW_TRY(check_tensor(be, op, "params", params));
    size_t n = glow_tensor_count(params);
    GLOW_TRY(check_tensor(be, op, "grads", grads));
    GLOW_TRY(check_count(op, "grads", grads, n));
    GLOW_TRY(check_tensor(be, op, "m", m));
    GLOW_TRY(check_count(op, "m", m, n));
    GLOW_TRY(check_tensor(be, op, "v", v));
    GLOW_TRY(check_count(op, "v", v, n));
    if (hp == NULL || hp->step < 1 || !(hp->lr >= 0.0f) || !(hp->eps > 0.0f) || hp->beta1 < 0.0f ||
        hp->beta1 >= 1.0f || hp->beta2 < 0.0f || hp->beta2 >= 1.0f)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: invalid hyper-parameters", op);
    /* sumsq: required for clipping, optional otherwise (the non-finite guard, glow/ops.def) */
    if (hp->max_grad_norm > 0.0f || sumsq.buf != NULL) {
        GLOW_TRY(check_tensor(be, op, "sumsq", sumsq));
        GLOW_TRY(check_count(op, "sumsq", sumsq, 1));
    }
    return be->ops->optimizer_step(be, params, grads, m, v, hp, sumsq);
}
