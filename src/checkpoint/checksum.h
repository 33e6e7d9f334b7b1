/* 64-bit FNV-1a, the checkpoint checksum:
 *   h = 0xcbf29ce484222325; for each byte b: h = (h ^ b) * 0x100000001b3 (mod 2^64). */
#ifndef GLOW_CHECKPOINT_CHECKSUM_H
#define GLOW_CHECKPOINT_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A64_INIT 0xcbf29ce484222325ull

uint64_t fnv1a64_update(uint64_t h, const void *data, size_t n);

#endif
