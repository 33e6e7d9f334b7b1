/* IDX files (the MNIST format): big-endian u32 magic 0x000008DD where 08 is
 * the unsigned-byte type and DD the number of dimensions, then DD big-endian
 * u32 sizes, then the data bytes in row-major order. */
#include "data_internal.h"

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u

static uint32_t read_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Checks magic and size; *dims receives the n_dims sizes. */
static glow_status idx_header(const char *what, const uint8_t *buf, size_t len, uint32_t magic, int n_dims,
                              const char *kind, uint32_t *dims)
{
    size_t header = 4 + 4 * (size_t)n_dims;
    if (len < 4)
        return glow_error(GLOW_ERR_FORMAT, "%s: truncated at byte %zu: expected at least %zu header bytes", what, len,
                          header);
    uint32_t got = read_be32(buf);
    if (got != magic)
        return glow_error(GLOW_ERR_FORMAT, "%s: byte 0: wrong magic 0x%08x, expected 0x%08x (an IDX %s file)", what,
                          got, magic, kind);
    if (len < header)
        return glow_error(GLOW_ERR_FORMAT, "%s: truncated at byte %zu: expected at least %zu header bytes", what, len,
                          header);
    for (int d = 0; d < n_dims; d++)
        dims[d] = read_be32(buf + 4 + 4 * d);
    if (dims[0] > 0x7fffffffu)
        return glow_error(GLOW_ERR_FORMAT, "%s: byte 4: implausible item count %u", what, dims[0]);
    for (int d = 1; d < n_dims; d++)
        if (dims[d] == 0 || dims[d] > 65536u)
            return glow_error(GLOW_ERR_FORMAT, "%s: byte %d: implausible dimension %u", what, 4 + 4 * d, dims[d]);
    unsigned long long expected = 1; /* count * rows * cols < 2^31 * 2^32: no overflow */
    for (int d = 0; d < n_dims; d++)
        expected *= dims[d];
    expected += header;
    if (len < expected)
        return glow_error(GLOW_ERR_FORMAT, "%s: truncated at byte %zu: expected %llu bytes", what, len, expected);
    if (len > expected)
        return glow_error(GLOW_ERR_FORMAT, "%s: byte %llu: %llu unexpected bytes after the last item (file has %zu)",
                          what, expected, (unsigned long long)len - expected, len);
    return GLOW_OK;
}

glow_status idx_parse_images(const char *what, const uint8_t *buf, size_t len, int rows, int cols, int *count,
                             const uint8_t **pixels)
{
    uint32_t dims[3];
    /* Check the image size before the length, so a file of other-sized images
     * is reported as such rather than as truncated. */
    if (len >= 16 && read_be32(buf) == IDX_MAGIC_IMAGES &&
        (read_be32(buf + 8) != (uint32_t)rows || read_be32(buf + 12) != (uint32_t)cols))
        return glow_error(GLOW_ERR_FORMAT, "%s: byte 8: images are %ux%u, expected %dx%d", what, read_be32(buf + 8),
                          read_be32(buf + 12), rows, cols);
    GLOW_TRY(idx_header(what, buf, len, IDX_MAGIC_IMAGES, 3, "image", dims));
    *count = (int)dims[0];
    *pixels = buf + 16;
    return GLOW_OK;
}

glow_status idx_parse_labels(const char *what, const uint8_t *buf, size_t len, int *count, const uint8_t **labels)
{
    uint32_t dims[1];
    GLOW_TRY(idx_header(what, buf, len, IDX_MAGIC_LABELS, 1, "label", dims));
    for (uint32_t i = 0; i < dims[0]; i++)
        if (buf[8 + i] > 9)
            return glow_error(GLOW_ERR_FORMAT, "%s: byte %u: label %u is not a class 0..9", what, 8 + i, buf[8 + i]);
    *count = (int)dims[0];
    *labels = buf + 8;
    return GLOW_OK;
}
