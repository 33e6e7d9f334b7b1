/* IDX reader (MNIST-class image and label files), plain or gzip-compressed:
 * data_read_file, then both parsers on the decompressed bytes. */
#include <stdlib.h>

#include "data_internal.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (fuzz_check(data_read_file(fuzz_input_path(data, size), &buf, &len), size) != GLOW_OK)
        return 0;
    int count = 0;
    const uint8_t *items = NULL;
    if (idx_parse_images("fuzz", buf, len, 28, 28, &count, &items) == GLOW_OK) {
        fuzz_touch(items, (size_t)count * 28 * 28);
        fuzz_accepted();
    }
    if (idx_parse_labels("fuzz", buf, len, &count, &items) == GLOW_OK) {
        fuzz_touch(items, (size_t)count);
        fuzz_accepted();
    }
    free(buf);
    return 0;
}
