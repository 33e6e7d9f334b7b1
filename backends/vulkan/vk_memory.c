/* Device memory: every glow_buffer is its own VkBuffer, bound to a sub-range of one of
 * a few large VkDeviceMemory blocks (VK_BLOCK_BYTES, or a dedicated larger block for a
 * larger request). Each block keeps a sorted free list of [offset, offset + size)
 * ranges, first fit, coalesced on free.
 *
 * Unified memory (lavapipe, integrated GPUs): blocks are device-local + host-visible
 * and persistently mapped (vk_buffer_mapped); otherwise transfers go through the
 * host-visible staging buffer kept here (vk_staging). The copies themselves are
 * vk_transfer.c's.
 *
 * Frees are deferred: a buffer used by the submission being recorded (its
 * last_use above `completed`) waits on a list until vk_memory_retire reports that
 * submission finished; the recorder (vk_command.c) marks and retires, this file
 * calls nothing above it. Its bytes count as held until then. */
#include "vk_internal.h"

#include <stdlib.h>
#include <string.h>

#define VK_BLOCK_BYTES ((VkDeviceSize)64 << 20)

typedef struct {
    VkDeviceSize off, size;
} vk_range;

typedef struct {
    VkDeviceMemory memory; /* VK_NULL_HANDLE: slot unused */
    VkDeviceSize size;
    uint32_t type;
    int dedicated; /* freed as soon as its buffer is */
    unsigned char *mapped;
    vk_range *free;
    int n_free, cap_free;
} vk_block;

/* The impl of a glow_buffer. */
typedef struct vk_buffer {
    VkBuffer buffer;
    int block;
    VkDeviceSize range_off, range_size; /* the free-list range it took (includes alignment padding) */
    VkDeviceSize mem_off;               /* where the buffer starts in the block */
    size_t bytes;
    VkBufferView views[3]; /* by vk_binding_kind: [1] RGBA32F, [2] R32F */
    uint64_t last_use;     /* the last submission that uses it (0: none) */
    struct vk_buffer *next_deferred;
} vk_buffer;

struct vk_allocator {
    vk_block *blocks;
    int n_blocks;
    size_t current, peak;
    uint64_t completed;    /* every submission up to this one has finished */
    vk_buffer *deferred;   /* freed buffers waiting for their last submission */
    VkBuffer staging;
    VkDeviceMemory staging_memory;
    unsigned char *staging_mapped;
    VkDeviceSize staging_size;
    int staging_coherent;
};



static VkDeviceSize align_up(VkDeviceSize v, VkDeviceSize a)
{
    return (v + a - 1) / a * a;
}

static VkDeviceSize max_size(VkDeviceSize a, VkDeviceSize b)
{
    return a > b ? a : b;
}

glow_status vk_memory_init(vk_context *vk)
{
    vk->alloc = calloc(1, sizeof *vk->alloc);
    if (vk->alloc == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
    return GLOW_OK;
}

static void free_block(vk_context *vk, vk_block *b)
{
    if (b->memory == VK_NULL_HANDLE)
        return;
    if (b->mapped)
        vkUnmapMemory(vk->device, b->memory);
    vkFreeMemory(vk->device, b->memory, NULL);
    free(b->free);
    memset(b, 0, sizeof *b);
}

void vk_memory_destroy(vk_context *vk)
{
    struct vk_allocator *a = vk->alloc;
    if (a == NULL)
        return;
    /* The device is idle by now (the recorder waited for it). */
    vk_memory_retire(vk, UINT64_MAX);
    for (int i = 0; i < a->n_blocks; i++)
        free_block(vk, &a->blocks[i]);
    free(a->blocks);
    if (a->staging)
        vkDestroyBuffer(vk->device, a->staging, NULL);
    if (a->staging_memory) {
        vkUnmapMemory(vk->device, a->staging_memory);
        vkFreeMemory(vk->device, a->staging_memory, NULL);
    }
    free(a);
    vk->alloc = NULL;
}

/* A memory type allowed by type_bits with all `need` flags, preferring `prefer` too. */
static int find_memory_type(const vk_context *vk, uint32_t type_bits, VkMemoryPropertyFlags need,
                            VkMemoryPropertyFlags prefer)
{
    int fallback = -1;
    for (uint32_t i = 0; i < vk->mem_props.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = vk->mem_props.memoryTypes[i].propertyFlags;
        if (!(type_bits & (1u << i)) || (f & need) != need)
            continue;
        if ((f & prefer) == prefer)
            return (int)i;
        if (fallback < 0)
            fallback = (int)i;
    }
    return fallback;
}

/* Device-local memory for a discrete GPU: the type on the largest device-local heap,
 * preferring one the host cannot map (a small host-visible BAR heap must not be
 * exhausted by ordinary buffers). */
static int find_device_memory_type(const vk_context *vk, uint32_t type_bits)
{
    int best = -1;
    for (uint32_t i = 0; i < vk->mem_props.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = vk->mem_props.memoryTypes[i].propertyFlags;
        if (!(type_bits & (1u << i)) || !(f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
            continue;
        if (best < 0) {
            best = (int)i;
            continue;
        }
        VkDeviceSize heap = vk->mem_props.memoryHeaps[vk->mem_props.memoryTypes[i].heapIndex].size;
        VkDeviceSize best_heap = vk->mem_props.memoryHeaps[vk->mem_props.memoryTypes[best].heapIndex].size;
        int mappable = (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0;
        int best_mappable = (vk->mem_props.memoryTypes[best].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0;
        if (heap > best_heap || (heap == best_heap && best_mappable && !mappable))
            best = (int)i;
    }
    return best;
}

static int type_is_coherent(const vk_context *vk, uint32_t type)
{
    return (vk->mem_props.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
}

static int range_push(vk_block *b, int at, vk_range r)
{
    if (b->n_free == b->cap_free) {
        int cap = b->cap_free ? b->cap_free * 2 : 16;
        vk_range *p = realloc(b->free, (size_t)cap * sizeof *p);
        if (p == NULL)
            return 0;
        b->free = p;
        b->cap_free = cap;
    }
    memmove(&b->free[at + 1], &b->free[at], (size_t)(b->n_free - at) * sizeof *b->free);
    b->free[at] = r;
    b->n_free++;
    return 1;
}

static void range_remove(vk_block *b, int at)
{
    memmove(&b->free[at], &b->free[at + 1], (size_t)(b->n_free - at - 1) * sizeof *b->free);
    b->n_free--;
}

/* First fit in block b for `size` bytes at alignment `align`; fills buf's ranges. */
static int block_take(vk_block *b, VkDeviceSize size, VkDeviceSize align, vk_buffer *buf)
{
    for (int i = 0; i < b->n_free; i++) {
        vk_range r = b->free[i];
        VkDeviceSize start = align_up(r.off, align);
        if (start + size > r.off + r.size)
            continue;
        /* Take [r.off, start + size): alignment padding stays with the buffer. */
        buf->range_off = r.off;
        buf->range_size = start + size - r.off;
        buf->mem_off = start;
        if (buf->range_size == r.size) {
            range_remove(b, i);
        } else {
            b->free[i].off += buf->range_size;
            b->free[i].size -= buf->range_size;
        }
        return 1;
    }
    return 0;
}

/* Returns [off, off + size) to the free list, merging with its neighbours. */
static int block_give(vk_block *b, VkDeviceSize off, VkDeviceSize size)
{
    int i = 0;
    while (i < b->n_free && b->free[i].off < off)
        i++;
    int merge_prev = i > 0 && b->free[i - 1].off + b->free[i - 1].size == off;
    int merge_next = i < b->n_free && off + size == b->free[i].off;
    if (merge_prev && merge_next) {
        b->free[i - 1].size += size + b->free[i].size;
        range_remove(b, i);
    } else if (merge_prev) {
        b->free[i - 1].size += size;
    } else if (merge_next) {
        b->free[i].off = off;
        b->free[i].size += size;
    } else {
        return range_push(b, i, (vk_range){off, size});
    }
    return 1;
}

static glow_status new_block(vk_context *vk, uint32_t type, VkDeviceSize size, int dedicated, int *index)
{
    struct vk_allocator *a = vk->alloc;
    int slot = -1;
    for (int i = 0; i < a->n_blocks && slot < 0; i++)
        if (a->blocks[i].memory == VK_NULL_HANDLE)
            slot = i;
    if (slot < 0) {
        vk_block *p = realloc(a->blocks, (size_t)(a->n_blocks + 1) * sizeof *p);
        if (p == NULL)
            return glow_error(GLOW_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
        a->blocks = p;
        slot = a->n_blocks++;
        memset(&a->blocks[slot], 0, sizeof a->blocks[slot]);
    }
    vk_block *b = &a->blocks[slot];
    VkMemoryAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = size,
        .memoryTypeIndex = type,
    };
    VkResult r = vkAllocateMemory(vk->device, &ai, NULL, &b->memory);
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "vulkan: vkAllocateMemory of %llu bytes: %s",
                          (unsigned long long)size, vk_result_name(r));
    VK_CHECK(r);
    b->size = size;
    b->type = type;
    b->dedicated = dedicated;
    /* Only unified memory is written through a mapping; otherwise transfers go
     * through staging even where the type happens to be host-visible. */
    if (vk->unified_memory && (vk->mem_props.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
        void *mapped = NULL;
        r = vkMapMemory(vk->device, b->memory, 0, VK_WHOLE_SIZE, 0, &mapped);
        if (r != VK_SUCCESS) {
            free_block(vk, b);
            return vk_fail(r, "vkMapMemory", __FILE__, __LINE__);
        }
        b->mapped = mapped;
    }
    if (!block_give(b, 0, size)) {
        free_block(vk, b);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
    }
    *index = slot;
    return GLOW_OK;
}

glow_status vk_buffer_alloc(glow_backend *be, size_t bytes, void **impl)
{
    vk_context *vk = vk_ctx(be);
    struct vk_allocator *a = vk->alloc;
    *impl = NULL;
    vk_buffer *buf = calloc(1, sizeof *buf);
    if (buf == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
    buf->bytes = bytes;
    VkBufferCreateInfo bi = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = bytes,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                 VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult r = vkCreateBuffer(vk->device, &bi, NULL, &buf->buffer);
    if (r != VK_SUCCESS) {
        free(buf);
        return vk_fail(r, "vkCreateBuffer", __FILE__, __LINE__);
    }
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(vk->device, buf->buffer, &req);
    const VkMemoryPropertyFlags mapped_local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    int type = vk->unified_memory
                   ? find_memory_type(vk, req.memoryTypeBits, mapped_local,
                                      mapped_local | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)
                   : find_device_memory_type(vk, req.memoryTypeBits);
    if (type < 0) /* no device-local type allowed for buffers: any type */
        type = find_memory_type(vk, req.memoryTypeBits, 0, 0);
    glow_status st = GLOW_OK;
    if (type < 0) {
        st = glow_error(GLOW_ERR_BACKEND, "vulkan: no memory type for a buffer of %zu bytes", bytes);
        goto fail;
    }
    if (vk->unified_memory &&
        !(vk->mem_props.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
        st = glow_error(GLOW_ERR_BACKEND, "vulkan: unified memory but no host-visible device-local memory type");
        goto fail;
    }
    VkDeviceSize align = req.alignment ? req.alignment : 1;
    align = max_size(align, vk->props.limits.minStorageBufferOffsetAlignment);
    align = max_size(align, vk->props.limits.minTexelBufferOffsetAlignment);
    if (!type_is_coherent(vk, (uint32_t)type))
        align = max_size(align, vk->props.limits.nonCoherentAtomSize);

    buf->block = -1;
    for (int i = 0; i < a->n_blocks && buf->block < 0; i++) {
        vk_block *b = &a->blocks[i];
        if (b->memory && b->type == (uint32_t)type && block_take(b, req.size, align, buf))
            buf->block = i;
    }
    if (buf->block < 0) {
        VkDeviceSize need_bytes = align_up(req.size, align);
        int dedicated = need_bytes > VK_BLOCK_BYTES;
        int index = -1;
        st = new_block(vk, (uint32_t)type, dedicated ? need_bytes : VK_BLOCK_BYTES, dedicated, &index);
        if (st != GLOW_OK)
            goto fail;
        if (!block_take(&a->blocks[index], req.size, align, buf)) {
            st = glow_error(GLOW_ERR_BACKEND, "vulkan: a fresh memory block cannot hold %zu bytes", bytes);
            goto fail;
        }
        buf->block = index;
    }
    r = vkBindBufferMemory(vk->device, buf->buffer, a->blocks[buf->block].memory, buf->mem_off);
    if (r != VK_SUCCESS) {
        block_give(&a->blocks[buf->block], buf->range_off, buf->range_size);
        buf->block = -1;
        st = vk_fail(r, "vkBindBufferMemory", __FILE__, __LINE__);
        goto fail;
    }
    a->current += bytes;
    if (a->current > a->peak)
        a->peak = a->current;
    *impl = buf;
    return GLOW_OK;
fail:
    vkDestroyBuffer(vk->device, buf->buffer, NULL);
    free(buf);
    return st;
}

static void release_buffer(vk_context *vk, vk_buffer *buf)
{
    for (int k = 0; k < 3; k++)
        if (buf->views[k])
            vkDestroyBufferView(vk->device, buf->views[k], NULL);
    vkDestroyBuffer(vk->device, buf->buffer, NULL);
    vk_block *b = &vk->alloc->blocks[buf->block];
    block_give(b, buf->range_off, buf->range_size);
    if (b->dedicated && b->n_free == 1 && b->free[0].size == b->size)
        free_block(vk, b);
    vk->alloc->current -= buf->bytes;
    free(buf);
}

void vk_buffer_free(glow_backend *be, void *impl)
{
    vk_context *vk = vk_ctx(be);
    vk_buffer *buf = impl;
    if (buf == NULL)
        return;
    if (buf->last_use > vk->alloc->completed) {
        /* Recorded work still uses it: released by vk_memory_retire. */
        buf->next_deferred = vk->alloc->deferred;
        vk->alloc->deferred = buf;
        return;
    }
    release_buffer(vk, buf);
}

void vk_buffer_mark_used(const glow_buffer *buf, uint64_t submission)
{
    vk_buffer *b = buf->impl;
    if (b->last_use < submission)
        b->last_use = submission;
}

void vk_memory_retire(vk_context *vk, uint64_t completed)
{
    struct vk_allocator *a = vk->alloc;
    if (a == NULL)
        return;
    if (completed > a->completed)
        a->completed = completed;
    vk_buffer **link = &a->deferred;
    while (*link) {
        vk_buffer *buf = *link;
        if (buf->last_use <= a->completed) {
            *link = buf->next_deferred;
            release_buffer(vk, buf);
        } else {
            link = &buf->next_deferred;
        }
    }
}

VkBuffer vk_buffer_handle(const glow_buffer *buf)
{
    return ((const vk_buffer *)buf->impl)->buffer;
}

glow_status vk_buffer_texel_view(vk_context *vk, const glow_buffer *gbuf, vk_binding_kind kind, VkBufferView *out)
{
    vk_buffer *buf = gbuf->impl;
    *out = VK_NULL_HANDLE;
    if (kind != VK_BIND_TEXEL_RGBA32F && kind != VK_BIND_TEXEL_R32F)
        return glow_error(GLOW_ERR_INVALID_ARG, "vulkan: texel view of a storage binding");
    if (buf->views[kind] == VK_NULL_HANDLE) {
        VkDeviceSize texel = kind == VK_BIND_TEXEL_RGBA32F ? 16 : 4;
        VkDeviceSize range = buf->bytes / texel * texel;
        if (range / texel > vk->max_texel_elements)
            return glow_error(GLOW_ERR_UNAVAILABLE,
                              "vulkan: a texel view of %zu bytes exceeds maxTexelBufferElements (%llu)", buf->bytes,
                              (unsigned long long)vk->max_texel_elements);
        VkBufferViewCreateInfo vi = {
            .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
            .buffer = buf->buffer,
            .format = kind == VK_BIND_TEXEL_RGBA32F ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT,
            .offset = 0,
            .range = range,
        };
        VK_CHECK(vkCreateBufferView(vk->device, &vi, NULL, &buf->views[kind]));
    }
    *out = buf->views[kind];
    return GLOW_OK;
}

void vk_memory_usage(glow_backend *be, size_t *current, size_t *peak)
{
    struct vk_allocator *a = vk_ctx(be)->alloc;
    *current = a->current;
    *peak = a->peak;
}

/* The atom-aligned range of a non-coherent block around [off, off + bytes). */
static VkMappedMemoryRange atom_range(const vk_context *vk, VkDeviceMemory memory, VkDeviceSize mem_size,
                                      VkDeviceSize off, VkDeviceSize bytes)
{
    VkDeviceSize atom = vk->props.limits.nonCoherentAtomSize ? vk->props.limits.nonCoherentAtomSize : 1;
    VkDeviceSize start = off / atom * atom;
    VkDeviceSize end = align_up(off + bytes, atom);
    if (end > mem_size)
        end = mem_size;
    VkMappedMemoryRange r = {
        .sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
        .memory = memory,
        .offset = start,
        .size = end - start,
    };
    return r;
}

glow_status vk_staging(vk_context *vk, VkDeviceSize bytes, VkBuffer *buffer, unsigned char **mapped)
{
    struct vk_allocator *a = vk->alloc;
    if (a->staging && a->staging_size >= bytes) {
        *buffer = a->staging;
        *mapped = a->staging_mapped;
        return GLOW_OK;
    }
    if (a->staging) {
        vkDestroyBuffer(vk->device, a->staging, NULL);
        vkUnmapMemory(vk->device, a->staging_memory);
        vkFreeMemory(vk->device, a->staging_memory, NULL);
        a->staging = VK_NULL_HANDLE;
        a->staging_memory = VK_NULL_HANDLE;
    }
    VkBufferCreateInfo bi = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = bytes,
        .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VK_CHECK(vkCreateBuffer(vk->device, &bi, NULL, &a->staging));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(vk->device, a->staging, &req);
    int type = find_memory_type(vk, req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                                VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
                                    VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    if (type < 0)
        return glow_error(GLOW_ERR_BACKEND, "vulkan: no host-visible memory type for staging");
    VkMemoryAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = (uint32_t)type,
    };
    VK_CHECK(vkAllocateMemory(vk->device, &ai, NULL, &a->staging_memory));
    VK_CHECK(vkBindBufferMemory(vk->device, a->staging, a->staging_memory, 0));
    void *host = NULL;
    VK_CHECK(vkMapMemory(vk->device, a->staging_memory, 0, VK_WHOLE_SIZE, 0, &host));
    a->staging_mapped = host;
    a->staging_size = bytes;
    a->staging_coherent = type_is_coherent(vk, (uint32_t)type);
    *buffer = a->staging;
    *mapped = a->staging_mapped;
    return GLOW_OK;
}

glow_status vk_staging_host_sync(vk_context *vk, int to_device)
{
    struct vk_allocator *a = vk->alloc;
    if (a->staging_coherent)
        return GLOW_OK;
    VkMappedMemoryRange r = {.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
                             .memory = a->staging_memory,
                             .offset = 0,
                             .size = VK_WHOLE_SIZE};
    if (to_device)
        VK_CHECK(vkFlushMappedMemoryRanges(vk->device, 1, &r));
    else
        VK_CHECK(vkInvalidateMappedMemoryRanges(vk->device, 1, &r));
    return GLOW_OK;
}

unsigned char *vk_buffer_mapped(vk_context *vk, const glow_buffer *gbuf, size_t off)
{
    const vk_buffer *buf = gbuf->impl;
    const vk_block *b = &vk->alloc->blocks[buf->block];
    return b->mapped ? b->mapped + buf->mem_off + off : NULL;
}

glow_status vk_buffer_host_sync(vk_context *vk, const glow_buffer *gbuf, size_t off, size_t bytes, int to_device)
{
    const vk_buffer *buf = gbuf->impl;
    const vk_block *b = &vk->alloc->blocks[buf->block];
    if (b->mapped == NULL || type_is_coherent(vk, b->type))
        return GLOW_OK;
    VkMappedMemoryRange r = atom_range(vk, b->memory, b->size, buf->mem_off + off, bytes);
    if (to_device)
        VK_CHECK(vkFlushMappedMemoryRanges(vk->device, 1, &r));
    else
        VK_CHECK(vkInvalidateMappedMemoryRanges(vk->device, 1, &r));
    return GLOW_OK;
}
