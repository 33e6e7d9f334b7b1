/* Pipelines: a shader constant (VK_SHADER_<NAME>, vk_shaders.h) -> its embedded
 * SPIR-V -> compute pipeline whose descriptor set layout (set 0, bindings 0..n-1 of the
 * descriptor types the module declares) and push-constant range (the module's block
 * size) come from the interface reflected from the module at build time
 * (tools/embed_spirv.py), with specialization constants constant_id i = spec[i].
 * Every dispatch's bindings and push size are checked against that interface.
 * Cached in memory by (shader, spec values) and on disk through a
 * VkPipelineCache in $XDG_CACHE_HOME/glow-vk (else ~/.cache/glow-vk), one file per
 * vendor/device/driver version; $GLOW_VK_PIPELINE_CACHE=off disables the file. */
#include "vk_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct vk_pipeline_set {
    vk_pipeline **items;
    int count, cap;
    VkPipelineCache cache;
    char cache_path[1024]; /* empty: no file */
    int dirty;             /* pipelines were created since the cache was loaded */
};

static int make_dir(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST;
}

/* Fills set->cache_path and creates its directory; leaves it empty when there is no home. */
static void cache_file_path(vk_context *vk, struct vk_pipeline_set *set)
{
    const char *off = getenv("GLOW_VK_PIPELINE_CACHE");
    set->cache_path[0] = '\0';
    if (off && strcmp(off, "off") == 0)
        return;
    char dir[900];
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg) {
        snprintf(dir, sizeof dir, "%s", xdg);
    } else if (home && *home) {
        snprintf(dir, sizeof dir, "%s/.cache", home);
    } else {
        return;
    }
    if (!make_dir(dir))
        return;
    size_t len = strlen(dir);
    snprintf(dir + len, sizeof dir - len, "/glow-vk");
    if (!make_dir(dir))
        return;
    snprintf(set->cache_path, sizeof set->cache_path, "%s/pipelines-%04x-%04x-%08x.bin", dir, vk->props.vendorID,
             vk->props.deviceID, vk->props.driverVersion);
}

/* Reads the cache file if its header (VkPipelineCacheHeaderVersionOne) matches this
 * device: header size >= 32, version 1, vendor ID, device ID and pipelineCacheUUID. */
static void *read_cache_file(const vk_context *vk, const char *path, size_t *size)
{
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    void *data = NULL;
    long len = 0;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 32 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)len);
        if (data && fread(data, 1, (size_t)len, f) != (size_t)len) {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    if (data == NULL)
        return NULL;
    uint32_t header[4];
    memcpy(header, data, sizeof header);
    const unsigned char *uuid = (const unsigned char *)data + 16;
    if (header[0] < 32 || header[1] != VK_PIPELINE_CACHE_HEADER_VERSION_ONE || header[2] != vk->props.vendorID ||
        header[3] != vk->props.deviceID || memcmp(uuid, vk->props.pipelineCacheUUID, VK_UUID_SIZE) != 0) {
        free(data);
        return NULL;
    }
    *size = (size_t)len;
    return data;
}

glow_status vk_pipelines_init(vk_context *vk)
{
    struct vk_pipeline_set *set = calloc(1, sizeof *set);
    if (set == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
    vk->pipelines = set;
    cache_file_path(vk, set);
    size_t size = 0;
    void *data = set->cache_path[0] ? read_cache_file(vk, set->cache_path, &size) : NULL;
    VkPipelineCacheCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
        .initialDataSize = size,
        .pInitialData = data,
    };
    VkResult r = vkCreatePipelineCache(vk->device, &ci, NULL, &set->cache);
    if (r != VK_SUCCESS && data) {
        /* A cache the driver rejects is not an error: start empty. */
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        r = vkCreatePipelineCache(vk->device, &ci, NULL, &set->cache);
    }
    free(data);
    VK_CHECK(r);
    return GLOW_OK;
}

static void save_cache(vk_context *vk, struct vk_pipeline_set *set)
{
    size_t size = 0;
    if (!set->dirty || !set->cache_path[0] || vkGetPipelineCacheData(vk->device, set->cache, &size, NULL) != VK_SUCCESS ||
        size == 0)
        return;
    void *data = malloc(size);
    if (data == NULL)
        return;
    if (vkGetPipelineCacheData(vk->device, set->cache, &size, data) == VK_SUCCESS) {
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.%ld.tmp", set->cache_path, (long)getpid());
        FILE *f = fopen(tmp, "wb");
        if (f) {
            int ok = fwrite(data, 1, size, f) == size;
            ok = fclose(f) == 0 && ok;
            if (!ok || rename(tmp, set->cache_path) != 0)
                remove(tmp);
        }
    }
    free(data);
}

static void destroy_pipeline(vk_context *vk, vk_pipeline *p)
{
    if (p->pipeline)
        vkDestroyPipeline(vk->device, p->pipeline, NULL);
    if (p->layout)
        vkDestroyPipelineLayout(vk->device, p->layout, NULL);
    if (p->set_layout)
        vkDestroyDescriptorSetLayout(vk->device, p->set_layout, NULL);
    free(p);
}

void vk_pipelines_destroy(vk_context *vk)
{
    struct vk_pipeline_set *set = vk->pipelines;
    if (set == NULL)
        return;
    for (int i = 0; i < set->count; i++)
        destroy_pipeline(vk, set->items[i]);
    free(set->items);
    if (set->cache) {
        save_cache(vk, set);
        vkDestroyPipelineCache(vk->device, set->cache, NULL);
    }
    free(set);
    vk->pipelines = NULL;
}

static int same_variant(const vk_pipeline_desc *a, const vk_pipeline_desc *b)
{
    return a->shader == b->shader && a->n_spec == b->n_spec &&
           memcmp(a->spec, b->spec, (size_t)a->n_spec * sizeof a->spec[0]) == 0;
}

VkDescriptorType vk_descriptor_type(uint8_t binding_type)
{
    return binding_type == VK_SHADER_BIND_STORAGE   ? VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
           : binding_type == VK_SHADER_BIND_TEXEL ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                                                  : VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
}

static glow_status create_pipeline(vk_context *vk, const vk_pipeline_desc *desc, vk_pipeline *p)
{
    const vk_shader_module *m = p->module;
    VkDescriptorSetLayoutBinding b[VK_MAX_BINDINGS];
    for (uint32_t i = 0; i < m->n_bindings; i++) {
        b[i] = (VkDescriptorSetLayoutBinding){
            .binding = i,
            .descriptorType = vk_descriptor_type(m->binding_type[i]),
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        };
    }
    VkDescriptorSetLayoutCreateInfo li = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = m->n_bindings,
        .pBindings = b,
    };
    VK_CHECK(vkCreateDescriptorSetLayout(vk->device, &li, NULL, &p->set_layout));

    VkPushConstantRange push = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = m->push_bytes};
    VkPipelineLayoutCreateInfo pli = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &p->set_layout,
        .pushConstantRangeCount = m->push_bytes ? 1u : 0u,
        .pPushConstantRanges = &push,
    };
    VK_CHECK(vkCreatePipelineLayout(vk->device, &pli, NULL, &p->layout));

    VkShaderModuleCreateInfo mi = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = m->bytes,
        .pCode = m->code,
    };
    VkShaderModule module;
    VK_CHECK(vkCreateShaderModule(vk->device, &mi, NULL, &module));

    VkSpecializationMapEntry entries[VK_MAX_SPEC];
    for (int i = 0; i < desc->n_spec; i++)
        entries[i] = (VkSpecializationMapEntry){.constantID = (uint32_t)i,
                                                .offset = (uint32_t)(i * sizeof(uint32_t)),
                                                .size = sizeof(uint32_t)};
    VkSpecializationInfo spec = {
        .mapEntryCount = (uint32_t)desc->n_spec,
        .pMapEntries = entries,
        .dataSize = (size_t)desc->n_spec * sizeof(uint32_t),
        .pData = desc->spec,
    };
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage =
            {
                .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = module,
                .pName = "main",
                .pSpecializationInfo = desc->n_spec ? &spec : NULL,
            },
        .layout = p->layout,
    };
    VkResult r = vkCreateComputePipelines(vk->device, vk->pipelines->cache, 1, &ci, NULL, &p->pipeline);
    vkDestroyShaderModule(vk->device, module, NULL);
    if (r != VK_SUCCESS) {
        p->pipeline = VK_NULL_HANDLE;
        return glow_error(GLOW_ERR_BACKEND, "vulkan: creating the pipeline of shader '%s': %s", m->name,
                          vk_result_name(r));
    }
    return GLOW_OK;
}

glow_status vk_pipeline_get(vk_context *vk, const vk_pipeline_desc *desc, vk_pipeline **out)
{
    struct vk_pipeline_set *set = vk->pipelines;
    *out = NULL;
    if ((unsigned)desc->shader >= VK_SHADER_COUNT)
        return glow_error(GLOW_ERR_INVALID_ARG, "vulkan: no shader number %d", (int)desc->shader);
    const vk_shader_module *m = &vk_shader_modules[desc->shader];
    if (desc->n_spec < 0 || desc->n_spec > VK_MAX_SPEC)
        return glow_error(GLOW_ERR_INVALID_ARG, "vulkan: pipeline '%s': %d spec constants out of range", m->name,
                          desc->n_spec);
    uint32_t given = (1u << desc->n_spec) - 1u;
    if ((m->spec_mask & ~given) != 0)
        return glow_error(GLOW_ERR_INVALID_ARG,
                          "vulkan: pipeline '%s': the shader declares specialization constants 0x%x, the host sets "
                          "only 0..%d",
                          m->name, m->spec_mask, desc->n_spec - 1);
    if (m->push_bytes > VK_MAX_PUSH_BYTES || m->push_bytes > vk->props.limits.maxPushConstantsSize)
        return glow_error(GLOW_ERR_UNAVAILABLE, "vulkan: pipeline '%s': %u push-constant bytes exceed the limit %u",
                          m->name, m->push_bytes, vk->props.limits.maxPushConstantsSize);
    for (int i = 0; i < set->count; i++) {
        if (same_variant(&set->items[i]->desc, desc)) {
            *out = set->items[i];
            return GLOW_OK;
        }
    }
    if (set->count == set->cap) {
        int cap = set->cap ? set->cap * 2 : 32;
        vk_pipeline **items = realloc(set->items, (size_t)cap * sizeof *items);
        if (items == NULL)
            return glow_error(GLOW_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
        set->items = items;
        set->cap = cap;
    }
    vk_pipeline *p = calloc(1, sizeof *p);
    if (p == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
    p->desc = *desc;
    p->module = m;
    glow_status st = create_pipeline(vk, desc, p);
    if (st != GLOW_OK) {
        destroy_pipeline(vk, p);
        return st;
    }
    set->items[set->count++] = p;
    set->dirty = 1;
    *out = p;
    return GLOW_OK;
}

glow_status vk_pipeline_check_bindings(const vk_pipeline *p, const vk_binding *bindings, int n_bindings,
                                       uint32_t push_bytes)
{
    const vk_shader_module *m = p->module;
    if (n_bindings < 0 || (uint32_t)n_bindings != m->n_bindings)
        return glow_error(GLOW_ERR_INVALID_ARG, "vulkan: dispatch of '%s' with %d bindings, the shader declares %u",
                          m->name, n_bindings, m->n_bindings);
    for (int i = 0; i < n_bindings; i++) {
        int storage = bindings[i].kind == VK_BIND_STORAGE;
        if (storage != (m->binding_type[i] == VK_SHADER_BIND_STORAGE))
            return glow_error(GLOW_ERR_INVALID_ARG,
                              "vulkan: dispatch of '%s': binding %d is bound as a %s, the shader declares a %s",
                              m->name, i, storage ? "storage buffer" : "texel buffer",
                              storage ? "texel buffer" : "storage buffer");
        if (bindings[i].writes && (m->readonly_mask >> i & 1u))
            return glow_error(GLOW_ERR_INVALID_ARG,
                              "vulkan: dispatch of '%s': binding %d is marked written, the shader declares it readonly",
                              m->name, i);
    }
    if (push_bytes != m->push_bytes)
        return glow_error(GLOW_ERR_INVALID_ARG,
                          "vulkan: dispatch of '%s' with %u push-constant bytes, the shader's block has %u", m->name,
                          push_bytes, m->push_bytes);
    return GLOW_OK;
}
