/* JPEG reader (libjpeg-turbo underneath; the target is jpeg_read's handling of
 * it) followed by the folder loader's crop + area resize of what it returns. */
#include <stdlib.h>

#include "folder_internal.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int w = 0, h = 0, c = 0;
    uint8_t *pixels = NULL;
    if (fuzz_check(jpeg_read(fuzz_input_path(data, size), &w, &h, &c, &pixels), size) != GLOW_OK)
        return 0;
    fuzz_accepted();
    fuzz_touch(pixels, (size_t)w * h * c);
    uint8_t out[16 * 16 * 3];
    if (image_crop_resize(pixels, w, h, c, 16, 3, out) != GLOW_OK)
        abort(); /* a decoded image must always resize */
    fuzz_touch(out, sizeof out);
    free(pixels);
    return 0;
}
