/* Command recording: one primary command buffer is kept open; every op appends its
 * dispatches, and vk_flush ends it, submits it once, waits on a fence, retires the
 * submission (vk_memory_retire releases the buffers freed while it was recorded) and
 * begins a fresh one. Descriptor sets come from a chain of pools of VK_POOL_SETS sets each:
 * when the current one is exhausted mid-recording the next one (created on first
 * need, kept afterwards) takes over, so a whole training step (about 1200 dispatches
 * at L=3, K=8) is still one submission; every pool is reset after each completed submit.
 *
 * Barriers: the recorder remembers which byte ranges of which VkBuffers dispatches have
 * read and written since the last barrier (a binding's descriptor range: the whole
 * buffer, or a tensor's range where the op binds one, vk_binding.off/bytes). A dispatch
 * that reads a range overlapping a written one (RAW), or writes a range overlapping one
 * that was read (WAR) or written (WAW), first records one compute->compute
 * VkMemoryBarrier, which clears both sets. Independent dispatches run without one, also
 * when they write different ranges of one buffer (the model's arenas and scratch
 * buffers hold many tensors each). */
#include "vk_internal.h"

#include <stdlib.h>
#include <string.h>

#include "glow/vulkan.h"

#define VK_POOL_SETS 1024u

typedef struct {
    VkBuffer buffer;
    VkDeviceSize lo, hi; /* bytes [lo, hi) */
} vk_range;

typedef struct {
    vk_range *items;
    int count, cap;
} vk_buffer_set;

struct vk_recorder {
    VkCommandPool command_pool;
    VkCommandBuffer cmd;
    VkDescriptorPool *pools; /* n_pools created; sets come from pools[current_pool] */
    int n_pools, current_pool;
    uint32_t pool_sets; /* sets taken from pools[current_pool] since its reset */
    VkFence fence;
    uint64_t submission; /* number of the submission being recorded (1, 2, ...; see vk_memory_retire) */
    int begun;   /* cmd is in the recording state */
    int pending; /* commands were recorded since begin */
    vk_pipeline *bound;
    vk_buffer_set read, written; /* since the last barrier */
    uint64_t dispatches, barriers, submits;
};

/* 1 when a range of `s` overlaps bytes [lo, hi) of buffer b. */
static int set_overlaps(const vk_buffer_set *s, VkBuffer b, VkDeviceSize lo, VkDeviceSize hi)
{
    for (int i = 0; i < s->count; i++)
        if (s->items[i].buffer == b && vk_ranges_overlap(s->items[i].lo, s->items[i].hi, lo, hi))
            return 1;
    return 0;
}

static glow_status set_add(vk_buffer_set *s, VkBuffer b, VkDeviceSize lo, VkDeviceSize hi)
{
    for (int i = 0; i < s->count; i++)
        if (s->items[i].buffer == b && s->items[i].lo <= lo && hi <= s->items[i].hi)
            return GLOW_OK; /* already covered */
    if (s->count == s->cap) {
        int cap = s->cap ? s->cap * 2 : 32;
        vk_range *items = realloc(s->items, (size_t)cap * sizeof *items);
        if (items == NULL)
            return glow_error(GLOW_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
        s->items = items;
        s->cap = cap;
    }
    s->items[s->count++] = (vk_range){b, lo, hi};
    return GLOW_OK;
}

/* Appends one descriptor pool to the chain and makes it the current one. */
static glow_status add_descriptor_pool(vk_context *vk)
{
    struct vk_recorder *rec = vk->rec;
    VkDescriptorPool *pools = realloc(rec->pools, (size_t)(rec->n_pools + 1) * sizeof *pools);
    if (pools == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
    rec->pools = pools;
    VkDescriptorPoolSize sizes[3] = {
        {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = VK_POOL_SETS * 6},
        {.type = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, .descriptorCount = VK_POOL_SETS * 4},
        {.type = VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, .descriptorCount = VK_POOL_SETS * 4},
    };
    VkDescriptorPoolCreateInfo di = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = VK_POOL_SETS,
        .poolSizeCount = 3,
        .pPoolSizes = sizes,
    };
    VK_CHECK(vkCreateDescriptorPool(vk->device, &di, NULL, &rec->pools[rec->n_pools]));
    rec->current_pool = rec->n_pools++;
    rec->pool_sets = 0;
    return GLOW_OK;
}

/* Moves on to the next pool of the chain (already reset), creating it on first need. */
static glow_status next_descriptor_pool(vk_context *vk)
{
    struct vk_recorder *rec = vk->rec;
    if (rec->current_pool + 1 < rec->n_pools) {
        rec->current_pool++;
        rec->pool_sets = 0;
        return GLOW_OK;
    }
    return add_descriptor_pool(vk);
}

glow_status vk_recorder_init(vk_context *vk)
{
    struct vk_recorder *rec = calloc(1, sizeof *rec);
    if (rec == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
    vk->rec = rec;
    rec->submission = 1;
    VkCommandPoolCreateInfo pi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
        .queueFamilyIndex = vk->queue_family,
    };
    VK_CHECK(vkCreateCommandPool(vk->device, &pi, NULL, &rec->command_pool));
    VkCommandBufferAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = rec->command_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    VK_CHECK(vkAllocateCommandBuffers(vk->device, &ai, &rec->cmd));
    GLOW_TRY(add_descriptor_pool(vk));
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VK_CHECK(vkCreateFence(vk->device, &fi, NULL, &rec->fence));
    return GLOW_OK;
}

void vk_recorder_destroy(vk_context *vk)
{
    struct vk_recorder *rec = vk->rec;
    if (rec == NULL)
        return;
    if (rec->pending)
        vk_flush(vk);
    if (vk->device) {
        vkDeviceWaitIdle(vk->device);
        if (rec->fence)
            vkDestroyFence(vk->device, rec->fence, NULL);
        for (int i = 0; i < rec->n_pools; i++)
            vkDestroyDescriptorPool(vk->device, rec->pools[i], NULL);
        if (rec->command_pool)
            vkDestroyCommandPool(vk->device, rec->command_pool, NULL);
    }
    free(rec->pools);
    free(rec->read.items);
    free(rec->written.items);
    free(rec);
    vk->rec = NULL;
}

static glow_status ensure_begun(struct vk_recorder *rec)
{
    if (rec->begun)
        return GLOW_OK;
    VkCommandBufferBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    VK_CHECK(vkBeginCommandBuffer(rec->cmd, &bi));
    rec->begun = 1;
    return GLOW_OK;
}

static void memory_barrier(struct vk_recorder *rec, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                           VkPipelineStageFlags dst_stage, VkAccessFlags dst_access)
{
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = src_access,
        .dstAccessMask = dst_access,
    };
    vkCmdPipelineBarrier(rec->cmd, src_stage, dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
    rec->read.count = 0;
    rec->written.count = 0;
    rec->barriers++;
}

glow_status vk_flush(vk_context *vk)
{
    struct vk_recorder *rec = vk->rec;
    if (!rec->pending)
        return GLOW_OK;
    /* Make every shader and transfer write visible to host reads of mapped memory. */
    memory_barrier(rec, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                   VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                   VK_ACCESS_HOST_READ_BIT);
    rec->begun = 0;
    rec->pending = 0;
    rec->bound = NULL;
    VkResult r = vkEndCommandBuffer(rec->cmd);
    const char *call = "vkEndCommandBuffer";
    if (r == VK_SUCCESS) {
        VkSubmitInfo si = {
            .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
            .commandBufferCount = 1,
            .pCommandBuffers = &rec->cmd,
        };
        call = "vkQueueSubmit";
        r = vkQueueSubmit(vk->queue, 1, &si, rec->fence);
        if (r == VK_SUCCESS) {
            rec->submits++;
            call = "vkWaitForFences";
            r = vkWaitForFences(vk->device, 1, &rec->fence, VK_TRUE, UINT64_MAX);
        }
    }
    /* Whatever happened, the command buffer and descriptor sets go back to their
     * initial state so that recording can begin again. */
    if (r == VK_SUCCESS) {
        call = "vkResetFences";
        r = vkResetFences(vk->device, 1, &rec->fence);
    }
    VkResult rp = VK_SUCCESS;
    for (int i = 0; i < rec->n_pools; i++) {
        VkResult ri = vkResetDescriptorPool(vk->device, rec->pools[i], 0);
        if (rp == VK_SUCCESS)
            rp = ri;
    }
    rec->current_pool = 0;
    rec->pool_sets = 0;
    VkResult rc = vkResetCommandPool(vk->device, rec->command_pool, 0);
    /* The submission has completed (or failed and will never run): its buffers may go. */
    vk_memory_retire(vk, rec->submission++);
    if (r != VK_SUCCESS)
        return vk_fail(r, call, __FILE__, __LINE__);
    VK_CHECK(rp);
    VK_CHECK(rc);
    return GLOW_OK;
}

glow_status vk_sync(glow_backend *be)
{
    return vk_flush(vk_ctx(be));
}

static glow_status check_dispatch(const vk_context *vk, const vk_pipeline *p, const vk_binding *bindings,
                                  int n_bindings, uint32_t push_bytes, const uint32_t groups[3])
{
    if (p == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "vulkan: dispatch without a pipeline");
    const char *name = p->module->name;
    for (int i = 0; i < n_bindings; i++) {
        if (bindings[i].buf == NULL)
            return glow_error(GLOW_ERR_INVALID_ARG, "vulkan: dispatch of '%s': binding %d is missing", name, i);
        if (bindings[i].buf->backend != vk->backend)
            return glow_error(GLOW_ERR_INVALID_ARG, "vulkan: dispatch of '%s': binding %d belongs to another backend",
                              name, i);
    }
    GLOW_TRY(vk_pipeline_check_bindings(p, bindings, n_bindings, push_bytes));
    for (int d = 0; d < 3; d++)
        if (groups[d] > vk->props.limits.maxComputeWorkGroupCount[d])
            return glow_error(GLOW_ERR_SHAPE, "vulkan: dispatch of '%s': %u groups in dimension %d exceed the limit %u",
                              name, groups[d], d, vk->props.limits.maxComputeWorkGroupCount[d]);
    return GLOW_OK;
}

static glow_status allocate_set(vk_context *vk, const vk_pipeline *p, VkDescriptorSet *set)
{
    struct vk_recorder *rec = vk->rec;
    /* VK_POOL_SETS sets per pool, counted here (some drivers, lavapipe among them, hand
     * out more than maxSets); a driver that runs out of descriptors earlier says so. */
    if (rec->pool_sets == VK_POOL_SETS)
        GLOW_TRY(next_descriptor_pool(vk));
    VkDescriptorSetAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = rec->pools[rec->current_pool],
        .descriptorSetCount = 1,
        .pSetLayouts = &p->set_layout,
    };
    VkResult r = vkAllocateDescriptorSets(vk->device, &ai, set);
    if (r == VK_ERROR_OUT_OF_POOL_MEMORY || r == VK_ERROR_FRAGMENTED_POOL) {
        /* This pool is full: go on in the next one (an empty pool always has room for one set). */
        GLOW_TRY(next_descriptor_pool(vk));
        ai.descriptorPool = rec->pools[rec->current_pool];
        r = vkAllocateDescriptorSets(vk->device, &ai, set);
    }
    VK_CHECK(r);
    rec->pool_sets++;
    return GLOW_OK;
}

glow_status vk_dispatch(vk_context *vk, vk_pipeline *p, const vk_binding *bindings, int n_bindings,
                        const void *push, uint32_t push_bytes, uint32_t groups_x, uint32_t groups_y,
                        uint32_t groups_z)
{
    struct vk_recorder *rec = vk->rec;
    const uint32_t groups[3] = {groups_x, groups_y, groups_z};
    GLOW_TRY(check_dispatch(vk, p, bindings, n_bindings, push_bytes, groups));
    if (groups_x == 0 || groups_y == 0 || groups_z == 0)
        return GLOW_OK;

    VkBufferView views[VK_MAX_BINDINGS];
    VkDescriptorBufferInfo infos[VK_MAX_BINDINGS];
    VkWriteDescriptorSet writes[VK_MAX_BINDINGS];
    for (int i = 0; i < n_bindings; i++) {
        views[i] = VK_NULL_HANDLE;
        if (bindings[i].kind != VK_BIND_STORAGE)
            GLOW_TRY(vk_buffer_texel_view(vk, bindings[i].buf, bindings[i].kind, &views[i]));
        int ranged = bindings[i].kind == VK_BIND_STORAGE && bindings[i].bytes > 0;
        infos[i] = (VkDescriptorBufferInfo){.buffer = vk_buffer_handle(bindings[i].buf),
                                            .offset = ranged ? bindings[i].off : 0,
                                            .range = ranged ? bindings[i].bytes : VK_WHOLE_SIZE};
    }
    /* The set is allocated and written before anything of this dispatch is recorded. */
    VkDescriptorSet set;
    GLOW_TRY(allocate_set(vk, p, &set));
    for (int i = 0; i < n_bindings; i++) {
        int storage = bindings[i].kind == VK_BIND_STORAGE;
        writes[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = set,
            .dstBinding = (uint32_t)i,
            .descriptorCount = 1,
            .descriptorType = vk_descriptor_type(p->module->binding_type[i]),
            .pBufferInfo = storage ? &infos[i] : NULL,
            .pTexelBufferView = storage ? NULL : &views[i],
        };
    }
    vkUpdateDescriptorSets(vk->device, (uint32_t)n_bindings, writes, 0, NULL);

    GLOW_TRY(ensure_begun(rec));
    VkDeviceSize lo[VK_MAX_BINDINGS], hi[VK_MAX_BINDINGS];
    for (int i = 0; i < n_bindings; i++) {
        lo[i] = infos[i].offset;
        hi[i] = infos[i].range == VK_WHOLE_SIZE ? VK_WHOLE_SIZE : lo[i] + infos[i].range;
    }
    int hazard = 0;
    for (int i = 0; i < n_bindings && !hazard; i++) {
        VkBuffer b = infos[i].buffer;
        hazard = set_overlaps(&rec->written, b, lo[i], hi[i]) ||
                 (bindings[i].writes && set_overlaps(&rec->read, b, lo[i], hi[i]));
    }
    if (hazard)
        memory_barrier(rec, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    if (rec->bound != p) {
        vkCmdBindPipeline(rec->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
        rec->bound = p;
    }
    vkCmdBindDescriptorSets(rec->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, NULL);
    if (push_bytes)
        vkCmdPushConstants(rec->cmd, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
    vkCmdDispatch(rec->cmd, groups_x, groups_y, groups_z);
    rec->pending = 1;
    rec->dispatches++;
    for (int i = 0; i < n_bindings; i++) {
        vk_buffer_mark_used(bindings[i].buf, rec->submission);
        /* A binding that writes may also read: a later writer must wait for it either way. */
        GLOW_TRY(set_add(&rec->read, infos[i].buffer, lo[i], hi[i]));
        if (bindings[i].writes)
            GLOW_TRY(set_add(&rec->written, infos[i].buffer, lo[i], hi[i]));
    }
    return GLOW_OK;
}

glow_status vk_record_copy(vk_context *vk, VkBuffer src, VkDeviceSize src_off, VkBuffer dst, VkDeviceSize dst_off,
                           VkDeviceSize bytes)
{
    struct vk_recorder *rec = vk->rec;
    GLOW_TRY(ensure_begun(rec));
    const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    const VkAccessFlags all = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                              VK_ACCESS_TRANSFER_WRITE_BIT;
    memory_barrier(rec, stages, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, stages, all);
    VkBufferCopy region = {.srcOffset = src_off, .dstOffset = dst_off, .size = bytes};
    vkCmdCopyBuffer(rec->cmd, src, dst, 1, &region);
    memory_barrier(rec, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, stages, all);
    rec->pending = 1;
    return GLOW_OK;
}

int glow_vulkan_command_counts(glow_backend *be, glow_vulkan_counts *out)
{
    memset(out, 0, sizeof *out);
    if (be == NULL || strcmp(be->info.backend, "vulkan") != 0 || vk_ctx(be)->rec == NULL)
        return -1;
    const struct vk_recorder *rec = vk_ctx(be)->rec;
    out->submits = rec->submits;
    out->dispatches = rec->dispatches;
    out->barriers = rec->barriers;
    return 0;
}

uint64_t glow_vulkan_submit_count(glow_backend *be)
{
    glow_vulkan_counts c;
    glow_vulkan_command_counts(be, &c);
    return c.submits;
}
