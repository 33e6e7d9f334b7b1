/* JPEG decoding with libjpeg(-turbo). libjpeg reports fatal errors through
 * error_exit; the handler keeps the message and longjmps back here. */
#include <errno.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h> /* needs size_t and FILE first */

#include "folder_internal.h"
#include "glow/image.h"

typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_error_state;

static void on_jpeg_error(j_common_ptr cinfo)
{
    jpeg_error_state *es = (jpeg_error_state *)cinfo->err;
    cinfo->err->format_message(cinfo, es->message);
    longjmp(es->jump, 1);
}

/* level < 0: a warning (corrupt or missing data libjpeg papers over); counted
 * so that such an image is refused. level >= 0: trace messages, ignored. */
static void on_jpeg_message(j_common_ptr cinfo, int level)
{
    if (level < 0)
        cinfo->err->num_warnings++;
}

glow_status jpeg_read(const char *path, int *width, int *height, int *channels, uint8_t **pixels)
{
    *pixels = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return glow_error(GLOW_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct jpeg_decompress_struct cinfo;
    jpeg_error_state es;
    memset(&es, 0, sizeof es);
    cinfo.err = jpeg_std_error(&es.mgr);
    es.mgr.error_exit = on_jpeg_error;
    es.mgr.emit_message = on_jpeg_message;
    /* volatile: read after the longjmp */
    uint8_t *volatile out = NULL;
    if (setjmp(es.jump)) {
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        free(out);
        return glow_error(GLOW_ERR_FORMAT, "%s: JPEG decoding failed: %s", path, es.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    const int gray = cinfo.jpeg_color_space == JCS_GRAYSCALE;
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        return glow_error(GLOW_ERR_FORMAT, "%s: CMYK JPEG images are not supported (convert to RGB)", path);
    }
    cinfo.out_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
    /* Refuse a too large image from its header, before jpeg_start_decompress: for a multi-scan
     * file that call already allocates whole-image coefficient buffers (2 bytes per sample), so a
     * 605-byte file declaring 63248x9730 pixels took over 2 GiB there (found by fuzz_jpeg). The
     * memory cap bounds what libjpeg may allocate for an accepted size (a larger request is a
     * decoding error, as there is no backing store). */
    const size_t header_bytes = (size_t)cinfo.image_width * cinfo.image_height * (size_t)(gray ? 1 : 3);
    if (header_bytes > GLOW_PNG_READ_MAX_BYTES) {
        const unsigned iw = cinfo.image_width, ih = cinfo.image_height;
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        return glow_error(GLOW_ERR_FORMAT, "%s: JPEG of %ux%u is not supported (at most %u decoded bytes)", path, iw,
                          ih, GLOW_PNG_READ_MAX_BYTES);
    }
    cinfo.mem->max_memory_to_use = 3L * GLOW_PNG_READ_MAX_BYTES;
    jpeg_start_decompress(&cinfo);
    const int w = (int)cinfo.output_width, h = (int)cinfo.output_height, c = cinfo.output_components;
    const size_t bytes = (size_t)w * h * c;
    if ((c != 1 && c != 3) || w <= 0 || h <= 0 || bytes > GLOW_PNG_READ_MAX_BYTES) {
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        return glow_error(GLOW_ERR_FORMAT, "%s: JPEG of %dx%dx%d is not supported (at most %u decoded bytes)", path,
                          w, h, c, GLOW_PNG_READ_MAX_BYTES);
    }
    out = malloc(bytes);
    if (out == NULL) {
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: %zu bytes for the decoded JPEG", path, bytes);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out + (size_t)cinfo.output_scanline * w * c;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    /* A file cut short: libjpeg pads with gray and only warns; refuse it. */
    const long warnings = es.mgr.num_warnings;
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    if (warnings > 0 || es.mgr.num_warnings > 0) {
        free(out);
        return glow_error(GLOW_ERR_FORMAT, "%s: corrupt or truncated JPEG data (%ld libjpeg warnings)", path,
                          es.mgr.num_warnings);
    }
    *width = w;
    *height = h;
    *channels = c;
    *pixels = out;
    return GLOW_OK;
}
