/* Backend registry: lists the compiled-in and loadable backends and opens one
 * by name. `auto` prefers CUDA, then a Vulkan discrete/integrated GPU, then the
 * fast CPU backend (cpu), then Vulkan on any other device (lavapipe), then the
 * CPU reference (ref). */
#include "glow/backend.h"
#include "registry_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *glow_device_type_name(glow_device_type t)
{
    switch (t) {
    case GLOW_DEVICE_CPU: return "cpu";
    case GLOW_DEVICE_DISCRETE_GPU: return "discrete-gpu";
    case GLOW_DEVICE_INTEGRATED_GPU: return "integrated-gpu";
    case GLOW_DEVICE_VIRTUAL_GPU: return "virtual-gpu";
    case GLOW_DEVICE_OTHER: return "other";
    }
    return "unknown";
}

glow_status glow_backend_ops_check(const glow_backend_ops *ops, const char *backend)
{
    if (ops == NULL)
        return glow_error(GLOW_ERR_BACKEND, "%s: backend has no op table", backend);
#define GLOW_OP(name, ret, params)                                                              \
    if (ops->name == NULL)                                                                      \
        return glow_error(GLOW_ERR_BACKEND, "%s: op table lacks '%s' (every entry of glow/ops.def " \
                          "is required)", backend, #name);
#include "glow/ops.def"
    return GLOW_OK;
}

/* f->open, then the op-table check; a backend that fails it is closed again. */
static glow_status open_checked(const glow_backend_factory *f, int device, glow_backend **out)
{
    *out = NULL;
    glow_backend *be = NULL;
    GLOW_TRY(f->open(device, &be));
    glow_status st = glow_backend_ops_check(be->ops, f->name);
    if (st != GLOW_OK) {
        if (be->ops != NULL && be->ops->destroy != NULL)
            be->ops->destroy(be);
        return st;
    }
    if (be->info.precision[0] == '\0')
        snprintf(be->info.precision, sizeof be->info.precision, "fp32");
    *out = be;
    return GLOW_OK;
}

/* The registry's factories: each backend's own, with open going through open_checked. */
#define CHECKED_FACTORY(var)                                                                  \
    static glow_status var##_list(glow_device_info *out, int max, int *count)                 \
    {                                                                                         \
        return var.list_devices(out, max, count);                                             \
    }                                                                                         \
    static glow_status var##_open(int device, glow_backend **out)                             \
    {                                                                                         \
        return open_checked(&var, device, out);                                               \
    }
#ifdef GLOW_HAVE_CUDA_LOADER
CHECKED_FACTORY(glow_cuda_factory)
#endif
#ifdef GLOW_HAVE_VULKAN
CHECKED_FACTORY(glow_vulkan_factory)
#endif
#ifdef GLOW_HAVE_CPU
CHECKED_FACTORY(glow_cpu_factory)
#endif
CHECKED_FACTORY(glow_ref_factory)

static const glow_backend_factory registry[] = {
#ifdef GLOW_HAVE_CUDA_LOADER
    {"cuda", glow_cuda_factory_list, glow_cuda_factory_open},
#endif
#ifdef GLOW_HAVE_VULKAN
    {"vulkan", glow_vulkan_factory_list, glow_vulkan_factory_open},
#endif
#ifdef GLOW_HAVE_CPU
    {"cpu", glow_cpu_factory_list, glow_cpu_factory_open},
#endif
    {"ref", glow_ref_factory_list, glow_ref_factory_open},
};

int glow_backend_factories(const glow_backend_factory **out, int max)
{
    int n = 0;
    for (size_t i = 0; i < sizeof registry / sizeof registry[0] && n < max; i++)
        out[n++] = &registry[i];
    return n;
}

static const glow_backend_factory *find_factory(const char *name)
{
    const glow_backend_factory *f[8];
    int n = glow_backend_factories(f, 8);
    for (int i = 0; i < n; i++)
        if (strcmp(f[i]->name, name) == 0)
            return f[i];
    return NULL;
}

static int env_device(void)
{
    const char *s = getenv("GLOW_DEVICE");
    if (s == NULL || *s == '\0')
        return -1;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    return (end && *end == '\0' && v >= 0 && v < 1000) ? (int)v : -1;
}

/* Index of the first device of `f` whose type is in `types`, or -1. */
static int first_device_of_type(const glow_backend_factory *f, const glow_device_type *types, int ntypes)
{
    glow_device_info info[16];
    int count = 0;
    if (f->list_devices(info, 16, &count) != GLOW_OK)
        return -1;
    for (int i = 0; i < count; i++)
        for (int t = 0; t < ntypes; t++)
            if (info[i].type == types[t])
                return i;
    return -1;
}

static glow_status open_auto(int device, glow_backend **out)
{
    static const glow_device_type gpus[] = {GLOW_DEVICE_DISCRETE_GPU, GLOW_DEVICE_INTEGRATED_GPU};
    static const glow_device_type any[] = {GLOW_DEVICE_DISCRETE_GPU, GLOW_DEVICE_INTEGRATED_GPU,
                                           GLOW_DEVICE_VIRTUAL_GPU, GLOW_DEVICE_CPU, GLOW_DEVICE_OTHER};
    const glow_backend_factory *cuda = find_factory("cuda");
    const glow_backend_factory *vulkan = find_factory("vulkan");
    if (cuda && first_device_of_type(cuda, any, 5) >= 0 && cuda->open(device, out) == GLOW_OK)
        return GLOW_OK;
    if (vulkan) {
        int gpu = device >= 0 ? device : first_device_of_type(vulkan, gpus, 2);
        if (gpu >= 0 && vulkan->open(gpu, out) == GLOW_OK)
            return GLOW_OK;
    }
    const glow_backend_factory *cpu = find_factory("cpu");
    if (cpu && cpu->open(-1, out) == GLOW_OK)
        return GLOW_OK;
    if (vulkan) {
        int dev = device >= 0 ? device : first_device_of_type(vulkan, any, 5);
        if (dev >= 0 && vulkan->open(dev, out) == GLOW_OK)
            return GLOW_OK;
    }
    glow_clear_error();
    return find_factory("ref")->open(-1, out);
}

glow_status glow_backend_open(const char *name, int device, glow_backend **out)
{
    *out = NULL;
    if (name == NULL || *name == '\0')
        name = getenv("GLOW_BACKEND");
    if (name == NULL || *name == '\0')
        name = "auto";
    if (device < 0)
        device = env_device();
    if (strcmp(name, "auto") == 0)
        return open_auto(device, out);
    const glow_backend_factory *f = find_factory(name);
    if (f == NULL) {
        if (strcmp(name, "vulkan") == 0 || strcmp(name, "cuda") == 0 || strcmp(name, "cpu") == 0)
            return glow_error(GLOW_ERR_UNAVAILABLE, "%s: unavailable: not compiled into this build", name);
        return glow_error(GLOW_ERR_INVALID_ARG, "unknown backend '%s' (expected auto, ref, cpu, vulkan or cuda)", name);
    }
    glow_status st = f->open(device, out);
    if (st != GLOW_OK)
        return glow_error_context(st, "%s", name);
    return GLOW_OK;
}

static int g_cpu_threads; /* 0: the backend's default */

void glow_set_cpu_threads(int n)
{
    g_cpu_threads = n > 0 ? n : 0;
}

int glow_cpu_threads_setting(void)
{
    return g_cpu_threads;
}

static glow_precision g_precision = GLOW_PRECISION_FP32;

void glow_set_precision(glow_precision p)
{
    g_precision = p == GLOW_PRECISION_TF32 ? GLOW_PRECISION_TF32 : GLOW_PRECISION_FP32;
}

glow_precision glow_precision_setting(void)
{
    return g_precision;
}

const char *glow_precision_name(glow_precision p)
{
    return p == GLOW_PRECISION_TF32 ? "tf32" : "fp32";
}

int glow_precision_parse(const char *name)
{
    if (name != NULL && strcmp(name, "fp32") == 0)
        return GLOW_PRECISION_FP32;
    if (name != NULL && strcmp(name, "tf32") == 0)
        return GLOW_PRECISION_TF32;
    return -1;
}

glow_status glow_step_begin(glow_backend *be, uint64_t key)
{
    if (be == NULL || be->step == NULL)
        return GLOW_OK;
    return be->step->begin(be, key);
}

glow_status glow_step_end(glow_backend *be, int *rerun)
{
    *rerun = 0;
    if (be == NULL || be->step == NULL)
        return GLOW_OK;
    return be->step->end(be, rerun);
}

void glow_backend_close(glow_backend *be)
{
    if (be)
        be->ops->destroy(be);
}
