/* PNG reader (libpng underneath; the target is glow_png_read's handling of it). */
#include <stdlib.h>

#include "fuzz_input.h"
#include "glow/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int w = 0, h = 0, c = 0;
    uint8_t *pixels = NULL;
    if (fuzz_check(glow_png_read(fuzz_input_path(data, size), &w, &h, &c, &pixels), size) != GLOW_OK)
        return 0;
    fuzz_accepted();
    fuzz_touch(pixels, (size_t)w * h * c);
    free(pixels);
    return 0;
}
