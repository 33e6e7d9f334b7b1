/* PNG encode/decode with libpng. libpng reports errors by longjmp; the
 * handlers below keep its message so it can be returned as a glow_status. */
#include "glow/image.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_internal.h"

typedef struct {
    char message[256];
} png_error_state;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_error_state *es = png_get_error_ptr(png);
    snprintf(es->message, sizeof es->message, "%s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* warnings (e.g. unknown chunks) do not affect the pixels */
}

glow_status image_write_png(const char *path, const uint8_t *pixels, int width, int height, int channels)
{
    if (channels != 1 && channels != 3)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: PNG channels must be 1 or 3, got %d", path, channels);
    if (width <= 0 || height <= 0)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: PNG size %dx%d is not positive", path, width, height);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return glow_error(GLOW_ERR_IO, "%s: cannot create: %s", path, strerror(errno));

    png_error_state es = {{0}};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &es, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (png == NULL || info == NULL) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: cannot create a PNG writer", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        remove(path);
        return glow_error(GLOW_ERR_IO, "%s: PNG write failed: %s", path, es.message);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++)
        png_write_row(png, pixels + (size_t)y * width * channels);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) {
        int err = errno;
        remove(path);
        return glow_error(GLOW_ERR_IO, "%s: close failed: %s", path, strerror(err));
    }
    return GLOW_OK;
}

glow_status glow_png_read(const char *path, int *width, int *height, int *channels, uint8_t **pixels)
{
    *pixels = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return glow_error(GLOW_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t signature[8];
    if (fread(signature, 1, 8, f) != 8 || png_sig_cmp(signature, 0, 8) != 0) {
        fclose(f);
        return glow_error(GLOW_ERR_FORMAT, "%s: byte 0: not a PNG file (bad signature)", path);
    }

    png_error_state es = {{0}};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &es, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (png == NULL || info == NULL) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: cannot create a PNG reader", path);
    }
    uint8_t *volatile data = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        free(data);
        free(rows);
        return glow_error(GLOW_ERR_FORMAT, "%s: PNG decode failed: %s", path, es.message);
    }
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    /* Expand to 8 bits per channel: palette -> RGB, low-bit gray -> 8 bit,
     * tRNS -> alpha, 16 bit -> 8 bit. */
    png_set_expand(png);
    png_set_strip_16(png);
    png_read_update_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int ch = png_get_channels(png, info);
    size_t stride = png_get_rowbytes(png, info);
    /* The header alone must not decide a huge allocation: the pixels come later (or never). */
    if (h > 0 && stride > GLOW_PNG_READ_MAX_BYTES / h) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return glow_error(GLOW_ERR_FORMAT, "%s: a %ux%u PNG of %d channels exceeds this reader's limit of %u MiB",
                          path, w, h, ch, GLOW_PNG_READ_MAX_BYTES >> 20);
    }
    data = malloc(stride * h);
    rows = malloc(sizeof(png_bytep) * h);
    if (data == NULL || rows == NULL) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        free(data);
        free(rows);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: out of memory for a %ux%u PNG", path, w, h);
    }
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = data + y * stride;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    free(rows);
    *width = (int)w;
    *height = (int)h;
    *channels = ch;
    *pixels = data;
    return GLOW_OK;
}
