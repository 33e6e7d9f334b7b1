/* CIFAR-10 binary batch parser, into arrays of room for 4 images. */
#include <stdlib.h>

#include "data_internal.h"
#include "fuzz_input.h"

enum { CAPACITY = 4 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pixels[CAPACITY * CIFAR_IMAGE_BYTES], labels[CAPACITY];
    /* The parser appends after *count images already held: start at 0 or 1. */
    int count = size > 0 && (data[0] & 1) ? 1 : 0;
    if (cifar_parse_batch("fuzz", data, size, pixels, labels, CAPACITY, &count) == GLOW_OK) {
        fuzz_touch(pixels, (size_t)count * CIFAR_IMAGE_BYTES);
        fuzz_accepted();
    }
    return 0;
}
