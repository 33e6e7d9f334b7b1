/* A grid of equally sized images composed into one PNG (see glow/image.h for
 * the layout and size formulas). */
#include "glow/image.h"

#include <stdlib.h>
#include <string.h>

#include "image_internal.h"

glow_status glow_png_write_grid(const char *path, const uint8_t *images, int count, int h, int w, int c, int cols,
                                int pad)
{
    if (images == NULL || count <= 0 || h <= 0 || w <= 0 || cols <= 0 || pad < 0)
        return glow_error(GLOW_ERR_INVALID_ARG,
                          "%s: bad image grid (count %d, image %dx%d, cols %d, pad %d): all must be positive, pad >= 0",
                          path, count, h, w, cols, pad);
    if (c != 1 && c != 3)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: images must have 1 (gray) or 3 (RGB) channels, got %d", path, c);
    if (cols > count)
        cols = count;
    int rows = (count + cols - 1) / cols;
    long long width = (long long)cols * w + (long long)(cols + 1) * pad;
    long long height = (long long)rows * h + (long long)(rows + 1) * pad;
    if (width > 65535 || height > 65535)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: image grid %lldx%lld is too large for one PNG", path, width,
                          height);
    size_t row_bytes = (size_t)width * c;
    uint8_t *canvas = malloc(row_bytes * (size_t)height);
    if (canvas == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: out of memory for a %lldx%lld grid", path, width, height);
    memset(canvas, GLOW_PNG_PAD_VALUE, row_bytes * (size_t)height);
    /* Image i's pixel (y, x) lands at canvas row pad + r*(h+pad) + y, column pad + k*(w+pad) + x. */
    for (int i = 0; i < count; i++) {
        int r = i / cols, k = i % cols;
        size_t y0 = (size_t)pad + (size_t)r * (h + pad), x0 = (size_t)pad + (size_t)k * (w + pad);
        for (int y = 0; y < h; y++)
            memcpy(canvas + (y0 + y) * row_bytes + x0 * c, images + (((size_t)i * h + y) * w) * c, (size_t)w * c);
    }
    glow_status st = image_write_png(path, canvas, (int)width, (int)height, c);
    free(canvas);
    return st;
}
