/* glow_cuda_factory: finds the CUDA module (libglow-cuda.so), opens it with
 * dlopen and forwards list_devices/open to it. The core links no CUDA library;
 * without the module, the NVIDIA driver or a device, the factory answers
 * GLOW_ERR_UNAVAILABLE with the reason and the program carries on.
 *
 * Module search order (the first existing file is used):
 *   1. $GLOW_CUDA_MODULE (a full path; when set, nothing else is searched)
 *   2. next to the executable: <dir of /proc/self/exe>/libglow-cuda.so
 *   3. <dir of /proc/self/exe>/../lib/glow-vk/libglow-cuda.so (an installed tree)
 *   4. the build tree's module, GLOW_CUDA_MODULE_BUILD_PATH (baked in by meson)
 *   5. GLOW_CUDA_MODULE_INSTALL_DIR/libglow-cuda.so (prefix/libdir/glow-vk)
 *   6. plain "libglow-cuda.so" through the dynamic linker's own search path
 * Then the driver: libcuda.so.1 must open (the module's static CUDA runtime
 * loads it by that name), then the module itself reports its devices.
 *
 * A module that loads is kept for the life of the process (its code backs open
 * backends); a failure is not cached, so a later call searches again. */
#include "cuda_module.h"
#include "registry_internal.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef GLOW_CUDA_MODULE_BUILD_PATH
#define GLOW_CUDA_MODULE_BUILD_PATH ""
#endif
#ifndef GLOW_CUDA_MODULE_INSTALL_DIR
#define GLOW_CUDA_MODULE_INSTALL_DIR ""
#endif

#define CUDA_DRIVER_LIBRARY "libcuda.so.1"

enum { MAX_CANDIDATES = 6, PATH_BYTES = PATH_MAX + 64 };

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static void *g_module;                 /* dlopen handle once loaded */
static glow_cuda_module_api g_api;     /* valid when g_module != NULL */
static char g_module_path[PATH_BYTES]; /* where it was loaded from */

static const glow_cuda_host_api g_host = {
    GLOW_CUDA_MODULE_ABI, (uint32_t)sizeof(glow_backend), (uint32_t)sizeof(glow_backend_ops),
    (uint32_t)sizeof(glow_device_info), glow_error, glow_precision_setting,
};

/* Directory of the running executable into dir (no trailing '/'); 0 when unknown. */
static int executable_dir(char *dir, size_t size)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return 0;
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL)
        return 0;
    *slash = '\0';
    snprintf(dir, size, "%s", exe);
    return 1;
}

/* Fills paths[] with the candidate files in search order; returns how many. */
static int candidate_paths(char paths[MAX_CANDIDATES][PATH_BYTES])
{
    int n = 0;
    const char *env = getenv("GLOW_CUDA_MODULE");
    if (env != NULL && *env != '\0') {
        snprintf(paths[n++], PATH_BYTES, "%s", env);
        return n;
    }
    char dir[PATH_MAX];
    if (executable_dir(dir, sizeof dir)) {
        snprintf(paths[n++], PATH_BYTES, "%s/%s", dir, GLOW_CUDA_MODULE_NAME);
        snprintf(paths[n++], PATH_BYTES, "%s/../lib/glow-vk/%s", dir, GLOW_CUDA_MODULE_NAME);
    }
    if (GLOW_CUDA_MODULE_BUILD_PATH[0] != '\0')
        snprintf(paths[n++], PATH_BYTES, "%s", GLOW_CUDA_MODULE_BUILD_PATH);
    if (GLOW_CUDA_MODULE_INSTALL_DIR[0] != '\0')
        snprintf(paths[n++], PATH_BYTES, "%s/%s", GLOW_CUDA_MODULE_INSTALL_DIR, GLOW_CUDA_MODULE_NAME);
    return n;
}

/* dlopen-s `path` and runs the module's entry; on success g_module/g_api are set. */
static glow_status open_module(const char *path)
{
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL)
        return glow_error(GLOW_ERR_UNAVAILABLE, "module %s cannot be loaded: %s", path, dlerror());
    glow_cuda_module_init_fn init;
    void *sym = dlsym(handle, GLOW_CUDA_MODULE_ENTRY);
    if (sym == NULL) {
        dlclose(handle);
        return glow_error(GLOW_ERR_UNAVAILABLE, "module %s has no entry %s", path, GLOW_CUDA_MODULE_ENTRY);
    }
    /* POSIX guarantees that a dlsym result converts to a function pointer. */
    memcpy(&init, &sym, sizeof init);
    glow_cuda_module_api api;
    memset(&api, 0, sizeof api);
    glow_status st = init(&g_host, &api);
    if (st != GLOW_OK || api.list_devices == NULL || api.open == NULL || api.counts == NULL) {
        dlclose(handle);
        if (st == GLOW_OK)
            st = glow_error(GLOW_ERR_UNAVAILABLE, "module %s returned an incomplete entry table", path);
        return glow_error_context(st, "module %s", path);
    }
    g_module = handle;
    g_api = api;
    snprintf(g_module_path, sizeof g_module_path, "%s", path);
    return GLOW_OK;
}

/* Finds and loads the module (once). */
static glow_status load_module_locked(void)
{
    if (g_module != NULL)
        return GLOW_OK;
    char paths[MAX_CANDIDATES][PATH_BYTES];
    int n = candidate_paths(paths);
    for (int i = 0; i < n; i++)
        if (access(paths[i], F_OK) == 0)
            return open_module(paths[i]);
    /* Last, the dynamic linker's search path (LD_LIBRARY_PATH, ld.so.cache),
     * unless $GLOW_CUDA_MODULE names the one file to use. */
    const char *env = getenv("GLOW_CUDA_MODULE");
    int explicit_path = env != NULL && *env != '\0';
    if (!explicit_path) {
        void *handle = dlopen(GLOW_CUDA_MODULE_NAME, RTLD_NOW | RTLD_LOCAL);
        if (handle != NULL) {
            dlclose(handle);
            return open_module(GLOW_CUDA_MODULE_NAME);
        }
    }
    char searched[2048];
    size_t used = 0;
    searched[0] = '\0';
    for (int i = 0; i < n && used < sizeof searched; i++) {
        int w = snprintf(searched + used, sizeof searched - used, "%s%s", i ? ", " : "", paths[i]);
        if (w > 0)
            used += (size_t)w;
    }
    if (!explicit_path && used < sizeof searched)
        snprintf(searched + used, sizeof searched - used, "%sthe system library path", n ? ", " : "");
    return glow_error(GLOW_ERR_UNAVAILABLE, "module %s not found (searched %s)", GLOW_CUDA_MODULE_NAME, searched);
}

/* The module, then the NVIDIA driver library. */
static glow_status load_cuda(void)
{
    pthread_mutex_lock(&g_lock);
    glow_status st = load_module_locked();
    pthread_mutex_unlock(&g_lock);
    if (st != GLOW_OK)
        return st;
    void *driver = dlopen(CUDA_DRIVER_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (driver == NULL)
        return glow_error(GLOW_ERR_UNAVAILABLE, "CUDA driver not found: %s (%s)", CUDA_DRIVER_LIBRARY, dlerror());
    dlclose(driver);
    return GLOW_OK;
}

/* Appends as much of text as fits into the NUL-terminated string buf[size]. */
static void append_text(char *buf, size_t size, const char *text)
{
    size_t used = strnlen(buf, size);
    if (used + 1 >= size)
        return;
    size_t room = size - 1 - used, len = strlen(text);
    if (len > room)
        len = room;
    memcpy(buf + used, text, len);
    buf[used + len] = '\0';
}

/* Adds the line "module: <path>" to a device's details (for `glow-vk devices`). */
static void note_module_path(glow_device_info *info)
{
    append_text(info->details, sizeof info->details, info->details[0] ? "\nmodule: " : "module: ");
    append_text(info->details, sizeof info->details, g_module_path);
}

static glow_status cuda_list_devices(glow_device_info *out, int max, int *count)
{
    *count = 0;
    GLOW_TRY(load_cuda());
    GLOW_TRY(g_api.list_devices(out, max, count));
    for (int i = 0; out != NULL && i < *count && i < max; i++)
        note_module_path(&out[i]);
    return GLOW_OK;
}

static glow_status cuda_open(int device, glow_backend **out)
{
    *out = NULL;
    GLOW_TRY(load_cuda());
    GLOW_TRY(g_api.open(device, out));
    note_module_path(&(*out)->info);
    return GLOW_OK;
}

int glow_cuda_launch_counts(glow_backend *be, glow_cuda_counts *out)
{
    memset(out, 0, sizeof *out);
    if (be == NULL || strcmp(be->info.backend, "cuda") != 0)
        return 0;
    pthread_mutex_lock(&g_lock);
    const int loaded = g_module != NULL;
    pthread_mutex_unlock(&g_lock);
    if (!loaded)
        return 0;
    g_api.counts(be, out);
    return 1;
}

const glow_backend_factory glow_cuda_factory = {"cuda", cuda_list_devices, cuda_open};
