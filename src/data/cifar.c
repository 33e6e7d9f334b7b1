/* CIFAR-10 binary batches: 10000 records of 3073 bytes, each a label byte
 * followed by the image as three 32x32 planes (R, G, B), rows top to bottom.
 * Converted here to HWC: out[(y * 32 + x) * 3 + ch] = plane[ch][y * 32 + x]. */
#include "data_internal.h"

glow_status cifar_parse_batch(const char *what, const uint8_t *buf, size_t len, uint8_t *pixels, uint8_t *labels,
                              int capacity, int *count)
{
    if (len == 0)
        return glow_error(GLOW_ERR_FORMAT, "%s: empty file, expected records of %d bytes", what, CIFAR_RECORD_BYTES);
    if (len % CIFAR_RECORD_BYTES != 0)
        return glow_error(GLOW_ERR_FORMAT, "%s: truncated at byte %zu: expected a multiple of %d bytes (%zu bytes)",
                          what, len, CIFAR_RECORD_BYTES, (len / CIFAR_RECORD_BYTES + 1) * CIFAR_RECORD_BYTES);
    size_t records = len / CIFAR_RECORD_BYTES;
    if (records > (size_t)(capacity - *count))
        return glow_error(GLOW_ERR_FORMAT, "%s: %zu records, more than the %d expected", what, records,
                          capacity - *count);
    for (size_t r = 0; r < records; r++) {
        const uint8_t *rec = buf + r * CIFAR_RECORD_BYTES;
        if (rec[0] > 9)
            return glow_error(GLOW_ERR_FORMAT, "%s: byte %zu: label %u is not a class 0..9", what,
                              r * CIFAR_RECORD_BYTES, rec[0]);
        uint8_t *dst = pixels + (size_t)*count * CIFAR_IMAGE_BYTES;
        for (int p = 0; p < 1024; p++)
            for (int ch = 0; ch < 3; ch++)
                dst[p * 3 + ch] = rec[1 + ch * 1024 + p];
        labels[*count] = rec[0];
        (*count)++;
    }
    return GLOW_OK;
}
