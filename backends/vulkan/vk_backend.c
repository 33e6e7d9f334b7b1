/* The Vulkan backend: its glow_backend_ops table (entries implemented in vk_memory.c,
 * vk_command.c and the vk_ops_*.c files), open/destroy, and glow_vulkan_factory. */
#include "vk_launch.h"

#include <stdlib.h>
#include <string.h>

#include "glow/vulkan.h"

static const glow_backend_ops vk_backend_ops = {
#define GLOW_OP(name, ret, params) .name = vk_##name,
#include "glow/ops.def"
};

/* Tears down whatever vk_open got to (every stage tolerates a missing part). */
void vk_destroy(glow_backend *be)
{
    if (be == NULL)
        return;
    vk_context *vk = vk_ctx(be);
    if (vk) {
        if (vk->device) {
            if (vk->rec)
                vk_flush(vk);
            vk_scratch_release(vk);
            vk_recorder_destroy(vk);
            vk_pipelines_destroy(vk);
            vk_memory_destroy(vk);
        }
        vk_device_close(vk);
        free(vk);
    }
    free(be);
}

static glow_status vk_open(int device, glow_backend **out)
{
    *out = NULL;
    glow_backend *be = calloc(1, sizeof *be);
    vk_context *vk = calloc(1, sizeof *vk);
    if (be == NULL || vk == NULL) {
        free(be);
        free(vk);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
    }
    be->ops = &vk_backend_ops;
    be->impl = vk;
    vk->backend = be;
    glow_status st = vk_device_open(vk, device);
    if (st == GLOW_OK)
        st = vk_memory_init(vk);
    if (st == GLOW_OK)
        st = vk_pipelines_init(vk);
    if (st == GLOW_OK)
        st = vk_recorder_init(vk);
    if (st != GLOW_OK) {
        vk_destroy(be);
        return st;
    }
    *out = be;
    return GLOW_OK;
}

const glow_backend_factory glow_vulkan_factory = {
    .name = "vulkan",
    .list_devices = vk_list_devices,
    .open = vk_open,
};

int glow_vulkan_validation_errors(glow_backend *be)
{
    if (be == NULL || be->ops != &vk_backend_ops)
        return -1;
    return vk_ctx(be)->validation_errors;
}

int glow_vulkan_validation_enabled(glow_backend *be)
{
    if (be == NULL || be->ops != &vk_backend_ops)
        return -1;
    return vk_ctx(be)->validation;
}

const char *glow_vulkan_gemm_variant(glow_backend *be)
{
    if (be == NULL || be->ops != &vk_backend_ops)
        return NULL;
    vk_gemm_variant v = vk_ctx(be)->gemm_variant;
    return v == VK_GEMM_TEXEL ? "texel" : v == VK_GEMM_COOPMAT ? "coopmat" : "tiled";
}

const char *glow_vulkan_gemm_description(glow_backend *be)
{
    if (be == NULL || be->ops != &vk_backend_ops)
        return NULL;
    return vk_ctx(be)->gemm_desc;
}
