#include "checksum.h"

#define FNV1A64_PRIME 0x100000001b3ull

uint64_t fnv1a64_update(uint64_t h, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV1A64_PRIME;
    }
    return h;
}
