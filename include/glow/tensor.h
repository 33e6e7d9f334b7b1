/* Buffers and tensor views.
 *
 * A glow_buffer is one device allocation owned by a backend; the core keeps its
 * size so that every op can be bounds-checked before a backend sees it.
 * A glow_tensor is a view: a buffer, an element offset (in float32 elements,
 * i.e. 4-byte units) and an NHWC shape. All tensors are float32, contiguous,
 * layout NHWC: element (n, y, x, c) is at off + ((n*H + y)*W + x)*C + c.
 * Parameter vectors and matrices use n = h = w = 1 or (rows, 1, 1, cols). */
#ifndef GLOW_TENSOR_H
#define GLOW_TENSOR_H

#include <stddef.h>
#include <stdint.h>

typedef struct glow_backend glow_backend;

typedef struct glow_buffer {
    glow_backend *backend; /* owner */
    size_t bytes;          /* usable size */
    void *impl;            /* backend's handle */
} glow_buffer;

typedef struct {
    glow_buffer *buf; /* NULL means "absent" for optional operands */
    size_t off;       /* element offset (float32 units) */
    int n, h, w, c;
} glow_tensor;

static inline glow_tensor glow_tensor_make(glow_buffer *buf, size_t off, int n, int h, int w, int c)
{
    glow_tensor t = {buf, off, n, h, w, c};
    return t;
}

static inline glow_tensor glow_tensor_none(void)
{
    glow_tensor t = {NULL, 0, 0, 0, 0, 0};
    return t;
}

static inline size_t glow_tensor_count(glow_tensor t)
{
    return (size_t)t.n * (size_t)t.h * (size_t)t.w * (size_t)t.c;
}

/* Pixels per sample (H*W) and rows of the (N*H*W, C) matrix view. */
static inline size_t glow_tensor_rows(glow_tensor t)
{
    return (size_t)t.n * (size_t)t.h * (size_t)t.w;
}

#endif
