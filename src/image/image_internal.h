/* Internal: one whole 8-bit image to a PNG file. */
#ifndef GLOW_IMAGE_INTERNAL_H
#define GLOW_IMAGE_INTERNAL_H

#include <stdint.h>

#include "glow/status.h"

/* pixels: height x width x channels bytes, row-major; channels 1 (gray) or 3 (RGB). */
glow_status image_write_png(const char *path, const uint8_t *pixels, int width, int height, int channels);

#endif
