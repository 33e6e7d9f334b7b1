/* Internal interface of the Vulkan backend, shared by its files:
 *   vk_device.c    instance (volk), validation layer, physical devices, queue, device info
 *   vk_memory.c    sub-allocated device memory, staging, upload/download
 *   vk_pipeline.c  SPIR-V blobs -> pipelines (spec constants, pipeline cache on disk)
 *   vk_command.c   command recording, descriptor sets, hazard-tracking barriers, submit/wait
 *   vk_backend.c   the glow_backend_ops table and glow_vulkan_factory
 *   vk_ops_*.c     host side of each op family, next to shaders/<family>*.comp
 *
 * Shader conventions (every .comp in shaders/):
 *   - set 0; bindings 0..n-1 in the order of vk_binding[] given to vk_dispatch;
 *     storage buffers are `float data[]` (or uint for the pixel buffer) over the WHOLE
 *     glow_buffer; texel bindings are uniform texel buffers (RGBA32F or R32F views
 *     of the whole buffer). Tensor element offsets travel in push constants.
 *   - push constants: one struct, <= 128 bytes, mirrored by a C struct with a
 *     _Static_assert on its size in the vk_ops_*.c file.
 *   - workgroup size through specialization constants: local_size_x_id = 0
 *     (and _y_id = 1, _z_id = 2 where used); further tile sizes from constant_id 3 on.
 */
#ifndef GLOW_VK_INTERNAL_H
#define GLOW_VK_INTERNAL_H

#include <volk.h>

#include "glow/backend.h"

#define VK_MAX_BINDINGS 12
#define VK_MAX_SPEC 8
#define VK_MAX_PUSH_BYTES 128

typedef enum {
    VK_BIND_STORAGE = 0,      /* storage buffer, read and/or write */
    VK_BIND_TEXEL_RGBA32F = 1, /* uniform texel buffer, vec4 per texel (whole buffer / 16 bytes) */
    VK_BIND_TEXEL_R32F = 2,    /* uniform texel buffer, one float per texel */
} vk_binding_kind;

typedef struct {
    const glow_buffer *buf;
    vk_binding_kind kind;
    int writes; /* 1 if the dispatch writes this buffer (drives barrier placement) */
} vk_binding;

/* What the backend needs to know to build one pipeline variant. */
typedef struct {
    const char *shader;                /* file name without ".comp", e.g. "actnorm_forward" */
    int n_bindings;
    vk_binding_kind kinds[VK_MAX_BINDINGS];
    uint32_t push_bytes;
    int n_spec;
    uint32_t spec[VK_MAX_SPEC];        /* constant_id i = spec[i] (uint32 bit patterns) */
} vk_pipeline_desc;

/* Which GEMM-shaped kernel variant a device gets. */
typedef enum {
    VK_GEMM_TILED = 0, /* GPUs: shared-memory tiles, register blocking */
    VK_GEMM_TEXEL = 1, /* CPU drivers (lavapipe): texel-buffer operands, 4x4 register blocks */
} vk_gemm_variant;

typedef struct vk_context vk_context;
typedef struct vk_pipeline vk_pipeline;

/* The backend's context: the glow_backend's impl. Fields used across files. */
struct vk_context {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice phys;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem_props;
    uint32_t subgroup_size;
    int unified_memory;          /* device-local memory is host-visible (lavapipe, iGPUs) */
    vk_gemm_variant gemm_variant; /* from the device type, overridable by $GLOW_VK_GEMM=tiled|texel */
    int validation;              /* validation layer enabled */
    int validation_errors;       /* messages of severity warning/error seen (tests fail on > 0) */
    uint64_t max_texel_elements; /* maxTexelBufferElements */

    /* owned by vk_memory.c, vk_pipeline.c, vk_command.c respectively */
    struct vk_allocator *alloc;
    struct vk_pipeline_set *pipelines;
    struct vk_recorder *rec;
    struct vk_conv_scratch *conv_scratch; /* vk_ops_conv.c: split-K partial sums */
    glow_backend *backend;
};

static inline vk_context *vk_ctx(glow_backend *be)
{
    return (vk_context *)be->impl;
}

/* Name of a VkResult ("VK_ERROR_OUT_OF_DEVICE_MEMORY"). */
const char *vk_result_name(VkResult r);
/* Sets an error "<call> failed: <VkResult name> (<file>:<line>)" and returns GLOW_ERR_BACKEND. */
glow_status vk_fail(VkResult r, const char *call, const char *file, int line);
#define VK_CHECK(call)                                            \
    do {                                                          \
        VkResult vk_check_r_ = (call);                            \
        if (vk_check_r_ != VK_SUCCESS)                            \
            return vk_fail(vk_check_r_, #call, __FILE__, __LINE__); \
    } while (0)

/* ---- vk_device.c ---------------------------------------------------------- */
/* Creates (or shares) the instance, picks physical device `device` (< 0: discrete >
 * integrated > virtual > CPU), creates the logical device with one compute queue,
 * fills the limits above and vk->backend->info. */
glow_status vk_device_open(vk_context *vk, int device);
void vk_device_close(vk_context *vk);
/* Information on every physical device, in enumeration order (= open() index). */
glow_status vk_list_devices(glow_device_info *out, int max, int *count);

/* ---- vk_memory.c ---------------------------------------------------------- */
glow_status vk_memory_init(vk_context *vk);
void vk_memory_destroy(vk_context *vk);
/* The VkBuffer behind a glow_buffer and a (lazily created, cached) texel view of it. */
VkBuffer vk_buffer_handle(const glow_buffer *buf);
glow_status vk_buffer_texel_view(vk_context *vk, const glow_buffer *buf, vk_binding_kind kind, VkBufferView *out);

/* ---- vk_pipeline.c -------------------------------------------------------- */
glow_status vk_pipelines_init(vk_context *vk);   /* loads the on-disk VkPipelineCache */
void vk_pipelines_destroy(vk_context *vk);       /* saves it */
/* The SPIR-V of shaders/<name>.comp embedded at build time (generated by
 * tools/embed_spirv.py), or NULL when there is no such shader. */
const uint32_t *vk_shader_spirv(const char *name, size_t *bytes);
/* Returns the pipeline for desc, creating it on first use (cached by shader name + spec values). */
glow_status vk_pipeline_get(vk_context *vk, const vk_pipeline_desc *desc, vk_pipeline **out);

/* A compute pipeline with its own layout; read by vk_command.c. */
struct vk_pipeline {
    vk_pipeline_desc desc;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
};

/* ---- vk_command.c ---------------------------------------------------------- */
glow_status vk_recorder_init(vk_context *vk);
void vk_recorder_destroy(vk_context *vk);
/* Records one dispatch into the current command buffer, inserting a
 * compute->compute barrier first only when it reads or writes a buffer that an
 * earlier dispatch since the last barrier wrote (or writes one that was read).
 * Checks binding count and kinds against the pipeline and the group counts
 * against the device limits. */
glow_status vk_dispatch(vk_context *vk, vk_pipeline *p, const vk_binding *bindings, int n_bindings,
                        const void *push, uint32_t push_bytes, uint32_t groups_x, uint32_t groups_y,
                        uint32_t groups_z);
/* Records a transfer copy (staging upload/download) between full barriers. */
glow_status vk_record_copy(vk_context *vk, VkBuffer src, VkDeviceSize src_off, VkBuffer dst, VkDeviceSize dst_off,
                           VkDeviceSize bytes);
/* Submits what was recorded and waits for it (no-op when nothing is pending). */
glow_status vk_flush(vk_context *vk);

/* Round-up division for group counts. */
static inline uint32_t vk_groups(uint64_t items, uint32_t per_group)
{
    return (uint32_t)((items + per_group - 1) / per_group);
}

/* ---- the glow_backend_ops entries: vk_<name> for every line of glow/ops.def --
 * GLOW_CORE entries: vk_destroy (vk_backend.c), memory (vk_memory.c), upload and
 * download (vk_transfer.c), sync (vk_command.c); every op in the vk_ops_<family>.c
 * file of its section in glow/ops.def. */
#define GLOW_OP(name, ret, params) ret vk_##name params;
#include "glow/ops.def"

/* vk_ops_conv.c: frees the split-K scratch; called by the backend's destroy before vk_memory_destroy. */
void vk_conv_release(vk_context *vk);

#endif
