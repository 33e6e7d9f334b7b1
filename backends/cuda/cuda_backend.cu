/* CUDA backend: module entry, device info, memory, the op table and the factory
 * entries handed to the loader (cuda_loader.c, through cuda_module.h).
 *
 * One backend = one device and one non-blocking stream; every op is queued on
 * that stream in program order. upload queues a copy (the source may be reused
 * as soon as it returns: pageable host memory is staged by the runtime before
 * the call returns), download queues a copy and waits for the stream. Every
 * entry of the op table makes the backend's device current first (cuda_host.h). */
#include "cuda_host.h"
#include "cuda_precision.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const glow_cuda_host_api *g_host;

/* The backend whose entry runs on this thread (set by cu_make_current): cu_launched counts against it. */
static thread_local cuda_state *t_current;

/* ---- errors ------------------------------------------------------------------- */

glow_status cu_error(glow_status code, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return g_host->error(code, "%s", message);
}

glow_status cu_launched(const char *op)
{
    if (t_current != NULL) {
        if (t_current->step.mode == CU_STEP_CAPTURE)
            t_current->step.kernels_captured++;
        else
            t_current->step.counts.kernel_launches++;
    }
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return cu_error(GLOW_ERR_BACKEND, "cuda %s: kernel launch failed: %s (%s)", op, cudaGetErrorString(e),
                        cudaGetErrorName(e));
    return GLOW_OK;
}

glow_status cu_runtime_failed(const char *what, cudaError_t e)
{
    (void)cudaGetLastError(); /* reported here: not again by the next op's launch check */
    glow_status code = e == cudaErrorMemoryAllocation ? GLOW_ERR_OUT_OF_MEMORY : GLOW_ERR_BACKEND;
    return cu_error(code, "cuda %s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

static glow_status cuda_failed(const char *what, cudaError_t e)
{
    return cu_runtime_failed(what, e);
}

glow_status cu_make_current(glow_backend *be)
{
    int device = cu_state(be)->device, current = -1;
    t_current = cu_state(be);
    /* cudaSetDevice only when another device is current: the common case makes no call
     * that could disturb a step capture open on this thread. */
    cudaError_t e = cudaGetDevice(&current);
    if (e != cudaSuccess || current != device)
        e = cudaSetDevice(device);
    if (e != cudaSuccess) {
        char what[48];
        snprintf(what, sizeof what, "cudaSetDevice(%d)", device);
        return cu_runtime_failed(what, e);
    }
    /* A stale error of an earlier call that was reported (or ignored) there. Sticky
     * errors (a kernel fault) are not cleared by this and fail the op's own calls. */
    (void)cudaGetLastError();
    return GLOW_OK;
}

/* ---- device info ----------------------------------------------------------------- */

/* "13.0" from CUDA's 1000*major + 10*minor encoding. */
static void version_text(int v, char *out, size_t size)
{
    snprintf(out, size, "%d.%d", v / 1000, (v % 1000) / 10);
}

static glow_status fill_device_info(int device, glow_device_info *info)
{
    cudaDeviceProp prop;
    cudaError_t e = cudaGetDeviceProperties(&prop, device);
    if (e != cudaSuccess)
        return cuda_failed("cudaGetDeviceProperties", e);
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    char driver_text[16], runtime_text[16];
    version_text(driver, driver_text, sizeof driver_text);
    version_text(runtime, runtime_text, sizeof runtime_text);

    memset(info, 0, sizeof *info);
    snprintf(info->backend, sizeof info->backend, "cuda");
    snprintf(info->name, sizeof info->name, "%s", prop.name);
    snprintf(info->vendor, sizeof info->vendor, "NVIDIA");
    snprintf(info->driver, sizeof info->driver, "NVIDIA driver (CUDA %s), runtime %s (static)", driver_text,
             runtime_text);
    snprintf(info->api_version, sizeof info->api_version, "%s", driver_text);
    info->type = prop.integrated ? GLOW_DEVICE_INTEGRATED_GPU : GLOW_DEVICE_DISCRETE_GPU;
    info->memory_bytes = (uint64_t)prop.totalGlobalMem;
    snprintf(info->details, sizeof info->details,
             "compute capability: %d.%d\n"
             "multiprocessors: %d\n"
             "shared memory: %zu bytes per block, %zu per multiprocessor\n"
             "L2 cache: %d bytes\n"
             "TF32 tensor cores: %s\n"
             "PCI: %04x:%02x:%02x",
             prop.major, prop.minor, prop.multiProcessorCount, (size_t)prop.sharedMemPerBlock,
             (size_t)prop.sharedMemPerMultiprocessor, prop.l2CacheSize,
             prop.major >= 8 ? "yes (used with --precision tf32)" : "no",
             (unsigned)prop.pciDomainID,
             (unsigned)prop.pciBusID, (unsigned)prop.pciDeviceID);
    return GLOW_OK;
}

/* Number of devices, or GLOW_ERR_UNAVAILABLE with the reason. */
static glow_status device_count(int *count)
{
    *count = 0;
    cudaError_t e = cudaGetDeviceCount(count);
    if (e == cudaErrorNoDevice || (e == cudaSuccess && *count == 0)) {
        *count = 0;
        return cu_error(GLOW_ERR_UNAVAILABLE, "no CUDA device");
    }
    if (e != cudaSuccess) {
        *count = 0;
        return cu_error(GLOW_ERR_UNAVAILABLE, "CUDA runtime cannot start: %s (%s)", cudaGetErrorString(e),
                        cudaGetErrorName(e));
    }
    return GLOW_OK;
}

static glow_status cuda_list_devices(glow_device_info *out, int max, int *count)
{
    GLOW_TRY(device_count(count));
    for (int d = 0; out != NULL && d < *count && d < max; d++)
        GLOW_TRY(fill_device_info(d, &out[d]));
    return GLOW_OK;
}

/* ---- memory ------------------------------------------------------------------------ */

static void count_alloc(cuda_state *st, size_t bytes)
{
    st->current_bytes += bytes;
    if (st->current_bytes > st->peak_bytes)
        st->peak_bytes = st->current_bytes;
}

static glow_status cuda_buffer_alloc(glow_backend *be, size_t bytes, void **impl)
{
    cuda_state *st = cu_state(be);
    cuda_buffer *b = (cuda_buffer *)calloc(1, sizeof *b);
    if (b == NULL)
        return cu_error(GLOW_ERR_OUT_OF_MEMORY, "cuda buffer_alloc: out of host memory");
    cudaError_t e = cudaMalloc(&b->ptr, bytes);
    if (e != cudaSuccess) {
        free(b);
        return cuda_failed("buffer_alloc: cudaMalloc", e);
    }
    b->bytes = bytes;
    count_alloc(st, bytes);
    *impl = b;
    return GLOW_OK;
}

static void cuda_buffer_free(glow_backend *be, void *impl)
{
    if (impl == NULL)
        return;
    cuda_buffer *b = (cuda_buffer *)impl;
    /* cudaFree waits for kernels still using the memory. */
    cu_step_drop_graphs(be); /* a graph may hold its device address */
    cudaFree(b->ptr);
    cu_state(be)->current_bytes -= b->bytes;
    free(b);
}

glow_status cu_scratch(glow_backend *be, size_t bytes, const char *op, void **out)
{
    cuda_state *st = cu_state(be);
    if (bytes > st->scratch_bytes) {
        /* Never inside a captured step: the eager first run of a step grows it to what the
         * step needs. Growing here fails the capture, and the step reruns eagerly. */
        if (st->step.mode == CU_STEP_CAPTURE)
            return cu_error(GLOW_ERR_BACKEND, "cuda %s: %zu bytes of scratch needed inside a step capture", op,
                            bytes);
        cu_step_drop_graphs(be); /* graphs hold the old region's address */
        size_t grown = st->scratch_bytes * 2 > bytes ? st->scratch_bytes * 2 : bytes;
        if (st->scratch) {
            cudaFree(st->scratch);
            st->current_bytes -= st->scratch_bytes;
            st->scratch = NULL;
            st->scratch_bytes = 0;
        }
        cudaError_t e = cudaMalloc(&st->scratch, grown);
        if (e != cudaSuccess) {
            st->scratch = NULL;
            char what[96];
            snprintf(what, sizeof what, "%s: %zu bytes of scratch", op, grown);
            return cu_runtime_failed(what, e);
        }
        st->scratch_bytes = grown;
        count_alloc(st, grown);
    }
    *out = st->scratch;
    return GLOW_OK;
}

static glow_status cuda_upload(glow_backend *be, glow_buffer *dst, size_t dst_byte_off, const void *src, size_t bytes)
{
    char *d = (char *)((cuda_buffer *)dst->impl)->ptr + dst_byte_off;
    cudaError_t e = cudaMemcpyAsync(d, src, bytes, cudaMemcpyHostToDevice, cu_stream(be));
    if (e != cudaSuccess)
        return cuda_failed("upload", e);
    return GLOW_OK;
}

static glow_status cuda_download(glow_backend *be, const glow_buffer *src, size_t src_byte_off, void *dst,
                                 size_t bytes)
{
    const char *s = (const char *)((const cuda_buffer *)src->impl)->ptr + src_byte_off;
    cudaError_t e = cudaMemcpyAsync(dst, s, bytes, cudaMemcpyDeviceToHost, cu_stream(be));
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(cu_stream(be));
    if (e != cudaSuccess)
        return cuda_failed("download (or an earlier op on the stream)", e);
    return GLOW_OK;
}

static glow_status cuda_sync(glow_backend *be)
{
    cudaError_t e = cudaStreamSynchronize(cu_stream(be));
    if (e != cudaSuccess)
        return cuda_failed("sync (an earlier op on the stream failed)", e);
    return GLOW_OK;
}

static void cuda_memory_usage(glow_backend *be, size_t *current, size_t *peak)
{
    const cuda_state *st = cu_state(be);
    if (current)
        *current = st->current_bytes;
    if (peak)
        *peak = st->peak_bytes;
}

static void cuda_destroy(glow_backend *be)
{
    cuda_state *st = cu_state(be);
    if (st) {
        (void)cu_make_current(be);
        cudaStreamSynchronize(st->stream);
        cu_step_release_all(be);
        if (st->step.pinned)
            cudaFreeHost(st->step.pinned);
        if (st->step.device)
            cudaFree(st->step.device);
        if (st->step.launched)
            cudaEventDestroy(st->step.launched);
        if (st->scratch)
            cudaFree(st->scratch);
        cudaStreamDestroy(st->stream);
        if (t_current == st)
            t_current = NULL;
        free(st);
    }
    free(be);
}

/* ---- op table and factory entries --------------------------------------------------- */

/* In the order of glow/ops.def (C++17 has no designated initialisers; the
 * struct's fields come from the same list, so the order cannot differ). Every
 * entry that touches the device goes through cu_on_device (cuda_host.h): all
 * ops (CU_ENTRY: also the step capture/replay), and the core entries below
 * (CU_CORE_ENTRY: refused inside a captured step) except destroy (which makes
 * the device current itself) and memory_usage (host counters).
 * tests/cuda_source_check.py checks that none is assigned without them. */
#define CU_ENTRY(f) cu_on_device<f>::entry
#define CU_CORE_ENTRY(f) cu_core_entry<f>::entry
#define CU_CORE_destroy cuda_destroy
#define CU_CORE_buffer_alloc CU_CORE_ENTRY(cuda_buffer_alloc)
#define CU_CORE_buffer_free CU_CORE_ENTRY(cuda_buffer_free)
#define CU_CORE_upload CU_CORE_ENTRY(cuda_upload)
#define CU_CORE_download CU_CORE_ENTRY(cuda_download)
#define CU_CORE_sync CU_CORE_ENTRY(cuda_sync)
#define CU_CORE_memory_usage cuda_memory_usage
static const glow_backend_ops cuda_ops = {
#define GLOW_CORE(name, ret, params) CU_CORE_##name,
#define GLOW_OP(name, ret, params) CU_ENTRY(cu_##name),
#include "glow/ops.def"
};

static glow_status cuda_step_begin(glow_backend *be, uint64_t key)
{
    GLOW_TRY(cu_make_current(be));
    return cu_step_begin(be, key);
}

static glow_status cuda_step_end(glow_backend *be, int *rerun)
{
    *rerun = 0;
    GLOW_TRY(cu_make_current(be));
    return cu_step_end(be, rerun);
}

static const glow_step_hooks cuda_step_hooks = {cuda_step_begin, cuda_step_end};

/* Step graphs unless $GLOW_CUDA_GRAPH is "0"; the slots and the event they need. */
static cudaError_t open_step(cuda_state *st)
{
    const char *env = getenv("GLOW_CUDA_GRAPH");
    st->step.graphs_enabled = !(env != NULL && strcmp(env, "0") == 0);
    cudaError_t e = cudaMallocHost((void **)&st->step.pinned, CU_STEP_SLOTS * sizeof(cu_dyn_slot));
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&st->step.device, CU_STEP_SLOTS * sizeof(cu_dyn_slot));
    if (e == cudaSuccess)
        e = cudaEventCreateWithFlags(&st->step.launched, cudaEventDisableTiming);
    if (e == cudaSuccess)
        memset(st->step.pinned, 0, CU_STEP_SLOTS * sizeof(cu_dyn_slot));
    return e;
}

static void cuda_counts(glow_backend *be, glow_cuda_counts *out)
{
    memset(out, 0, sizeof *out);
    if (be != NULL && be->ops == &cuda_ops)
        *out = cu_state(be)->step.counts;
}

/* The device with the most multiprocessors (the first of equals). */
static int preferred_device(int count)
{
    int best = 0, best_sms = -1;
    for (int d = 0; d < count; d++) {
        int sms = 0;
        if (cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, d) == cudaSuccess && sms > best_sms) {
            best = d;
            best_sms = sms;
        }
    }
    return best;
}

/* An empty kernel whose attributes tell which of the module's code images the current
 * device runs (SASS sm_80/sm_90, or JIT-compiled PTX compute_80/compute_75). */
static __global__ void code_probe_kernel(void) {}

/* The PTX version of the code the current device runs (80, 90, 75), 0 when unknown. */
static int module_code_arch(void)
{
    cudaFuncAttributes fa;
    if (cudaFuncGetAttributes(&fa, code_probe_kernel) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return fa.ptxVersion;
}

static glow_status cuda_open(int device, glow_backend **out)
{
    *out = NULL;
    int count = 0;
    GLOW_TRY(device_count(&count));
    if (device >= count)
        return cu_error(GLOW_ERR_INVALID_ARG, "device %d does not exist (%d CUDA device%s)", device, count,
                        count == 1 ? "" : "s");
    if (device < 0)
        device = preferred_device(count);
    cudaError_t e = cudaSetDevice(device);
    if (e != cudaSuccess)
        return cuda_failed("cudaSetDevice", e);
    glow_backend *be = (glow_backend *)calloc(1, sizeof *be);
    cuda_state *st = (cuda_state *)calloc(1, sizeof *st);
    if (be == NULL || st == NULL) {
        free(be);
        free(st);
        return cu_error(GLOW_ERR_OUT_OF_MEMORY, "out of host memory opening the backend");
    }
    st->device = device;
    int cc_major = 0, cc_minor = 0;
    e = cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&st->sm_count, cudaDevAttrMultiProcessorCount, device);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&cc_major, cudaDevAttrComputeCapabilityMajor, device);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&cc_minor, cudaDevAttrComputeCapabilityMinor, device);
    if (e == cudaSuccess)
        e = open_step(st);
    glow_status gs = e == cudaSuccess ? fill_device_info(device, &be->info) : cuda_failed("opening the device", e);
    if (gs != GLOW_OK) {
        if (st->step.pinned)
            cudaFreeHost(st->step.pinned);
        if (st->step.device)
            cudaFree(st->step.device);
        if (st->step.launched)
            cudaEventDestroy(st->step.launched);
        if (st->stream)
            cudaStreamDestroy(st->stream);
        free(st);
        free(be);
        return gs;
    }
    const glow_precision asked = g_host->precision();
    const int code_arch = module_code_arch();
    st->tf32 = cu_use_tf32(cc_major, cc_minor, code_arch, asked);
    cu_precision_text(cc_major, cc_minor, code_arch, asked, be->info.precision, sizeof be->info.precision);
    be->ops = &cuda_ops;
    be->impl = st;
    be->step = &cuda_step_hooks;
    *out = be;
    return GLOW_OK;
}

extern "C" __attribute__((visibility("default"))) glow_status glow_cuda_module_init(const glow_cuda_host_api *host,
                                                                                      glow_cuda_module_api *out)
{
    if (host == NULL || host->error == NULL)
        return GLOW_ERR_UNAVAILABLE;
    g_host = host;
    if (host->abi != GLOW_CUDA_MODULE_ABI || host->backend_size != sizeof(glow_backend) ||
        host->ops_size != sizeof(glow_backend_ops) || host->info_size != sizeof(glow_device_info))
        return cu_error(GLOW_ERR_UNAVAILABLE,
                        "module built for another glow-vk interface (ABI %u, sizes %u/%u/%u; this module: %u, "
                        "%zu/%zu/%zu): rebuild it with this program",
                        host->abi, host->backend_size, host->ops_size, host->info_size, GLOW_CUDA_MODULE_ABI,
                        sizeof(glow_backend), sizeof(glow_backend_ops), sizeof(glow_device_info));
    if (host->precision == NULL)
        return cu_error(GLOW_ERR_UNAVAILABLE, "the host gave the module no precision setting");
    out->list_devices = cuda_list_devices;
    out->open = cuda_open;
    out->counts = cuda_counts;
    return GLOW_OK;
}
