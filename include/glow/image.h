/* PNG output (libpng) for samples and interpolations, and a reader for tests.
 *
 * A grid lays `count` images (each h x w x c uint8, HWC, c = 1 gray or 3 RGB,
 * stored one after another: images[((i * h + y) * w + x) * c + ch]) in rows of
 * `cols` images, row-major (image i at grid row i / cols, column i % cols),
 * with `pad` pixels of border between images and around the outside:
 *   width  = cols * w + (cols + 1) * pad
 *   height = rows * h + (rows + 1) * pad,  rows = ceil(count / cols)
 * (cols is first clamped to count). Border pixels and empty cells of the last
 * row are GLOW_PNG_PAD_VALUE gray. Each side of the grid is at most 65535 px. */
#ifndef GLOW_IMAGE_H
#define GLOW_IMAGE_H

#include <stdint.h>

#include "glow/status.h"

#define GLOW_PNG_PAD_VALUE 128

glow_status glow_png_write_grid(const char *path, const uint8_t *images, int count, int h, int w, int c, int cols,
                                int pad);

#define GLOW_PNG_READ_MAX_BYTES (256u << 20) /* decoded pixels glow_png_read accepts */

/* Reads an 8-bit PNG. Gray, gray+alpha, RGB, RGBA and palette images are all
 * expanded to 8 bits per channel; *channels is 1 (gray), 2 (gray+alpha),
 * 3 (RGB) or 4 (RGBA). *pixels (malloc'ed, caller frees) holds height x width x
 * channels bytes, row-major. An image of more than GLOW_PNG_READ_MAX_BYTES
 * decoded bytes is refused (GLOW_ERR_FORMAT) before anything is allocated. */
glow_status glow_png_read(const char *path, int *width, int *height, int *channels, uint8_t **pixels);

#endif
