/* Upload and download (the glow_backend_ops entries): above vk_memory.c (where the
 * bytes live) and vk_command.c (ordering with recorded work).
 *
 * Both first run everything recorded so far (vk_flush): earlier ops may read or
 * write the bytes. Mapped memory (unified: lavapipe, integrated GPUs) is then a
 * memcpy (+ flush/invalidate of non-coherent memory); otherwise each chunk of at
 * most VK_STAGING_BYTES goes through the staging buffer with a recorded
 * vkCmdCopyBuffer and one submission. */
#include "vk_internal.h"

#include <string.h>

#define VK_STAGING_BYTES ((VkDeviceSize)16 << 20)

glow_status vk_upload(glow_backend *be, glow_buffer *dst, size_t off, const void *src, size_t bytes)
{
    vk_context *vk = vk_ctx(be);
    GLOW_TRY(vk_flush(vk));
    unsigned char *mapped = vk_buffer_mapped(vk, dst, off);
    if (mapped) {
        memcpy(mapped, src, bytes);
        return vk_buffer_host_sync(vk, dst, off, bytes, 1);
    }
    const unsigned char *p = src;
    while (bytes > 0) {
        VkDeviceSize chunk = bytes < VK_STAGING_BYTES ? bytes : VK_STAGING_BYTES;
        VkBuffer staging;
        unsigned char *staging_mapped;
        GLOW_TRY(vk_staging(vk, chunk, &staging, &staging_mapped));
        memcpy(staging_mapped, p, chunk);
        GLOW_TRY(vk_staging_host_sync(vk, 1));
        GLOW_TRY(vk_record_copy(vk, staging, 0, vk_buffer_handle(dst), off, chunk));
        GLOW_TRY(vk_flush(vk));
        p += chunk;
        off += chunk;
        bytes -= chunk;
    }
    return GLOW_OK;
}

glow_status vk_download(glow_backend *be, const glow_buffer *src, size_t off, void *dst, size_t bytes)
{
    vk_context *vk = vk_ctx(be);
    GLOW_TRY(vk_flush(vk));
    const unsigned char *mapped = vk_buffer_mapped(vk, src, off);
    if (mapped) {
        GLOW_TRY(vk_buffer_host_sync(vk, src, off, bytes, 0));
        memcpy(dst, mapped, bytes);
        return GLOW_OK;
    }
    unsigned char *p = dst;
    while (bytes > 0) {
        VkDeviceSize chunk = bytes < VK_STAGING_BYTES ? bytes : VK_STAGING_BYTES;
        VkBuffer staging;
        unsigned char *staging_mapped;
        GLOW_TRY(vk_staging(vk, chunk, &staging, &staging_mapped));
        GLOW_TRY(vk_record_copy(vk, vk_buffer_handle(src), off, staging, 0, chunk));
        GLOW_TRY(vk_flush(vk));
        GLOW_TRY(vk_staging_host_sync(vk, 0));
        memcpy(p, staging_mapped, chunk);
        p += chunk;
        off += chunk;
        bytes -= chunk;
    }
    return GLOW_OK;
}
