/* The launch and scratch layer of the op families (see vk_launch.h). */
#include "vk_launch.h"

#include <stdlib.h>

uint32_t vk_launch_max_workgroup(const vk_context *vk)
{
    uint32_t limit = vk->props.limits.maxComputeWorkGroupInvocations;
    if (vk->props.limits.maxComputeWorkGroupSize[0] < limit)
        limit = vk->props.limits.maxComputeWorkGroupSize[0];
    return limit;
}

uint32_t vk_launch_workgroup(const vk_context *vk)
{
    uint32_t limit = vk_launch_max_workgroup(vk);
    uint32_t wg = 256;
    while (wg > limit && wg > 1)
        wg /= 2;
    return wg;
}

glow_status vk_check_index(const char *op, const char *name, glow_tensor t)
{
    uint64_t end = (uint64_t)t.off + (uint64_t)glow_tensor_count(t);
    if (end > UINT32_MAX)
        return glow_error(GLOW_ERR_SHAPE,
                          "vulkan %s: tensor '%s' ends at element %llu, beyond the 32-bit indices of the kernels", op,
                          name, (unsigned long long)end);
    return GLOW_OK;
}

glow_status vk_launch(vk_context *vk, vk_shader_id shader, const vk_binding *bindings, int n_bindings,
                      const void *push, uint32_t push_bytes, const uint32_t *spec, int n_spec, uint32_t gx,
                      uint32_t gy, uint32_t gz)
{
    vk_pipeline_desc desc = {.shader = shader, .n_spec = n_spec};
    for (int i = 0; i < n_spec && i < VK_MAX_SPEC; i++)
        desc.spec[i] = spec[i];
    vk_pipeline *p = NULL;
    glow_status st = vk_pipeline_get(vk, &desc, &p);
    if (st == GLOW_OK)
        st = vk_dispatch(vk, p, bindings, n_bindings, push, push_bytes, gx, gy, gz);
    if (st != GLOW_OK)
        return glow_error_context(st, "vulkan %s", vk_shader_name(shader));
    return GLOW_OK;
}

glow_status vk_launch_spread(const vk_context *vk, vk_shader_id shader, uint64_t groups, uint32_t *gx,
                             uint32_t *gy)
{
    uint64_t max_x = vk->props.limits.maxComputeWorkGroupCount[0];
    if (groups == 0)
        groups = 1;
    uint64_t x = groups < max_x ? groups : max_x;
    uint64_t y = (groups + x - 1) / x;
    if (y > vk->props.limits.maxComputeWorkGroupCount[1])
        return glow_error(GLOW_ERR_SHAPE, "vulkan %s: %llu workgroups exceed the device's workgroup counts",
                          vk_shader_name(shader), (unsigned long long)groups);
    *gx = (uint32_t)x;
    *gy = (uint32_t)y;
    return GLOW_OK;
}

glow_status vk_launch_1d(vk_context *vk, vk_shader_id shader, const vk_binding *bindings, int n_bindings,
                         const void *push, uint32_t push_bytes, uint64_t items)
{
    uint32_t wg = vk_launch_workgroup(vk);
    if (items == 0)
        return vk_launch(vk, shader, bindings, n_bindings, push, push_bytes, &wg, 1, 0, 0, 0);
    uint32_t gx, gy;
    GLOW_TRY(vk_launch_spread(vk, shader, (items + wg - 1) / wg, &gx, &gy));
    return vk_launch(vk, shader, bindings, n_bindings, push, push_bytes, &wg, 1, gx, gy, 1);
}

glow_status vk_launch_grid(vk_context *vk, vk_shader_id shader, const vk_binding *bindings, int n_bindings,
                           const void *push, uint32_t push_bytes, uint64_t items)
{
    if (vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU && items > VK_LAUNCH_CPU_GRID_INVOCATIONS)
        items = VK_LAUNCH_CPU_GRID_INVOCATIONS;
    return vk_launch_1d(vk, shader, bindings, n_bindings, push, push_bytes, items);
}

glow_status vk_launch_groups(vk_context *vk, vk_shader_id shader, const vk_binding *bindings, int n_bindings,
                             const void *push, uint32_t push_bytes, uint32_t groups)
{
    if (groups > vk->props.limits.maxComputeWorkGroupCount[0])
        return glow_error(GLOW_ERR_SHAPE, "vulkan %s: %u workgroups exceed the device limit of %u",
                          vk_shader_name(shader), groups, vk->props.limits.maxComputeWorkGroupCount[0]);
    uint32_t wg = vk_launch_workgroup(vk);
    return vk_launch(vk, shader, bindings, n_bindings, push, push_bytes, &wg, 1, groups, 1, 1);
}

/* ---- scratch ------------------------------------------------------------------------- */

struct vk_scratch_set {
    glow_buffer buffers[VK_SCRATCH_SLOTS]; /* impl == NULL: not allocated */
};

static void scratch_free(vk_context *vk, glow_buffer *b)
{
    if (b->impl != NULL)
        vk_buffer_free(vk->backend, b->impl); /* deferred while recorded work uses it */
    b->impl = NULL;
    b->bytes = 0;
}

glow_status vk_scratch(vk_context *vk, vk_scratch_slot slot, size_t bytes, const glow_buffer **out)
{
    *out = NULL;
    if (vk->scratch == NULL) {
        vk->scratch = calloc(1, sizeof *vk->scratch);
        if (vk->scratch == NULL)
            return glow_error(GLOW_ERR_OUT_OF_MEMORY, "vulkan: out of host memory for scratch");
    }
    glow_buffer *b = &vk->scratch->buffers[slot];
    if (b->impl == NULL || b->bytes < bytes) {
        scratch_free(vk, b);
        const size_t min_bytes = (size_t)1 << 20;
        size_t want = bytes > min_bytes ? bytes : min_bytes;
        want = (want + 15) / 16 * 16;
        GLOW_TRY(vk_buffer_alloc(vk->backend, want, &b->impl));
        b->backend = vk->backend;
        b->bytes = want;
    }
    *out = b;
    return GLOW_OK;
}

void vk_scratch_release(vk_context *vk)
{
    if (vk->scratch == NULL)
        return;
    for (int i = 0; i < VK_SCRATCH_SLOTS; i++)
        scratch_free(vk, &vk->scratch->buffers[i]);
    free(vk->scratch);
    vk->scratch = NULL;
}

vk_binding vk_bind_tensor(const vk_context *vk, glow_tensor t, int writes, uint32_t *elem_off)
{
    VkDeviceSize align = vk->props.limits.minStorageBufferOffsetAlignment; /* a power of two */
    if (align < sizeof(float))
        align = sizeof(float);
    VkDeviceSize start = (VkDeviceSize)t.off * sizeof(float);
    VkDeviceSize end = start + (VkDeviceSize)glow_tensor_count(t) * sizeof(float);
    VkDeviceSize base = start / align * align;
    *elem_off = (uint32_t)((start - base) / sizeof(float));
    vk_binding b = {t.buf, VK_BIND_STORAGE, writes, base, end - base};
    return b;
}
