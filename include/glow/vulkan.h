/* Vulkan-specific hooks on an open backend (for tests and diagnostics). */
#ifndef GLOW_VULKAN_H
#define GLOW_VULKAN_H

#include "glow/backend.h"

/* Number of validation-layer warnings and errors reported while `be` was open
 * (0 when the layer is off), or -1 when `be` is not a Vulkan backend. */
int glow_vulkan_validation_errors(glow_backend *be);

/* Whether the validation layer is enabled on `be` ($GLOW_VK_VALIDATION=1 and the
 * layer installed); -1 when `be` is not a Vulkan backend. */
int glow_vulkan_validation_enabled(glow_backend *be);

/* The GEMM kernel variant `be` uses: "tiled", "texel" or "coopmat" (cooperative
 * matrices, precision tf32 on a device that has a usable shape) (NULL when not Vulkan). */
const char *glow_vulkan_gemm_variant(glow_backend *be);
/* The GEMM path and precision in words, e.g. "coopmat KHR 16x16x16 fp16*fp16+fp32
 * (precision tf32)" or "tiled (precision fp32)" (NULL when not Vulkan). */
const char *glow_vulkan_gemm_description(glow_backend *be);

/* Command recording on `be` since it was opened. A training step is recorded into one
 * command buffer and submitted once (docs: backends/vulkan/vk_command.c). */
typedef struct {
    uint64_t submits;    /* vkQueueSubmit calls (each waits on its fence) */
    uint64_t dispatches; /* vkCmdDispatch recorded */
    uint64_t barriers;   /* vkCmdPipelineBarrier recorded: hazards between dispatches, around
                            transfer copies, and one before each submit for host reads */
} glow_vulkan_counts;

/* Fills *out; returns -1 (and zeros) when `be` is not a Vulkan backend. */
int glow_vulkan_command_counts(glow_backend *be, glow_vulkan_counts *out);

/* counts.submits, or 0 when `be` is not a Vulkan backend. */
uint64_t glow_vulkan_submit_count(glow_backend *be);

#endif
