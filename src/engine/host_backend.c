/* Host-memory buffers and the CPU's identity for the ref and cpu backends. */
#include "host_backend.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

enum { HEADER = 64 };

void glow_host_memory_add(glow_host_memory *mem, size_t bytes)
{
    mem->current_bytes += bytes;
    if (mem->current_bytes > mem->peak_bytes)
        mem->peak_bytes = mem->current_bytes;
}

void glow_host_memory_sub(glow_host_memory *mem, size_t bytes)
{
    mem->current_bytes -= bytes;
}

/* Asks Linux to back the 2 MiB-aligned interior of a large buffer with
 * transparent huge pages (where THP is "madvise", the common default, nothing
 * else gets them). The convolutions' GEMM blocks stride across many 4 KiB pages
 * of activations and weights: huge pages took a 2-thread training step of the
 * report model from 798 to 696-741 ms here (issue 11's note). Advice only: a
 * kernel without THP ignores it. */
static void advise_huge_pages(void *base, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)base + huge - 1) & ~(huge - 1), hi = ((uintptr_t)base + bytes) & ~(huge - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)base;
    (void)bytes;
#endif
}

glow_status glow_host_buffer_alloc(glow_host_memory *mem, size_t bytes, void **impl, const char *backend)
{
    size_t data = (bytes + GLOW_HOST_ALIGN - 1) / GLOW_HOST_ALIGN * GLOW_HOST_ALIGN;
    if (data < bytes || data > SIZE_MAX - HEADER)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s buffer_alloc: %zu bytes is too large", backend, bytes);
    unsigned char *base = aligned_alloc(GLOW_HOST_ALIGN, HEADER + data);
    if (base == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s buffer_alloc: out of host memory for %zu bytes", backend,
                          bytes);
    advise_huge_pages(base, HEADER + data);
    memcpy(base, &bytes, sizeof bytes); /* counted as requested, as the device backends count */
    glow_host_memory_add(mem, bytes);
    *impl = base + HEADER;
    return GLOW_OK;
}

void glow_host_buffer_free(glow_host_memory *mem, void *impl)
{
    if (impl == NULL)
        return;
    unsigned char *base = (unsigned char *)impl - HEADER;
    size_t bytes;
    memcpy(&bytes, base, sizeof bytes);
    glow_host_memory_sub(mem, bytes);
    free(base);
}

/* Copies the value of the first "key<spaces>: value" line of /proc/cpuinfo into
 * out (trailing newline removed); leaves out unchanged when absent. */
static void cpuinfo_field(const char *key, char *out, size_t out_size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[512];
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) != 0)
            continue;
        char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        v[strcspn(v, "\n")] = '\0';
        if (*v != '\0')
            snprintf(out, out_size, "%s", v);
        break;
    }
    fclose(f);
}

void glow_host_cpu_info(glow_device_info *info, const char *backend)
{
    memset(info, 0, sizeof *info);
    snprintf(info->backend, sizeof info->backend, "%s", backend);
    snprintf(info->name, sizeof info->name, "generic CPU");
    snprintf(info->vendor, sizeof info->vendor, "unknown");
    cpuinfo_field("model name", info->name, sizeof info->name);
    cpuinfo_field("vendor_id", info->vendor, sizeof info->vendor);
    info->type = GLOW_DEVICE_CPU;
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    info->memory_bytes = (pages > 0 && page_size > 0) ? (uint64_t)pages * (uint64_t)page_size : 0;
}
