/* Members of a .tar.gz (the CIFAR-10 archive reader). */
#include <stdlib.h>

#include "data_internal.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *const wanted[2] = {"data_batch_1.bin", "test_batch.bin"};
    uint8_t *bufs[2];
    size_t lens[2];
    const char *path = fuzz_input_path(data, size);
    if (fuzz_check(data_read_tar_gz_members(path, wanted, 2, bufs, lens), size) != GLOW_OK)
        return 0;
    fuzz_accepted();
    for (int i = 0; i < 2; i++) {
        if (bufs[i])
            fuzz_touch(bufs[i], lens[i]);
        free(bufs[i]);
    }
    return 0;
}
