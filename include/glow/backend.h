/* The backend interface: a C struct of function pointers plus its context.
 *
 * The entries, their order and their semantics come from one list,
 * glow/ops.def; callers use the validated glow_* functions of glow/ops.h. */
#ifndef GLOW_BACKEND_H
#define GLOW_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "glow/rng.h"
#include "glow/status.h"
#include "glow/tensor.h"

typedef enum {
    GLOW_DEVICE_CPU,
    GLOW_DEVICE_DISCRETE_GPU,
    GLOW_DEVICE_INTEGRATED_GPU,
    GLOW_DEVICE_VIRTUAL_GPU,
    GLOW_DEVICE_OTHER,
} glow_device_type;

const char *glow_device_type_name(glow_device_type t);

typedef struct {
    char backend[16];      /* "ref", "cpu", "vulkan", "cuda" */
    char name[256];
    char vendor[64];
    char driver[128];      /* driver name and version */
    char api_version[32];  /* e.g. Vulkan "1.3.230", CUDA "12.4" */
    glow_device_type type;
    uint64_t memory_bytes; /* device-local memory (host RAM for cpu) */
    char details[1024];    /* further lines for `glow-vk devices` (heaps, subgroup size, fp16, ...) */
    /* What an opened backend's GEMMs actually use, for the run's output and bench:
     * "fp32", "tf32 (tensor cores)", "fp32 (tf32 asked; <why not>)". A backend
     * that leaves it empty is reported as "fp32" (the registry fills it in). */
    char precision[96];
} glow_device_info;

typedef enum { GLOW_OPT_ADAM = 0, GLOW_OPT_ADAMAX = 1 } glow_optimizer;

/* Hyper-parameters of one optimiser step over a flat arena. */
typedef struct {
    glow_optimizer kind;
    float lr;            /* learning rate of this step (warm-up is the caller's) */
    float beta1, beta2;  /* 0.9, 0.999 */
    float eps;           /* 1e-8 */
    int step;            /* 1-based step number t, for bias correction */
    float max_grad_norm; /* > 0: scale g by min(1, max_grad_norm / (sqrt(sumsq) + 1e-6)); 0: no clipping */
} glow_adam_params;

/* One function pointer per line of glow/ops.def (semantics there), in its order. */
typedef struct glow_backend_ops {
#define GLOW_OP(name, ret, params) ret(*name) params;
#include "glow/ops.def"
} glow_backend_ops;

/* Optional step replay (the CUDA backend's CUDA graphs; see glow_step_begin). */
typedef struct {
    glow_status (*begin)(glow_backend *be, uint64_t key);
    glow_status (*end)(glow_backend *be, int *rerun);
} glow_step_hooks;

struct glow_backend {
    const glow_backend_ops *ops;
    glow_device_info info;
    void *impl;
    const glow_step_hooks *step; /* NULL: every op runs as it comes */
};

/* A training step's ops bracketed so that a backend may capture them once and
 * replay them (CUDA: one graph launch a step). `key` names the op sequence
 * (same key: same ops on the same tensors; the values that change from step to
 * step are only the glow_rng and glow_adam_params arguments); a backend checks
 * it. Between begin and end only GLOW_OP entries may be called (no upload,
 * download, sync or buffer create/destroy). After end, *rerun = 1 means the
 * backend ran none of the bracketed ops (its capture or replay failed and was
 * dropped): the caller records them again, unbracketed, and they run eagerly.
 * Backends without hooks: both calls do nothing and *rerun = 0. */
glow_status glow_step_begin(glow_backend *be, uint64_t key);
glow_status glow_step_end(glow_backend *be, int *rerun);

/* ---- registry ---------------------------------------------------------------
 * A factory lists a backend's devices and opens one. A backend that cannot
 * start (no driver, no library, no device) returns GLOW_ERR_UNAVAILABLE with
 * the reason as the error message. */
typedef struct {
    const char *name; /* "ref", "cpu", "vulkan", "cuda" */
    glow_status (*list_devices)(glow_device_info *out, int max, int *count);
    glow_status (*open)(int device, glow_backend **out); /* device < 0: the backend's preferred device */
} glow_backend_factory;

/* The factories compiled in or loadable, in `auto` preference order. Their open
 * refuses a backend whose op table has a NULL slot (glow_backend_ops_check). */
int glow_backend_factories(const glow_backend_factory **out, int max);

/* Open a backend by name: "auto", "ref", "cpu", "vulkan" or "cuda" (NULL: $GLOW_BACKEND, else "auto").
 * device < 0 picks the backend's preferred device ($GLOW_DEVICE if set).
 * auto: CUDA, then a Vulkan discrete/integrated GPU, then the fast CPU backend
 * (cpu), then Vulkan on any other device (e.g. lavapipe), then the reference (ref). */
glow_status glow_backend_open(const char *name, int device, glow_backend **out);
/* GLOW_OK when every entry of `ops` (every line of glow/ops.def) is set, else
 * GLOW_ERR_BACKEND "<backend>: op table lacks '<entry>'" naming the first NULL one.
 * The factories of glow_backend_factories() run it on every backend they open and
 * refuse (close) one that fails it. */
glow_status glow_backend_ops_check(const glow_backend_ops *ops, const char *backend);
void glow_backend_close(glow_backend *be);

/* Worker threads of the fast CPU backend ("cpu") opened after this call:
 * n >= 1, or 0 for the default ($GLOW_THREADS when set, else every online core).
 * Results are deterministic for a given count. */
void glow_set_cpu_threads(int n);
int glow_cpu_threads_setting(void);

/* Arithmetic of the GEMM-shaped ops (convolutions) in backends opened after this
 * call (ARCHITECTURE decision 15). fp32, the default, everywhere; tf32 lets a
 * backend use matrix units (CUDA TF32 tensor cores, Vulkan cooperative matrices)
 * where the device has a usable shape and type, and plain fp32 elsewhere. The
 * choice is recorded in checkpoints and bench JSON. */
typedef enum { GLOW_PRECISION_FP32 = 0, GLOW_PRECISION_TF32 = 1 } glow_precision;
void glow_set_precision(glow_precision p);
glow_precision glow_precision_setting(void);
/* "fp32" / "tf32"; glow_precision_parse returns -1 for any other name. */
const char *glow_precision_name(glow_precision p);
int glow_precision_parse(const char *name);

/* Buffers through the backend, with the core's bookkeeping. */
glow_status glow_buffer_create(glow_backend *be, size_t bytes, glow_buffer **out);
void glow_buffer_destroy(glow_buffer *buf);
glow_status glow_upload(glow_buffer *dst, size_t dst_byte_off, const void *src, size_t bytes);
glow_status glow_download(const glow_buffer *src, size_t src_byte_off, void *dst, size_t bytes);
glow_status glow_sync(glow_backend *be);
/* Convenience: upload/download a tensor's elements (count floats). */
glow_status glow_tensor_upload(glow_tensor t, const float *host);
glow_status glow_tensor_download(glow_tensor t, float *host);

#endif
