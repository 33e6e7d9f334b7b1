/* CPU reference backend: device info, host memory, the op table and the
 * factory (glow_ref_factory, one device: this machine's CPU).
 *
 * Memory: each buffer is one aligned_alloc of REF_HEADER + bytes (rounded up to
 * 64); the header stores the byte count so that buffer_free can keep the
 * current/peak counters exact. glow_buffer.impl points just past the header,
 * so data is 64-byte aligned. */
#include "ref_internal.h"
#include "registry_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { REF_ALIGN = 64, REF_HEADER = 64 };

typedef struct {
    size_t current_bytes;
    size_t peak_bytes;
} ref_state;

/* ---- device info ----------------------------------------------------------- */

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

static void fill_device_info(glow_device_info *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->backend, sizeof info->backend, "ref");
    snprintf(info->name, sizeof info->name, "generic CPU");
    snprintf(info->vendor, sizeof info->vendor, "unknown");
    cpuinfo_field("model name", info->name, sizeof info->name);
    cpuinfo_field("vendor_id", info->vendor, sizeof info->vendor);
    snprintf(info->driver, sizeof info->driver, "glow-vk CPU reference (plain C loops)");
    snprintf(info->api_version, sizeof info->api_version, "C11");
    info->type = GLOW_DEVICE_CPU;
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    info->memory_bytes = (pages > 0 && page_size > 0) ? (uint64_t)pages * (uint64_t)page_size : 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(info->details, sizeof info->details,
             "online cores: %ld (the reference backend runs single-threaded)\n"
             "buffer alignment: %d bytes",
             cores, REF_ALIGN);
}

/* ---- memory ---------------------------------------------------------------- */

glow_status ref_buffer_alloc(glow_backend *be, size_t bytes, void **impl)
{
    ref_state *st = be->impl;
    size_t data = (bytes + REF_ALIGN - 1) / REF_ALIGN * REF_ALIGN;
    if (data < bytes || data > SIZE_MAX - REF_HEADER)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "ref buffer_alloc: %zu bytes is too large", bytes);
    unsigned char *base = aligned_alloc(REF_ALIGN, REF_HEADER + data);
    if (base == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "ref buffer_alloc: out of host memory for %zu bytes", bytes);
    memcpy(base, &data, sizeof data);
    st->current_bytes += data;
    if (st->current_bytes > st->peak_bytes)
        st->peak_bytes = st->current_bytes;
    *impl = base + REF_HEADER;
    return GLOW_OK;
}

void ref_buffer_free(glow_backend *be, void *impl)
{
    if (impl == NULL)
        return;
    ref_state *st = be->impl;
    unsigned char *base = (unsigned char *)impl - REF_HEADER;
    size_t data;
    memcpy(&data, base, sizeof data);
    st->current_bytes -= data;
    free(base);
}

glow_status ref_upload(glow_backend *be, glow_buffer *dst, size_t dst_byte_off, const void *src, size_t bytes)
{
    (void)be;
    memcpy((unsigned char *)dst->impl + dst_byte_off, src, bytes);
    return GLOW_OK;
}

glow_status ref_download(glow_backend *be, const glow_buffer *src, size_t src_byte_off, void *dst,
                                size_t bytes)
{
    (void)be;
    memcpy(dst, (const unsigned char *)src->impl + src_byte_off, bytes);
    return GLOW_OK;
}

/* Ops run immediately, so there is nothing to wait for. */
glow_status ref_sync(glow_backend *be)
{
    (void)be;
    return GLOW_OK;
}

void ref_memory_usage(glow_backend *be, size_t *current, size_t *peak)
{
    const ref_state *st = be->impl;
    if (current)
        *current = st->current_bytes;
    if (peak)
        *peak = st->peak_bytes;
}

void ref_destroy(glow_backend *be)
{
    free(be->impl);
    free(be);
}

/* ---- op table and factory ---------------------------------------------------- */

static const glow_backend_ops ref_ops = {
#define GLOW_OP(name, ret, params) .name = ref_##name,
#include "glow/ops.def"
};

static glow_status ref_list_devices(glow_device_info *out, int max, int *count)
{
    *count = 1;
    if (max >= 1 && out != NULL)
        fill_device_info(&out[0]);
    return GLOW_OK;
}

static glow_status ref_open(int device, glow_backend **out)
{
    *out = NULL;
    if (device > 0)
        return glow_error(GLOW_ERR_INVALID_ARG, "ref: device %d does not exist (the reference backend has device 0 only)",
                          device);
    glow_backend *be = calloc(1, sizeof *be);
    ref_state *st = calloc(1, sizeof *st);
    if (be == NULL || st == NULL) {
        free(be);
        free(st);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "ref: out of host memory opening the backend");
    }
    be->ops = &ref_ops;
    be->impl = st;
    fill_device_info(&be->info);
    *out = be;
    return GLOW_OK;
}

const glow_backend_factory glow_ref_factory = {"ref", ref_list_devices, ref_open};
