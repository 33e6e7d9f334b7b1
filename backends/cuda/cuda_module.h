/* The interface between the core and the CUDA module (libglow-cuda.so).
 *
 * The core never links CUDA. backends/cuda/cuda_loader.c (compiled into the
 * core) finds the module, dlopen-s it and calls its one exported function,
 * GLOW_CUDA_MODULE_ENTRY, with a glow_cuda_host_api: everything the module
 * needs from the core (the error reporter, so that messages land in the core's
 * thread-local glow_last_error(), and the --precision setting read at open). The module fills a
 * glow_cuda_module_api with its factory entries. The module therefore has no
 * undefined symbols of the main binary (it is linked with --no-undefined).
 *
 * Both sides are compiled from the same headers of one build; the sizes below
 * guard against loading a module built from another version of them. */
#ifndef GLOW_CUDA_MODULE_H
#define GLOW_CUDA_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "glow/backend.h"
#include "glow/cuda.h"

#define GLOW_CUDA_MODULE_ABI 2u
#define GLOW_CUDA_MODULE_NAME "libglow-cuda.so"
#define GLOW_CUDA_MODULE_ENTRY "glow_cuda_module_init"

typedef struct {
    uint32_t abi;            /* GLOW_CUDA_MODULE_ABI of the core */
    uint32_t backend_size;   /* sizeof(glow_backend) */
    uint32_t ops_size;       /* sizeof(glow_backend_ops) */
    uint32_t info_size;      /* sizeof(glow_device_info) */
    /* glow_error of the core: sets the calling thread's message, returns code. */
    glow_status (*error)(glow_status code, const char *fmt, ...);
    /* glow_precision_setting of the core: read by every open. */
    glow_precision (*precision)(void);
} glow_cuda_host_api;

typedef struct {
    /* As glow_backend_factory.list_devices / .open (see glow/backend.h). */
    glow_status (*list_devices)(glow_device_info *out, int max, int *count);
    glow_status (*open)(int device, glow_backend **out);
    /* The launch counters of a backend this module opened (glow/cuda.h); zeros for any other. */
    void (*counts)(glow_backend *be, glow_cuda_counts *out);
} glow_cuda_module_api;

/* The module's entry: checks the host's ABI and sizes, keeps `host` (which must
 * outlive the module) and fills `out`. GLOW_ERR_UNAVAILABLE on a mismatch. */
typedef glow_status (*glow_cuda_module_init_fn)(const glow_cuda_host_api *host, glow_cuda_module_api *out);

#endif
