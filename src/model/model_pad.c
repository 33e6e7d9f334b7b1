/* The model's padded 3x3 convs with its padding mode (glow_model_config.pad):
 *   GLOW_PAD_ZERO  y = conv3x3(x, w) + b                       (zero padding)
 *   GLOW_PAD_EDGE  y = conv3x3(x, w) + b + e,  e[i][j][co] = sum of w_edge[co][ky][kx] over
 *                  the taps (ky,kx) of pixel (i,j) that fall outside the image
 * (openai/glow's edge_bias: the input padded with zeros plus an indicator channel that is
 * 1 in the border, then a valid conv). The edge term is added right after the conv, before
 * its activation (ReLU) or the zero conv's scale exp(3 logs); its gradient needs only dy. */
#include "model_internal.h"

static glow_tensor P(const glow_model *m, int index)
{
    return model_param(m, GLOW_ARENA_PARAMS, index);
}

static glow_tensor G(const glow_model *m, int index)
{
    return model_param(m, MODEL_ARENA_GRADS, index);
}

glow_status model_conv1_forward(glow_model *m, glow_tensor x, int w, int b, int edge, glow_tensor y)
{
    if (edge < 0)
        return glow_conv2d_forward(m->be, x, P(m, w), P(m, b), y, 1);
    GLOW_TRY(glow_conv2d_forward(m->be, x, P(m, w), P(m, b), y, 0));
    return glow_conv2d_edge_forward(m->be, P(m, edge), y, 1);
}

glow_status model_zeroconv_forward(glow_model *m, glow_tensor x, int w, int b, int logs, int edge, glow_tensor y)
{
    if (edge < 0)
        return glow_zeroconv_forward(m->be, x, P(m, w), P(m, b), P(m, logs), y);
    GLOW_TRY(glow_conv2d_forward(m->be, x, P(m, w), P(m, b), y, 0));
    GLOW_TRY(glow_conv2d_edge_forward(m->be, P(m, edge), y, 0));
    return glow_channel_scale_forward(m->be, y, P(m, logs), GLOW_ZEROCONV_LOGSCALE_FACTOR);
}

glow_status model_zeroconv_backward(glow_model *m, glow_tensor x, glow_tensor y, glow_tensor dy, glow_tensor dx, int w,
                                    int b, int logs, int edge)
{
    /* dy becomes the gradient of the unscaled output, which the edge term shares */
    GLOW_TRY(glow_zeroconv_backward(m->be, x, P(m, w), P(m, logs), y, dy, dx, G(m, w), G(m, b), G(m, logs)));
    if (edge >= 0)
        GLOW_TRY(glow_conv2d_edge_backward_weight(m->be, dy, G(m, edge)));
    return GLOW_OK;
}
