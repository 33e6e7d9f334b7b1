/* CPU reference backend: device info, host memory, the op table and the
 * factory (glow_ref_factory, one device: this machine's CPU).
 *
 * Memory: host buffers of src/engine/host_backend.c (64-byte aligned, exact
 * current/peak figures). */
#include "host_backend.h"
#include "ref_internal.h"
#include "registry_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    glow_host_memory mem;
} ref_state;

/* ---- device info ----------------------------------------------------------- */

static void fill_device_info(glow_device_info *info)
{
    glow_host_cpu_info(info, "ref");
    snprintf(info->driver, sizeof info->driver, "glow-vk CPU reference (plain C loops)");
    snprintf(info->api_version, sizeof info->api_version, "C11");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(info->details, sizeof info->details,
             "online cores: %ld (the reference backend runs single-threaded)\n"
             "buffer alignment: %d bytes",
             cores, GLOW_HOST_ALIGN);
}

/* ---- memory ---------------------------------------------------------------- */

glow_status ref_buffer_alloc(glow_backend *be, size_t bytes, void **impl)
{
    return glow_host_buffer_alloc(&((ref_state *)be->impl)->mem, bytes, impl, "ref");
}

void ref_buffer_free(glow_backend *be, void *impl)
{
    glow_host_buffer_free(&((ref_state *)be->impl)->mem, impl);
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
        *current = st->mem.current_bytes;
    if (peak)
        *peak = st->mem.peak_bytes;
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
