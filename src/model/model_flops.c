/* FLOP count of a training step from the configuration (formula in glow/model_flops.h).
 * Geometry as in model.c: level 0 is (H/2, W/2, 4C); each later level halves H and W and
 * doubles C (keep C/2 channels, squeeze x4). */
#include "glow/model_flops.h"

double glow_conv_flops(double pixels, int k, int ci, int co)
{
    return 2.0 * pixels * (double)co * (double)(k * k) * (double)ci;
}

glow_status glow_model_count_flops(const glow_model_config *cfg, int batch, glow_model_flops *out)
{
    if (cfg == NULL || out == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "model flops: no configuration or output");
    if (batch < 1 || cfg->in_c < 1 || cfg->in_h < 1 || cfg->in_w < 1 || cfg->levels < 1 || cfg->levels > 16 ||
        cfg->steps < 1 || cfg->hidden < 1)
        return glow_error(GLOW_ERR_INVALID_ARG,
                          "model flops: batch %d, input %dx%dx%d, L=%d, K=%d, F=%d must all be positive (L <= 16)",
                          batch, cfg->in_c, cfg->in_h, cfg->in_w, cfg->levels, cfg->steps, cfg->hidden);
    const int div = 1 << cfg->levels;
    if (cfg->in_h % div != 0 || cfg->in_w % div != 0)
        return glow_error(GLOW_ERR_SHAPE, "model flops: input %dx%d must be divisible by 2^L = %d", cfg->in_h,
                          cfg->in_w, div);

    const int f = cfg->hidden;
    double fwd = 0.0, bwd = 0.0, recompute = 0.0;
    int h = cfg->in_h / 2, w = cfg->in_w / 2, c = 4 * cfg->in_c;
    for (int l = 0; l < cfg->levels; l++) {
        const double pixels = (double)batch * h * w;
        const int ca = c / 2, cb = c - c / 2;
        const double invconv = glow_conv_flops(pixels, 1, c, c);
        const double network = glow_conv_flops(pixels, 3, ca, f) + glow_conv_flops(pixels, 1, f, f) +
                               glow_conv_flops(pixels, 3, f, 2 * cb);
        fwd += cfg->steps * (invconv + network);
        bwd += cfg->steps * 2.0 * (invconv + network);
        recompute += cfg->steps * (invconv + network);
        if (l < cfg->levels - 1) {
            const double prior = glow_conv_flops(pixels, 3, c / 2, c);
            fwd += prior;
            bwd += 2.0 * prior;
            h /= 2;
            w /= 2;
            c *= 2;
        } else {
            const double top = glow_conv_flops(pixels, 3, c, 2 * c);
            fwd += top;
            bwd += top;
        }
    }
    out->forward = fwd;
    out->backward = bwd;
    out->step = fwd + bwd;
    out->reversible_recompute = recompute;
    return GLOW_OK;
}
