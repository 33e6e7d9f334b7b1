/* The launch and scratch layer every op family (vk_ops_<family>.c) goes through:
 * pipelines by shader constant (VK_SHADER_<NAME>, generated from
 * backends/vulkan/shaders), index checks, grid shapes, and per-context scratch
 * buffers. Implemented in vk_launch.c on top of vk_pipeline.c, vk_command.c and
 * vk_memory.c.
 *
 * Conventions of the shaders launched through vk_launch_1d/_grid/_groups:
 *   - whole buffers bound as storage buffers, in binding order;
 *   - workgroup size from specialization constant 0 (local_size_x_id = 0), a power
 *     of two <= 256 (REDUCE_MAX in shaders/reduce.glsl);
 *   - elements addressed with 32-bit uint offsets (vk_check_index before launching);
 *   - 1-D launches compute their flat index as
 *     (group.y * groups.x + group.x) * local_size + local.x (linear_index() in
 *     shaders/common.glsl), so long launches spill over into groups_y.
 * The GEMM-shaped kernels (vk_ops_conv.c) use vk_launch with their own spec
 * constants and 3-D grids. */
#ifndef GLOW_VK_LAUNCH_H
#define GLOW_VK_LAUNCH_H

#include <stdint.h>

#include "vk_internal.h"

/* Largest workgroup (invocations in x) the device allows:
 * min(maxComputeWorkGroupInvocations, maxComputeWorkGroupSize[0]). */
uint32_t vk_launch_max_workgroup(const vk_context *vk);
/* Workgroup size of the elementwise and reduction kernels: 256, or the largest
 * power of two the device allows (the Vulkan minimum for both limits is 128). */
uint32_t vk_launch_workgroup(const vk_context *vk);

static inline vk_binding vk_bind(const glow_buffer *buf, int writes)
{
    vk_binding b = {buf, VK_BIND_STORAGE, writes, 0, 0};
    return b;
}

/* A storage binding of tensor t's elements only (the hazard tracker then sees its byte range,
 * not the whole buffer): the descriptor covers [base, end of t), base = t's first byte rounded
 * down to minStorageBufferOffsetAlignment, and *elem_off receives t.off relative to base, the
 * offset the shader's push constant must carry. The kernel must touch no element outside t. */
vk_binding vk_bind_tensor(const vk_context *vk, glow_tensor t, int writes, uint32_t *elem_off);

/* Every element a kernel addresses must be reachable with a uint index:
 * GLOW_ERR_SHAPE "vulkan <op>: tensor '<name>' ends at element E, ..." otherwise. */
glow_status vk_check_index(const char *op, const char *name, glow_tensor t);

/* Gets (creating on first use) the pipeline of `shader` with spec constants
 * constant_id i = spec[i] (i < n_spec) and records a dispatch of gx * gy * gz
 * workgroups (nothing when one of them is 0). Errors carry "vulkan <shader>". */
glow_status vk_launch(vk_context *vk, vk_shader_id shader, const vk_binding *bindings, int n_bindings,
                      const void *push, uint32_t push_bytes, const uint32_t *spec, int n_spec, uint32_t gx,
                      uint32_t gy, uint32_t gz);

/* Spreads `groups` workgroups of a 1-D launch over x (up to the device limit) and y
 * (at least one group). GLOW_ERR_SHAPE when y would exceed its limit too. */
glow_status vk_launch_spread(const vk_context *vk, vk_shader_id shader, uint64_t groups, uint32_t *gx,
                             uint32_t *gy);

/* A 1-D launch over `items` invocations (one per element or per Philox block),
 * workgroup vk_launch_workgroup, spec constant 0 = that size. */
glow_status vk_launch_1d(vk_context *vk, vk_shader_id shader, const vk_binding *bindings, int n_bindings,
                         const void *push, uint32_t push_bytes, uint64_t items);

/* Invocations of a grid-stride launch on a CPU driver (lavapipe): every workgroup there
 * costs a fixed scheduling overhead that dwarfs a few elements' work, so a few thousand
 * invocations (a multiple of the core count times the 8-lane subgroups) each loop over
 * many elements. Measured on Mesa 22.3 lavapipe, 2 cores, fill of 2^20 floats: 4096
 * invocations ~2.3 ms against ~5-13 ms with one invocation per element. */
#define VK_LAUNCH_CPU_GRID_INVOCATIONS 4096u

/* A 1-D launch of a grid-stride kernel over `items` elements: the shader loops
 *   for (i = linear_index(); i < items; i += grid_size())
 * (shaders/common.glsl). GPUs get one invocation per element (one trip round the loop);
 * CPU devices at most VK_LAUNCH_CPU_GRID_INVOCATIONS invocations. */
glow_status vk_launch_grid(vk_context *vk, vk_shader_id shader, const vk_binding *bindings, int n_bindings,
                           const void *push, uint32_t push_bytes, uint64_t items);

/* One workgroup per output (channel or sample) of a reduction kernel. */
glow_status vk_launch_groups(vk_context *vk, vk_shader_id shader, const vk_binding *bindings, int n_bindings,
                             const void *push, uint32_t push_bytes, uint32_t groups);

/* ---- scratch ------------------------------------------------------------------- */
/* Per-context temporary device buffers, one per vk_scratch_slot, grown on demand
 * (at least 1 MiB) and valid until the next vk_scratch call of the same slot.
 * Allocated through vk_memory.c directly (not the public glow_buffer API); a
 * replaced buffer's release waits for the recorded work that still uses it
 * (deferred free), so growing never flushes. */
typedef enum {
    VK_SCRATCH_CONV_PARTIALS = 0, /* vk_ops_conv.c: split-K partial sums of backward_weight */
    VK_SCRATCH_SLOTS
} vk_scratch_slot;
glow_status vk_scratch(vk_context *vk, vk_scratch_slot slot, size_t bytes, const glow_buffer **out);
/* Frees every scratch buffer; called by the backend's destroy before vk_memory_destroy. */
void vk_scratch_release(vk_context *vk);

/* The seed/stream/counter/first_block words of a Philox draw, as the shaders take them. */
typedef struct {
    uint32_t seed_lo, seed_hi, stream, counter, first_block;
} vk_rng_words;

static inline vk_rng_words vk_rng_push(glow_rng r)
{
    vk_rng_words w = {(uint32_t)r.seed, (uint32_t)(r.seed >> 32), r.stream, r.counter, r.first_block};
    return w;
}

#endif
