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

/* The GEMM kernel variant `be` uses: "tiled" or "texel" (NULL when not Vulkan). */
const char *glow_vulkan_gemm_variant(glow_backend *be);

#endif
