/* Launch helpers shared by the non-convolution op families (vk_ops_elementwise.c,
 * vk_ops_actnorm.c, vk_ops_lu.c, vk_ops_coupling.c, vk_ops_prior.c, vk_ops_random.c,
 * vk_ops_optim.c). Every one of their shaders:
 *   - binds whole buffers as storage buffers, in binding order,
 *   - takes its workgroup size from specialization constant 0 (local_size_x_id = 0),
 *     a power of two <= 256 (REDUCE_MAX in shaders/reduce.glsl),
 *   - addresses elements with 32-bit uint offsets (checked here before launching),
 *   - 1-D launches compute their flat index as
 *     (group.y * groups.x + group.x) * local_size + local.x (linear_index() in
 *     shaders/common.glsl), so long launches spill over into groups_y. */
#ifndef GLOW_VK_OPS_LAUNCH_H
#define GLOW_VK_OPS_LAUNCH_H

#include <stdint.h>

#include "vk_internal.h"

/* Workgroup size of the elementwise and reduction kernels: 256, or the largest
 * power of two the device allows (the Vulkan minimum for both limits is 128). */
static inline uint32_t vk_ops_workgroup(const vk_context *vk)
{
    uint32_t limit = vk->props.limits.maxComputeWorkGroupInvocations;
    if (vk->props.limits.maxComputeWorkGroupSize[0] < limit)
        limit = vk->props.limits.maxComputeWorkGroupSize[0];
    uint32_t wg = 256;
    while (wg > limit && wg > 1)
        wg /= 2;
    return wg;
}

static inline vk_binding vk_ops_bind(const glow_buffer *buf, int writes)
{
    vk_binding b = {buf, VK_BIND_STORAGE, writes};
    return b;
}

/* Every element the kernels address must be reachable with a uint index. */
static inline glow_status vk_ops_check_index(const char *op, const char *name, glow_tensor t)
{
    uint64_t end = (uint64_t)t.off + (uint64_t)glow_tensor_count(t);
    if (end > UINT32_MAX)
        return glow_error(GLOW_ERR_SHAPE,
                          "vulkan %s: tensor '%s' ends at element %llu, beyond the 32-bit indices of the kernels", op,
                          name, (unsigned long long)end);
    return GLOW_OK;
}

/* Gets (creating on first use) the pipeline of `shader` with the bindings' kinds and
 * workgroup size `wg`, and records a dispatch of groups_x * groups_y workgroups. */
static inline glow_status vk_ops_launch(vk_context *vk, const char *shader, const vk_binding *bindings, int n_bindings,
                                        const void *push, uint32_t push_bytes, uint32_t wg, uint32_t groups_x,
                                        uint32_t groups_y)
{
    vk_pipeline_desc desc = {0};
    desc.shader = shader;
    desc.n_bindings = n_bindings;
    for (int i = 0; i < n_bindings; i++)
        desc.kinds[i] = bindings[i].kind;
    desc.push_bytes = push_bytes;
    desc.n_spec = 1;
    desc.spec[0] = wg;
    vk_pipeline *p = NULL;
    glow_status st = vk_pipeline_get(vk, &desc, &p);
    if (st != GLOW_OK)
        return glow_error_context(st, "vulkan %s", shader);
    if (groups_x == 0 || groups_y == 0)
        return GLOW_OK;
    st = vk_dispatch(vk, p, bindings, n_bindings, push, push_bytes, groups_x, groups_y, 1);
    if (st != GLOW_OK)
        return glow_error_context(st, "vulkan %s", shader);
    return GLOW_OK;
}

/* A 1-D launch over `items` invocations (one per element or per Philox block). */
static inline glow_status vk_ops_launch_1d(vk_context *vk, const char *shader, const vk_binding *bindings,
                                           int n_bindings, const void *push, uint32_t push_bytes, uint64_t items)
{
    uint32_t wg = vk_ops_workgroup(vk);
    uint64_t groups = (items + wg - 1) / wg;
    uint64_t max_x = vk->props.limits.maxComputeWorkGroupCount[0];
    uint64_t gx = groups < max_x ? groups : max_x;
    uint64_t gy = gx == 0 ? 0 : (groups + gx - 1) / gx;
    if (gy > vk->props.limits.maxComputeWorkGroupCount[1])
        return glow_error(GLOW_ERR_SHAPE, "vulkan %s: %llu invocations exceed the device's workgroup counts", shader,
                          (unsigned long long)items);
    return vk_ops_launch(vk, shader, bindings, n_bindings, push, push_bytes, wg, (uint32_t)gx, (uint32_t)gy);
}

/* Invocations of a grid-stride launch on a CPU driver (lavapipe): every workgroup there
 * costs a fixed scheduling overhead that dwarfs a few elements' work, so a few thousand
 * invocations (a multiple of the core count times the 8-lane subgroups) each loop over
 * many elements. Measured on Mesa 22.3 lavapipe, 2 cores, fill of 2^20 floats: 4096
 * invocations ~2.3 ms against ~5-13 ms with one invocation per element. */
#define VK_OPS_CPU_GRID_INVOCATIONS 4096u

/* A 1-D launch of a grid-stride kernel over `items` elements: the shader loops
 *   for (i = linear_index(); i < items; i += grid_size())
 * (shaders/common.glsl). GPUs get one invocation per element (one trip round the loop);
 * CPU devices at most VK_OPS_CPU_GRID_INVOCATIONS invocations. */
static inline glow_status vk_ops_launch_grid(vk_context *vk, const char *shader, const vk_binding *bindings,
                                             int n_bindings, const void *push, uint32_t push_bytes, uint64_t items)
{
    if (vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU && items > VK_OPS_CPU_GRID_INVOCATIONS)
        items = VK_OPS_CPU_GRID_INVOCATIONS;
    return vk_ops_launch_1d(vk, shader, bindings, n_bindings, push, push_bytes, items);
}

/* One workgroup per output (channel or sample) of a reduction kernel. */
static inline glow_status vk_ops_launch_groups(vk_context *vk, const char *shader, const vk_binding *bindings,
                                               int n_bindings, const void *push, uint32_t push_bytes, uint32_t groups)
{
    if (groups > vk->props.limits.maxComputeWorkGroupCount[0])
        return glow_error(GLOW_ERR_SHAPE, "vulkan %s: %u workgroups exceed the device limit of %u", shader, groups,
                          vk->props.limits.maxComputeWorkGroupCount[0]);
    return vk_ops_launch(vk, shader, bindings, n_bindings, push, push_bytes, vk_ops_workgroup(vk), groups, 1);
}

/* The seed/stream/counter/first_block words of a Philox draw, as the shaders take them. */
typedef struct {
    uint32_t seed_lo, seed_hi, stream, counter, first_block;
} vk_ops_rng_words;

static inline vk_ops_rng_words vk_ops_rng(glow_rng r)
{
    vk_ops_rng_words w = {(uint32_t)r.seed, (uint32_t)(r.seed >> 32), r.stream, r.counter, r.first_block};
    return w;
}

#endif
