/* Helpers of the backends whose memory is host memory (ref, cpu): 64-byte
 * aligned buffers that keep their requested byte count in a header (exact
 * current/peak figures), and this machine's CPU as a device. */
#ifndef GLOW_HOST_BACKEND_H
#define GLOW_HOST_BACKEND_H

#include <stddef.h>

#include "glow/backend.h"

enum { GLOW_HOST_ALIGN = 64 };

typedef struct {
    size_t current_bytes, peak_bytes;
} glow_host_memory;

/* Adds or removes `bytes` in the current figure (the peak follows). */
void glow_host_memory_add(glow_host_memory *mem, size_t bytes);
void glow_host_memory_sub(glow_host_memory *mem, size_t bytes);

/* aligned_alloc of a header plus bytes rounded up to GLOW_HOST_ALIGN; *impl points
 * past the header (64-byte aligned). Errors name `backend`. */
glow_status glow_host_buffer_alloc(glow_host_memory *mem, size_t bytes, void **impl, const char *backend);
void glow_host_buffer_free(glow_host_memory *mem, void *impl);

/* info->name, vendor (from /proc/cpuinfo), type = CPU and memory_bytes (RAM);
 * zeroes the rest, sets info->backend. */
void glow_host_cpu_info(glow_device_info *info, const char *backend);

#endif
