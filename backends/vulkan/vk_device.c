/* Vulkan instance and device: the loader through volk (dlopen of libvulkan.so.1, no
 * link-time dependency), the Khronos validation layer on $GLOW_VK_VALIDATION=1 with a
 * debug-utils messenger that prints and counts messages, physical device listing and
 * choice, one compute queue, and the glow_device_info of each device.
 *
 * One VkInstance is shared by every open context of the process (reference counted),
 * because volk keeps the instance-level function pointers in globals. Device-level
 * calls go through the loader's dispatching trampolines (volkLoadInstance without
 * volkLoadDevice), so several devices may be open at once. */
#include "vk_internal.h"
#include "vk_coopmat.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VK_MAX_LIVE_CONTEXTS 16

typedef struct {
    int refs;
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    int validation;
    uint32_t layer_version; /* specVersion of the validation layer, when enabled */
    uint32_t api_version;
    vk_context *live[VK_MAX_LIVE_CONTEXTS]; /* contexts whose counters the messenger bumps */
} vk_shared_instance;

static vk_shared_instance g_inst;
static pthread_mutex_t g_inst_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_volk_ready; /* 1: loader found, -1: not found */

const char *vk_result_name(VkResult r)
{
    switch (r) {
#define VK_RESULT_CASE(x) \
    case x: return #x;
        VK_RESULT_CASE(VK_SUCCESS)
        VK_RESULT_CASE(VK_NOT_READY)
        VK_RESULT_CASE(VK_TIMEOUT)
        VK_RESULT_CASE(VK_EVENT_SET)
        VK_RESULT_CASE(VK_EVENT_RESET)
        VK_RESULT_CASE(VK_INCOMPLETE)
        VK_RESULT_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
        VK_RESULT_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        VK_RESULT_CASE(VK_ERROR_INITIALIZATION_FAILED)
        VK_RESULT_CASE(VK_ERROR_DEVICE_LOST)
        VK_RESULT_CASE(VK_ERROR_MEMORY_MAP_FAILED)
        VK_RESULT_CASE(VK_ERROR_LAYER_NOT_PRESENT)
        VK_RESULT_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
        VK_RESULT_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
        VK_RESULT_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
        VK_RESULT_CASE(VK_ERROR_TOO_MANY_OBJECTS)
        VK_RESULT_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
        VK_RESULT_CASE(VK_ERROR_FRAGMENTED_POOL)
        VK_RESULT_CASE(VK_ERROR_UNKNOWN)
        VK_RESULT_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
        VK_RESULT_CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE)
        VK_RESULT_CASE(VK_ERROR_FRAGMENTATION)
        VK_RESULT_CASE(VK_PIPELINE_COMPILE_REQUIRED)
#undef VK_RESULT_CASE
    default: return "VK_RESULT_UNKNOWN";
    }
}

glow_status vk_fail(VkResult r, const char *call, const char *file, int line)
{
    return glow_error(GLOW_ERR_BACKEND, "vulkan: %s failed: %s (%s:%d)", call, vk_result_name(r), file, line);
}

static int env_is(const char *name, const char *value)
{
    const char *s = getenv(name);
    return s != NULL && strcmp(s, value) == 0;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL debug_messenger(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                      VkDebugUtilsMessageTypeFlagsEXT types,
                                                      const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                      void *user)
{
    (void)types;
    (void)user;
    const char *level = (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) ? "error" : "warning";
    fprintf(stderr, "vulkan validation %s: %s\n", level, data && data->pMessage ? data->pMessage : "(no message)");
    /* Called from inside Vulkan calls of a thread that may hold g_inst_lock (instance
     * creation/destruction does not produce messages through this messenger). */
    for (int i = 0; i < VK_MAX_LIVE_CONTEXTS; i++)
        if (g_inst.live[i])
            g_inst.live[i]->validation_errors++;
    return VK_FALSE;
}

static glow_status load_loader(void)
{
    if (g_volk_ready == 0)
        g_volk_ready = volkInitialize() == VK_SUCCESS ? 1 : -1;
    if (g_volk_ready < 0)
        return glow_error(GLOW_ERR_UNAVAILABLE,
                          "no Vulkan loader (libvulkan.so.1): install the Vulkan loader and a driver (ICD)");
    return GLOW_OK;
}

/* 1 when the layer is installed, with its specVersion in *version. */
static int has_layer(const char *name, uint32_t *version)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0)
        return 0;
    VkLayerProperties *p = calloc(n, sizeof *p);
    int found = 0;
    if (p && vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            if (strcmp(p[i].layerName, name) == 0) {
                found = 1;
                *version = p[i].specVersion;
            }
    free(p);
    return found;
}

static int has_instance_extension(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(NULL, &n, NULL) != VK_SUCCESS || n == 0)
        return 0;
    VkExtensionProperties *p = calloc(n, sizeof *p);
    int found = 0;
    if (p && vkEnumerateInstanceExtensionProperties(NULL, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(p[i].extensionName, name) == 0;
    free(p);
    return found;
}

static glow_status create_instance(void)
{
    GLOW_TRY(load_loader());
    uint32_t loader_version = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion)
        vkEnumerateInstanceVersion(&loader_version);
    if (loader_version < VK_API_VERSION_1_1)
        return glow_error(GLOW_ERR_UNAVAILABLE, "no Vulkan 1.1: the loader supports only %u.%u",
                          VK_API_VERSION_MAJOR(loader_version), VK_API_VERSION_MINOR(loader_version));
    g_inst.api_version = loader_version >= VK_API_VERSION_1_2 ? VK_API_VERSION_1_2 : VK_API_VERSION_1_1;

    const char *layers[1];
    const char *exts[2];
    uint32_t n_layers = 0, n_exts = 0;
    g_inst.validation = 0;
    if (env_is("GLOW_VK_VALIDATION", "1")) {
        if (has_layer("VK_LAYER_KHRONOS_validation", &g_inst.layer_version) &&
            has_instance_extension(VK_EXT_DEBUG_UTILS_EXTENSION_NAME)) {
            layers[n_layers++] = "VK_LAYER_KHRONOS_validation";
            exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
            g_inst.validation = 1;
        } else {
            fprintf(stderr, "glow-vk: GLOW_VK_VALIDATION=1 but VK_LAYER_KHRONOS_validation is not installed\n");
        }
    }
    VkInstanceCreateFlags flags = 0;
    if (has_instance_extension("VK_KHR_portability_enumeration")) {
        exts[n_exts++] = "VK_KHR_portability_enumeration";
        flags |= 0x00000001; /* VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR */
    }

    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "glow-vk",
        .applicationVersion = 1,
        .pEngineName = "glow-vk",
        .engineVersion = 1,
        .apiVersion = g_inst.api_version,
    };
    /* With the layer on, synchronization validation checks the barriers that
     * vk_command.c places (missing ones are invisible on in-order drivers). */
    VkValidationFeatureEnableEXT sync_validation = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT features = {
        .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
        .enabledValidationFeatureCount = 1,
        .pEnabledValidationFeatures = &sync_validation,
    };
    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = g_inst.validation ? &features : NULL,
        .flags = flags,
        .pApplicationInfo = &app,
        .enabledLayerCount = n_layers,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = n_exts,
        .ppEnabledExtensionNames = exts,
    };
    VkResult r = vkCreateInstance(&ci, NULL, &g_inst.instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
        return glow_error(GLOW_ERR_UNAVAILABLE, "no Vulkan device: vkCreateInstance found no compatible driver");
    VK_CHECK(r);
    volkLoadInstance(g_inst.instance);

    if (g_inst.validation) {
        VkDebugUtilsMessengerCreateInfoEXT mi = {
            .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
            .messageSeverity =
                VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
            .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
            .pfnUserCallback = debug_messenger,
        };
        r = vkCreateDebugUtilsMessengerEXT(g_inst.instance, &mi, NULL, &g_inst.messenger);
        if (r != VK_SUCCESS) {
            vkDestroyInstance(g_inst.instance, NULL);
            g_inst.instance = VK_NULL_HANDLE;
            return vk_fail(r, "vkCreateDebugUtilsMessengerEXT", __FILE__, __LINE__);
        }
    }
    return GLOW_OK;
}

/* Takes a reference on the shared instance, creating it on first use. */
static glow_status instance_acquire(void)
{
    pthread_mutex_lock(&g_inst_lock);
    glow_status st = GLOW_OK;
    if (g_inst.refs == 0)
        st = create_instance();
    if (st == GLOW_OK)
        g_inst.refs++;
    pthread_mutex_unlock(&g_inst_lock);
    return st;
}

static void instance_release(void)
{
    pthread_mutex_lock(&g_inst_lock);
    if (g_inst.refs > 0 && --g_inst.refs == 0) {
        if (g_inst.messenger)
            vkDestroyDebugUtilsMessengerEXT(g_inst.instance, g_inst.messenger, NULL);
        vkDestroyInstance(g_inst.instance, NULL);
        g_inst.messenger = VK_NULL_HANDLE;
        g_inst.instance = VK_NULL_HANDLE;
    }
    pthread_mutex_unlock(&g_inst_lock);
}

static glow_status enumerate_physical(VkPhysicalDevice **out, uint32_t *count)
{
    *out = NULL;
    *count = 0;
    VK_CHECK(vkEnumeratePhysicalDevices(g_inst.instance, count, NULL));
    if (*count == 0)
        return glow_error(GLOW_ERR_UNAVAILABLE, "no Vulkan device: the loader found no physical device");
    *out = calloc(*count, sizeof **out);
    if (*out == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "vulkan: out of host memory listing devices");
    VkResult r = vkEnumeratePhysicalDevices(g_inst.instance, count, *out);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        free(*out);
        *out = NULL;
        return vk_fail(r, "vkEnumeratePhysicalDevices", __FILE__, __LINE__);
    }
    return GLOW_OK;
}

static const char *vendor_name(uint32_t id)
{
    switch (id) {
    case 0x10DE: return "NVIDIA";
    case 0x1002: return "AMD";
    case 0x1022: return "AMD";
    case 0x8086: return "Intel";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x106B: return "Apple";
    case 0x1010: return "Imagination";
    case 0x14E4: return "Broadcom";
    case 0x10005: return "Mesa";
    case 0x10006: return "PoCL";
    default: return NULL;
    }
}

static int device_has_extension(VkPhysicalDevice phys, const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL) != VK_SUCCESS || n == 0)
        return 0;
    VkExtensionProperties *p = calloc(n, sizeof *p);
    int found = 0;
    if (p && vkEnumerateDeviceExtensionProperties(phys, NULL, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(p[i].extensionName, name) == 0;
    free(p);
    return found;
}

static glow_device_type device_type(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return GLOW_DEVICE_DISCRETE_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return GLOW_DEVICE_INTEGRATED_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return GLOW_DEVICE_VIRTUAL_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return GLOW_DEVICE_CPU;
    default: return GLOW_DEVICE_OTHER;
    }
}

/* Preference when no index is given: discrete > integrated > virtual > CPU > other. */
static int device_rank(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
    }
}

static vk_gemm_variant gemm_variant_for(VkPhysicalDeviceType t)
{
    const char *s = getenv("GLOW_VK_GEMM");
    if (s && strcmp(s, "texel") == 0)
        return VK_GEMM_TEXEL;
    if (s && strcmp(s, "tiled") == 0)
        return VK_GEMM_TILED;
    return t == VK_PHYSICAL_DEVICE_TYPE_CPU ? VK_GEMM_TEXEL : VK_GEMM_TILED;
}

/* ---- cooperative matrices ---------------------------------------------------------
 * VK_KHR_cooperative_matrix is newer than the Vulkan headers of Debian bookworm
 * (1.3.239), so its structures, numbers and entry point are declared here from the
 * Vulkan specification (extension 507: structure types 1000506000..2), under names of
 * our own so that newer headers do not clash. VK_NV_cooperative_matrix comes from the
 * headers. */
#define COOPMAT_KHR_EXTENSION "VK_KHR_cooperative_matrix"
#define COOPMAT_NV_EXTENSION "VK_NV_cooperative_matrix"
#define STYPE_COOPMAT_KHR_FEATURES ((VkStructureType)1000506000)   /* ..._COOPERATIVE_MATRIX_FEATURES_KHR */
#define STYPE_COOPMAT_KHR_SHAPE ((VkStructureType)1000506001)      /* VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR */
#define STYPE_COOPMAT_KHR_PROPERTIES ((VkStructureType)1000506002) /* ..._COOPERATIVE_MATRIX_PROPERTIES_KHR */
#define COOPMAT_MAX_SHAPES 64

typedef struct { /* VkPhysicalDeviceCooperativeMatrixFeaturesKHR */
    VkStructureType sType;
    void *pNext;
    VkBool32 cooperativeMatrix;
    VkBool32 cooperativeMatrixRobustBufferAccess;
} coopmat_khr_features;

typedef struct { /* VkPhysicalDeviceCooperativeMatrixPropertiesKHR */
    VkStructureType sType;
    void *pNext;
    VkShaderStageFlags cooperativeMatrixSupportedStages;
} coopmat_khr_properties;

typedef struct { /* VkCooperativeMatrixPropertiesKHR (VkComponentTypeKHR, VkScopeKHR as uint32_t) */
    VkStructureType sType;
    void *pNext;
    uint32_t MSize, NSize, KSize;
    uint32_t AType, BType, CType, ResultType;
    VkBool32 saturatingAccumulation;
    uint32_t scope;
} coopmat_khr_shape;

typedef VkResult(VKAPI_PTR *coopmat_khr_list_fn)(VkPhysicalDevice, uint32_t *, coopmat_khr_shape *);

/* What a device offers, and the choice for precision tf32. */
typedef struct {
    vk_coopmat_device dev;
    vk_coopmat_shape khr[COOPMAT_MAX_SHAPES], nv[COOPMAT_MAX_SHAPES];
    int usable;
    vk_coopmat_choice choice;
    char why[320]; /* when not usable */
} coopmat_query;

static uint32_t list_khr_shapes(VkPhysicalDevice phys, vk_coopmat_shape *out)
{
    coopmat_khr_list_fn list = (coopmat_khr_list_fn)vkGetInstanceProcAddr(
        g_inst.instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR");
    uint32_t n = 0;
    if (list == NULL || list(phys, &n, NULL) != VK_SUCCESS)
        return 0;
    if (n > COOPMAT_MAX_SHAPES)
        n = COOPMAT_MAX_SHAPES;
    coopmat_khr_shape raw[COOPMAT_MAX_SHAPES];
    for (uint32_t i = 0; i < n; i++)
        raw[i] = (coopmat_khr_shape){.sType = STYPE_COOPMAT_KHR_SHAPE};
    VkResult r = list(phys, &n, raw);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        out[i] = (vk_coopmat_shape){raw[i].MSize, raw[i].NSize, raw[i].KSize, raw[i].AType, raw[i].BType,
                                    raw[i].CType, raw[i].ResultType, raw[i].saturatingAccumulation, raw[i].scope};
    return n;
}

static uint32_t list_nv_shapes(VkPhysicalDevice phys, vk_coopmat_shape *out)
{
    PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV list =
        (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)vkGetInstanceProcAddr(
            g_inst.instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
    uint32_t n = 0;
    if (list == NULL || list(phys, &n, NULL) != VK_SUCCESS)
        return 0;
    if (n > COOPMAT_MAX_SHAPES)
        n = COOPMAT_MAX_SHAPES;
    VkCooperativeMatrixPropertiesNV raw[COOPMAT_MAX_SHAPES];
    for (uint32_t i = 0; i < n; i++)
        raw[i] = (VkCooperativeMatrixPropertiesNV){.sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV};
    VkResult r = list(phys, &n, raw);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        out[i] = (vk_coopmat_shape){raw[i].MSize, raw[i].NSize,  raw[i].KSize, (uint32_t)raw[i].AType,
                                    (uint32_t)raw[i].BType, (uint32_t)raw[i].CType, (uint32_t)raw[i].DType, 0,
                                    (uint32_t)raw[i].scope};
    return n;
}

/* Queries the extensions, features and shapes (structures chained only when their
 * extension is present, so that no driver or layer sees an unknown one), then
 * vk_coopmat_select with $GLOW_VK_COOPMAT (khr|nv|off). */
static void query_coopmat(VkPhysicalDevice phys, coopmat_query *q)
{
    memset(q, 0, sizeof *q);
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(phys, &props);
    int has_khr = device_has_extension(phys, COOPMAT_KHR_EXTENSION);
    int has_nv = device_has_extension(phys, COOPMAT_NV_EXTENSION);
    /* A validation layer older than the extension (1.3.255; Debian bookworm ships 1.3.239)
     * reports its structures and SPIR-V as errors: with such a layer on, KHR is left out
     * (the NV path, which it knows, stays). */
    int khr_hidden = has_khr && g_inst.validation && g_inst.layer_version < VK_MAKE_API_VERSION(0, 1, 3, 255);
    if (khr_hidden)
        has_khr = 0;
    q->dev.api_1_2 = props.apiVersion >= VK_API_VERSION_1_2 && g_inst.api_version >= VK_API_VERSION_1_2;
    q->dev.max_shared_bytes = props.limits.maxComputeSharedMemorySize;
    q->dev.max_workgroup_invocations = props.limits.maxComputeWorkGroupInvocations;

    VkPhysicalDeviceSubgroupProperties subgroup = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    coopmat_khr_properties khr_props = {.sType = STYPE_COOPMAT_KHR_PROPERTIES};
    VkPhysicalDeviceCooperativeMatrixPropertiesNV nv_props = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_PROPERTIES_NV};
    VkPhysicalDeviceProperties2 props2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &subgroup};
    void **tail = &subgroup.pNext;
    if (has_khr) {
        *tail = &khr_props;
        tail = &khr_props.pNext;
    }
    if (has_nv)
        *tail = &nv_props;
    vkGetPhysicalDeviceProperties2(phys, &props2);
    q->dev.subgroup_size = subgroup.subgroupSize;
    q->dev.khr_compute = (khr_props.cooperativeMatrixSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;
    q->dev.nv_compute = (nv_props.cooperativeMatrixSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;

    if (q->dev.api_1_2) {
        VkPhysicalDeviceShaderFloat16Int8Features f16 = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
        VkPhysicalDeviceVulkanMemoryModelFeatures vmm = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES, .pNext = &f16};
        coopmat_khr_features khr_feat = {.sType = STYPE_COOPMAT_KHR_FEATURES};
        VkPhysicalDeviceCooperativeMatrixFeaturesNV nv_feat = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
        VkPhysicalDeviceFeatures2 feats2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &vmm};
        tail = &f16.pNext;
        if (has_khr) {
            *tail = &khr_feat;
            tail = &khr_feat.pNext;
        }
        if (has_nv)
            *tail = &nv_feat;
        vkGetPhysicalDeviceFeatures2(phys, &feats2);
        q->dev.shader_float16 = f16.shaderFloat16 == VK_TRUE;
        q->dev.vulkan_memory_model = vmm.vulkanMemoryModel == VK_TRUE;
        q->dev.khr = has_khr && khr_feat.cooperativeMatrix == VK_TRUE;
        q->dev.nv = has_nv && nv_feat.cooperativeMatrix == VK_TRUE;
    }
    if (q->dev.khr) {
        q->dev.n_khr_shapes = list_khr_shapes(phys, q->khr);
        q->dev.khr_shapes = q->khr;
    }
    if (q->dev.nv) {
        q->dev.n_nv_shapes = list_nv_shapes(phys, q->nv);
        q->dev.nv_shapes = q->nv;
    }
    q->usable = vk_coopmat_select(&q->dev, getenv("GLOW_VK_COOPMAT"), &q->choice, q->why, sizeof q->why);
    if (!q->usable && khr_hidden) {
        size_t len = strlen(q->why);
        snprintf(q->why + len, sizeof q->why - len,
                 "; VK_KHR_cooperative_matrix left out: the validation layer (%u.%u.%u) predates it",
                 VK_API_VERSION_MAJOR(g_inst.layer_version), VK_API_VERSION_MINOR(g_inst.layer_version),
                 VK_API_VERSION_PATCH(g_inst.layer_version));
    }
}

static void appendf(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char *dst, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(dst);
    if (len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst + len, cap - len, fmt, ap);
    va_end(ap);
}

/* Everything `glow-vk devices` shows about one physical device; also the device's
 * subgroup size (for vk_context). */
static void describe_device(VkPhysicalDevice phys, glow_device_info *info, uint32_t *subgroup_size)
{
    memset(info, 0, sizeof *info);
    snprintf(info->backend, sizeof info->backend, "vulkan");

    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(phys, &props);
    int has_driver_props = props.apiVersion >= VK_API_VERSION_1_2 ||
                           device_has_extension(phys, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
    VkPhysicalDeviceDriverProperties driver = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties subgroup = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    if (has_driver_props)
        subgroup.pNext = &driver;
    VkPhysicalDeviceProperties2 props2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                          .pNext = &subgroup};
    vkGetPhysicalDeviceProperties2(phys, &props2);

    int has_f16_query = props.apiVersion >= VK_API_VERSION_1_2 ||
                        device_has_extension(phys, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDeviceFeatures2 feats2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                        .pNext = has_f16_query ? &f16 : NULL};
    vkGetPhysicalDeviceFeatures2(phys, &feats2);

    VkPhysicalDeviceMemoryProperties mem;
    vkGetPhysicalDeviceMemoryProperties(phys, &mem);

    snprintf(info->name, sizeof info->name, "%s", props.deviceName);
    const char *vendor = vendor_name(props.vendorID);
    if (vendor)
        snprintf(info->vendor, sizeof info->vendor, "%s", vendor);
    else
        snprintf(info->vendor, sizeof info->vendor, "vendor 0x%04x", props.vendorID);
    if (has_driver_props && driver.driverName[0])
        snprintf(info->driver, sizeof info->driver, "%.60s %.60s", driver.driverName, driver.driverInfo);
    else
        snprintf(info->driver, sizeof info->driver, "driver version 0x%08x", props.driverVersion);
    snprintf(info->api_version, sizeof info->api_version, "%u.%u.%u", VK_API_VERSION_MAJOR(props.apiVersion),
             VK_API_VERSION_MINOR(props.apiVersion), VK_API_VERSION_PATCH(props.apiVersion));
    info->type = device_type(props.deviceType);
    for (uint32_t h = 0; h < mem.memoryHeapCount; h++)
        if (mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
            info->memory_bytes += mem.memoryHeaps[h].size;

    char *d = info->details;
    size_t cap = sizeof info->details;
    for (uint32_t h = 0; h < mem.memoryHeapCount; h++)
        appendf(d, cap, "memory heap %u: %.1f MiB%s\n", h, (double)mem.memoryHeaps[h].size / (1024.0 * 1024.0),
                (mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) ? " device-local" : "");
    appendf(d, cap, "subgroup size: %u\n", subgroup.subgroupSize);
    appendf(d, cap, "max compute shared memory: %u bytes\n", props.limits.maxComputeSharedMemorySize);
    appendf(d, cap, "max compute workgroup invocations: %u\n", props.limits.maxComputeWorkGroupInvocations);
    appendf(d, cap, "float16 arithmetic: %s\n", (has_f16_query && f16.shaderFloat16) ? "yes" : "no");
    coopmat_query cq;
    query_coopmat(phys, &cq);
    char coop[64] = "";
    if (cq.usable)
        vk_coopmat_describe(&cq.choice, coop, sizeof coop);
    appendf(d, cap, "cooperative matrix: %s\n", cq.usable ? coop : cq.why);
    vk_gemm_variant v = gemm_variant_for(props.deviceType);
    int tf32 = glow_precision_setting() == GLOW_PRECISION_TF32;
    if (tf32 && cq.usable && getenv("GLOW_VK_GEMM") == NULL)
        appendf(d, cap, "gemm kernels: coopmat %s (precision tf32)", coop);
    else
        appendf(d, cap, "gemm kernels: %s (precision %s%s)", v == VK_GEMM_TEXEL ? "texel" : "tiled",
                tf32 ? "tf32, but no usable cooperative matrix: fp32" : "fp32",
                !tf32 && cq.usable ? "; tf32 would use the cooperative matrices" : "");
    if (subgroup_size)
        *subgroup_size = subgroup.subgroupSize;
}

glow_status vk_list_devices(glow_device_info *out, int max, int *count)
{
    *count = 0;
    GLOW_TRY(instance_acquire());
    VkPhysicalDevice *phys = NULL;
    uint32_t n = 0;
    glow_status st = enumerate_physical(&phys, &n);
    if (st == GLOW_OK) {
        for (uint32_t i = 0; i < n && (int)i < max; i++)
            describe_device(phys[i], &out[i], NULL);
        *count = (int)n < max ? (int)n : max;
    }
    free(phys);
    instance_release();
    return st;
}

static glow_status pick_device(vk_context *vk, int device)
{
    VkPhysicalDevice *phys = NULL;
    uint32_t n = 0;
    GLOW_TRY(enumerate_physical(&phys, &n));
    int chosen = -1;
    if (device >= 0) {
        if ((uint32_t)device >= n) {
            free(phys);
            return glow_error(GLOW_ERR_UNAVAILABLE, "no Vulkan device %d (there are %u)", device, n);
        }
        chosen = device;
    } else {
        int best_rank = -1;
        for (uint32_t i = 0; i < n; i++) {
            VkPhysicalDeviceProperties p;
            vkGetPhysicalDeviceProperties(phys[i], &p);
            if (device_rank(p.deviceType) > best_rank) {
                best_rank = device_rank(p.deviceType);
                chosen = (int)i;
            }
        }
    }
    vk->phys = phys[chosen];
    free(phys);
    return GLOW_OK;
}

static glow_status create_device(vk_context *vk)
{
    uint32_t n_families = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(vk->phys, &n_families, NULL);
    VkQueueFamilyProperties *fam = calloc(n_families ? n_families : 1, sizeof *fam);
    if (fam == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
    vkGetPhysicalDeviceQueueFamilyProperties(vk->phys, &n_families, fam);
    int family = -1;
    for (uint32_t i = 0; i < n_families && family < 0; i++)
        if ((fam[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && fam[i].queueCount > 0)
            family = (int)i;
    free(fam);
    if (family < 0)
        return glow_error(GLOW_ERR_UNAVAILABLE, "no Vulkan device: %s has no compute queue", vk->props.deviceName);
    vk->queue_family = (uint32_t)family;

    float priority = 1.0f;
    VkDeviceQueueCreateInfo qi = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = vk->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    const char *exts[2];
    uint32_t n_exts = 0;
    /* Required by the spec where a driver is a portability implementation (MoltenVK). */
    if (device_has_extension(vk->phys, "VK_KHR_portability_subset"))
        exts[n_exts++] = "VK_KHR_portability_subset";
    /* The cooperative-matrix kernels: the extension, its feature, fp16 shared memory and
     * the Vulkan memory model (checked present by query_coopmat). */
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES, .shaderFloat16 = VK_TRUE};
    VkPhysicalDeviceVulkanMemoryModelFeatures vmm = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES, .pNext = &f16,
        .vulkanMemoryModel = VK_TRUE};
    coopmat_khr_features khr_feat = {.sType = STYPE_COOPMAT_KHR_FEATURES, .cooperativeMatrix = VK_TRUE};
    VkPhysicalDeviceCooperativeMatrixFeaturesNV nv_feat = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV, .cooperativeMatrix = VK_TRUE};
    const void *features = NULL;
    if (vk->gemm_variant == VK_GEMM_COOPMAT && vk->coopmat.api == VK_COOPMAT_EMULATED) {
        f16.pNext = NULL;
        features = &f16;
    } else if (vk->gemm_variant == VK_GEMM_COOPMAT) {
        int khr = vk->coopmat.api == VK_COOPMAT_KHR;
        exts[n_exts++] = khr ? COOPMAT_KHR_EXTENSION : COOPMAT_NV_EXTENSION;
        f16.pNext = khr ? (void *)&khr_feat : (void *)&nv_feat;
        features = &vmm;
    }
    VkDeviceCreateInfo di = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = features,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qi,
        .enabledExtensionCount = n_exts,
        .ppEnabledExtensionNames = exts,
    };
    VK_CHECK(vkCreateDevice(vk->phys, &di, NULL, &vk->device));
    vkGetDeviceQueue(vk->device, vk->queue_family, 0, &vk->queue);
    return GLOW_OK;
}

static void register_live(vk_context *vk, int on)
{
    pthread_mutex_lock(&g_inst_lock);
    for (int i = 0; i < VK_MAX_LIVE_CONTEXTS; i++) {
        if (on && g_inst.live[i] == NULL) {
            g_inst.live[i] = vk;
            break;
        }
        if (!on && g_inst.live[i] == vk)
            g_inst.live[i] = NULL;
    }
    pthread_mutex_unlock(&g_inst_lock);
}

/* Device-local memory that the host can map: unified memory (lavapipe, integrated
 * GPUs). Discrete GPUs get staging copies. $GLOW_VK_STAGING=1 forces staging. */
static int detect_unified(const vk_context *vk)
{
    if (env_is("GLOW_VK_STAGING", "1"))
        return 0;
    if (vk->props.deviceType != VK_PHYSICAL_DEVICE_TYPE_CPU &&
        vk->props.deviceType != VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU)
        return 0;
    const VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    for (uint32_t i = 0; i < vk->mem_props.memoryTypeCount; i++)
        if ((vk->mem_props.memoryTypes[i].propertyFlags & want) == want)
            return 1;
    return 0;
}

/* vk->gemm_desc: the GEMM path and precision in use (glow_vulkan_gemm_description). */
static void describe_gemm(vk_context *vk, const char *why)
{
    int tf32 = glow_precision_setting() == GLOW_PRECISION_TF32;
    if (vk->gemm_variant == VK_GEMM_COOPMAT) {
        char shape[64];
        vk_coopmat_describe(&vk->coopmat, shape, sizeof shape);
        snprintf(vk->gemm_desc, sizeof vk->gemm_desc, "coopmat %s (precision tf32)", shape);
    } else {
        snprintf(vk->gemm_desc, sizeof vk->gemm_desc, "%s (precision %s%s)",
                 vk->gemm_variant == VK_GEMM_TEXEL ? "texel" : "tiled",
                 tf32 ? "tf32 requested, fp32 used: " : "fp32", tf32 ? (why[0] ? why : "$GLOW_VK_GEMM set") : "");
    }
}

glow_status vk_device_open(vk_context *vk, int device)
{
    GLOW_TRY(instance_acquire());
    vk->instance = g_inst.instance;
    vk->messenger = g_inst.messenger;
    vk->validation = g_inst.validation;
    glow_status st = pick_device(vk, device);
    if (st != GLOW_OK) {
        vk->instance = VK_NULL_HANDLE;
        instance_release();
        return st;
    }
    vkGetPhysicalDeviceProperties(vk->phys, &vk->props);
    vkGetPhysicalDeviceMemoryProperties(vk->phys, &vk->mem_props);
    describe_device(vk->phys, &vk->backend->info, &vk->subgroup_size);
    vk->max_texel_elements = vk->props.limits.maxTexelBufferElements;
    vk->gemm_variant = gemm_variant_for(vk->props.deviceType);
    char why[320] = "";
    if (glow_precision_setting() == GLOW_PRECISION_TF32 && getenv("GLOW_VK_GEMM") == NULL) {
        coopmat_query cq;
        query_coopmat(vk->phys, &cq);
        const char *emulate = getenv("GLOW_VK_COOPMAT_EMULATE");
        if (emulate && emulate[0]) { /* test build of the kernels: needs only fp16 shared memory */
            vk_coopmat_shape shape;
            if (!vk_coopmat_parse_emulated(emulate, &shape))
                snprintf(why, sizeof why, "GLOW_VK_COOPMAT_EMULATE=%s is no MxNxK with M, N, K in {8, 16}", emulate);
            else if (!cq.dev.shader_float16 || !cq.dev.api_1_2)
                snprintf(why, sizeof why, "GLOW_VK_COOPMAT_EMULATE needs shaderFloat16 and Vulkan 1.2");
            else {
                vk->gemm_variant = VK_GEMM_COOPMAT;
                vk->coopmat = (vk_coopmat_choice){VK_COOPMAT_EMULATED, shape};
            }
        } else if (cq.usable) {
            vk->gemm_variant = VK_GEMM_COOPMAT;
            vk->coopmat = cq.choice;
        } else {
            snprintf(why, sizeof why, "%s", cq.why);
        }
    }
    describe_gemm(vk, why);
    vk->unified_memory = detect_unified(vk);
    if (vk->props.apiVersion < VK_API_VERSION_1_1) {
        vk->instance = VK_NULL_HANDLE;
        instance_release();
        return glow_error(GLOW_ERR_UNAVAILABLE, "no Vulkan device: %s supports only Vulkan 1.0",
                          vk->props.deviceName);
    }
    st = create_device(vk);
    if (st != GLOW_OK) {
        vk->instance = VK_NULL_HANDLE;
        instance_release();
        return st;
    }
    register_live(vk, 1);
    return GLOW_OK;
}

void vk_device_close(vk_context *vk)
{
    if (vk->device) {
        vkDeviceWaitIdle(vk->device);
        vkDestroyDevice(vk->device, NULL);
        vk->device = VK_NULL_HANDLE;
    }
    if (vk->instance) {
        register_live(vk, 0);
        vk->instance = VK_NULL_HANDLE;
        instance_release();
    }
}
