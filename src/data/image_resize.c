/* Centre crop and area resize of a decoded image to size x size (folder.h). */
#include <stdlib.h>
#include <string.h>

#include "folder_internal.h"

/* Weights of the source pixels 0..s-1 under output box o of n boxes over
 * [0, s): w(i) = overlap of [i, i + 1) with [o s / n, (o + 1) s / n), in units
 * of 1/n so that everything is an integer: box [o s, (o + 1) s) against
 * pixel [i n, (i + 1) n). Returns the first source index; *count weights. */
static int box_weights(int o, int s, int n, int64_t *w, int *count)
{
    const int64_t lo = (int64_t)o * s, hi = (int64_t)(o + 1) * s;
    const int first = (int)(lo / n);
    int k = 0;
    for (int i = first; i < s && (int64_t)i * n < hi; i++, k++) {
        int64_t a = (int64_t)i * n > lo ? (int64_t)i * n : lo;
        int64_t b = (int64_t)(i + 1) * n < hi ? (int64_t)(i + 1) * n : hi;
        w[k] = b - a;
    }
    *count = k;
    return first;
}

/* Channel c of pixel p (src_c channels) converted to dst_c channels. */
static int convert_channel(const uint8_t *p, int src_c, int dst_c, int c)
{
    const int color = src_c >= 3;
    if (dst_c == 3)
        return color ? p[c] : p[0];
    if (!color)
        return p[0];
    return (299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000;
}

glow_status image_crop_resize(const uint8_t *src, int w, int h, int src_c, int size, int dst_c, uint8_t *dst)
{
    if (w <= 0 || h <= 0 || src_c < 1 || src_c > 4 || size <= 0 || (dst_c != 1 && dst_c != 3))
        return glow_error(GLOW_ERR_INVALID_ARG, "crop/resize: %dx%dx%d to %dx%dx%d", w, h, src_c, size, size, dst_c);
    const int s = w < h ? w : h;
    const int x0 = (w - s) / 2, y0 = (h - s) / 2;
    /* A box spans at most s/size + 2 source pixels. */
    const int max_span = s / size + 2;
    int64_t *wx = malloc((size_t)size * max_span * sizeof *wx);
    int64_t *wy = malloc((size_t)max_span * sizeof *wy);
    int *fx = malloc((size_t)size * 2 * sizeof *fx);
    if (wx == NULL || wy == NULL || fx == NULL) {
        free(wx);
        free(wy);
        free(fx);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "crop/resize of %dx%d", w, h);
    }
    for (int ox = 0; ox < size; ox++)
        fx[2 * ox] = box_weights(ox, s, size, wx + (size_t)ox * max_span, &fx[2 * ox + 1]);
    /* Sum of weights over a box = s (per axis) in 1/size units: total s * s. */
    const int64_t norm = (int64_t)s * s;
    for (int oy = 0; oy < size; oy++) {
        int ny;
        const int first_y = box_weights(oy, s, size, wy, &ny);
        for (int ox = 0; ox < size; ox++) {
            const int first_x = fx[2 * ox], nx = fx[2 * ox + 1];
            const int64_t *wxo = wx + (size_t)ox * max_span;
            for (int c = 0; c < dst_c; c++) {
                int64_t acc = 0;
                for (int j = 0; j < ny; j++) {
                    const uint8_t *row = src + ((size_t)(y0 + first_y + j) * w + x0 + first_x) * src_c;
                    int64_t racc = 0;
                    for (int i = 0; i < nx; i++)
                        racc += wxo[i] * convert_channel(row + (size_t)i * src_c, src_c, dst_c, c);
                    acc += wy[j] * racc;
                }
                dst[((size_t)oy * size + ox) * dst_c + c] = (uint8_t)((2 * acc + norm) / (2 * norm));
            }
        }
    }
    free(wx);
    free(wy);
    free(fx);
    return GLOW_OK;
}
