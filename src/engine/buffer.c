/* Buffers: the core's bookkeeping around a backend's allocation. */
#include "glow/backend.h"

#include <stdint.h>
#include <stdlib.h>

glow_status glow_buffer_create(glow_backend *be, size_t bytes, glow_buffer **out)
{
    *out = NULL;
    if (be == NULL || bytes == 0)
        return glow_error(GLOW_ERR_INVALID_ARG, "buffer_create: %s", be ? "zero bytes" : "no backend");
    if (bytes > SIZE_MAX - 15u)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "buffer_create: %zu bytes is beyond any address space", bytes);
    size_t rounded = (bytes + 15u) & ~(size_t)15u;
    glow_buffer *buf = calloc(1, sizeof *buf);
    if (buf == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "buffer_create: out of host memory");
    glow_status st = be->ops->buffer_alloc(be, rounded, &buf->impl);
    if (st != GLOW_OK) {
        free(buf);
        return glow_error_context(st, "%s: allocating %zu bytes", be->info.backend, rounded);
    }
    buf->backend = be;
    buf->bytes = rounded;
    *out = buf;
    return GLOW_OK;
}

void glow_buffer_destroy(glow_buffer *buf)
{
    if (buf == NULL)
        return;
    buf->backend->ops->buffer_free(buf->backend, buf->impl);
    free(buf);
}

static glow_status check_range(const char *op, const glow_buffer *buf, size_t off, size_t bytes)
{
    if (buf == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: no buffer", op);
    if (off > buf->bytes || bytes > buf->bytes - off)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: bytes [%zu, %zu) outside a buffer of %zu bytes", op, off,
                          off + bytes, buf->bytes);
    return GLOW_OK;
}

glow_status glow_upload(glow_buffer *dst, size_t dst_byte_off, const void *src, size_t bytes)
{
    GLOW_TRY(check_range("upload", dst, dst_byte_off, bytes));
    if (bytes == 0)
        return GLOW_OK;
    return dst->backend->ops->upload(dst->backend, dst, dst_byte_off, src, bytes);
}

glow_status glow_download(const glow_buffer *src, size_t src_byte_off, void *dst, size_t bytes)
{
    GLOW_TRY(check_range("download", src, src_byte_off, bytes));
    if (bytes == 0)
        return GLOW_OK;
    return src->backend->ops->download(src->backend, src, src_byte_off, dst, bytes);
}

glow_status glow_sync(glow_backend *be)
{
    return be->ops->sync(be);
}

glow_status glow_tensor_upload(glow_tensor t, const float *host)
{
    return glow_upload(t.buf, t.off * sizeof(float), host, glow_tensor_count(t) * sizeof(float));
}

glow_status glow_tensor_download(glow_tensor t, float *host)
{
    return glow_download(t.buf, t.off * sizeof(float), host, glow_tensor_count(t) * sizeof(float));
}
