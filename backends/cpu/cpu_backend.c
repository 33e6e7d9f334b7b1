/* Fast CPU backend: device info, host memory and per-worker scratch, the op
 * table and the factory (glow_cpu_factory, one device: this machine's CPU).
 *
 * Threads: glow_set_cpu_threads(n) (the CLI's --threads), else $GLOW_THREADS,
 * else every online core. Memory: host buffers of src/engine/host_backend.c, as
 * the reference; scratch and temporaries are counted in the same figures. */
#include "cpu_internal.h"
#include "registry_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

enum { CPU_MAX_THREADS = 1024 };

/* glibc's malloc hands blocks of 128 KiB and more to mmap and gives the top of
 * the heap back to the system when more than that is free, so the temporaries
 * of a step (oneDNN's SGEMM packing buffers, partial sums) came back as fresh
 * zero pages on every call: about 15000 page faults, a third of the CPU time of
 * a training step of the report model (1x32x32 L3 K16 F512 b16: 2.44 s of CPU
 * per step before, 1.50 s after, perf stat -e page-faults,task-clock). Blocks
 * up to 32 MiB (glibc's largest mmap threshold) now come from the heap, and
 * up to 256 MiB of free heap is kept; the peak RSS does not change (a
 * process's peak is the live set). Process-wide, set once when the backend
 * opens; not under ASan, whose allocator ignores it anyway. */
static void keep_freed_memory(void)
{
#ifdef __GLIBC__
    (void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
    (void)mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

/* ---- shared helpers ------------------------------------------------------------ */

void cpu_channel_exp(glow_tensor logs, float factor, float *scale)
{
    size_t c = glow_tensor_count(logs);
    const float *l = cpu_data(logs);
    for (size_t i = 0; i < c; i++)
        scale[i] = expf(factor * l[i]);
}

float *cpu_alloc_floats(cpu_state *st, size_t n, const char *op)
{
    size_t bytes = (n > 0 ? n : 1) * sizeof(float);
    bytes = (bytes + GLOW_HOST_ALIGN - 1) / GLOW_HOST_ALIGN * GLOW_HOST_ALIGN;
    float *p = aligned_alloc(GLOW_HOST_ALIGN, bytes);
    if (p == NULL) {
        glow_error(GLOW_ERR_OUT_OF_MEMORY, "cpu %s: no host memory for %zu floats", op, n);
        return NULL;
    }
    glow_host_memory_add(&st->mem, bytes);
    return p;
}

void cpu_free_floats(cpu_state *st, float *p, size_t n)
{
    if (p == NULL)
        return;
    size_t bytes = (n > 0 ? n : 1) * sizeof(float);
    glow_host_memory_sub(&st->mem, (bytes + GLOW_HOST_ALIGN - 1) / GLOW_HOST_ALIGN * GLOW_HOST_ALIGN);
    free(p);
}

glow_status cpu_scratch(cpu_state *st, size_t floats, const char *op)
{
    for (int w = 0; w < st->threads; w++) {
        if (st->scratch_floats[w] >= floats)
            continue;
        float *p = cpu_alloc_floats(st, floats, op);
        if (p == NULL)
            return glow_error_context(GLOW_ERR_OUT_OF_MEMORY, "scratch of worker %d", w);
        cpu_free_floats(st, st->scratch[w], st->scratch_floats[w]);
        st->scratch[w] = p;
        st->scratch_floats[w] = floats;
    }
    return GLOW_OK;
}

/* ---- thread count ------------------------------------------------------------------ */

/* The requested thread count, or an error naming the bad setting. */
static glow_status thread_count(int *threads)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n = glow_cpu_threads_setting();
    if (n <= 0) {
        const char *s = getenv("GLOW_THREADS");
        if (s != NULL && *s != '\0') {
            char *end = NULL;
            errno = 0;
            long v = strtol(s, &end, 10);
            if (errno != 0 || end == s || *end != '\0' || v < 1 || v > CPU_MAX_THREADS)
                return glow_error(GLOW_ERR_INVALID_ARG, "cpu: GLOW_THREADS='%s' is not a thread count in 1..%d", s,
                                  CPU_MAX_THREADS);
            n = (int)v;
        }
    }
    if (n <= 0)
        n = cores > 0 ? (int)(cores < CPU_MAX_THREADS ? cores : CPU_MAX_THREADS) : 1;
    *threads = n;
    return GLOW_OK;
}

/* ---- device info --------------------------------------------------------------------- */

/* The widest float SIMD this CPU runs, as the kernels of this backend use it. */
static const char *simd_width(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return "AVX-512 (16 floats; the kernels use 8-float AVX2+FMA)";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "AVX2+FMA (8 floats)";
    if (__builtin_cpu_supports("avx"))
        return "AVX (8 floats, no FMA; kernels use the SSE2 path)";
    return "SSE2 (4 floats)";
#else
    return "compiler default";
#endif
}

static void fill_device_info(glow_device_info *info, int threads)
{
    glow_host_cpu_info(info, "cpu");
    snprintf(info->driver, sizeof info->driver, "glow-vk fast CPU backend");
    snprintf(info->api_version, sizeof info->api_version, "C11 + pthreads");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(info->details, sizeof info->details,
             "threads: %d (online cores: %ld; --threads N or GLOW_THREADS)\n"
             "SIMD: %s\n"
             "GEMM library: %s (single-threaded inside the backend's pool)",
             threads, cores, simd_width(), cpu_gemm_library());
}

/* ---- memory ------------------------------------------------------------------------------ */

glow_status cpu_buffer_alloc(glow_backend *be, size_t bytes, void **impl)
{
    return glow_host_buffer_alloc(&cpu_st(be)->mem, bytes, impl, "cpu");
}

void cpu_buffer_free(glow_backend *be, void *impl)
{
    glow_host_buffer_free(&cpu_st(be)->mem, impl);
}

glow_status cpu_upload(glow_backend *be, glow_buffer *dst, size_t dst_byte_off, const void *src, size_t bytes)
{
    (void)be;
    memcpy((unsigned char *)dst->impl + dst_byte_off, src, bytes);
    return GLOW_OK;
}

glow_status cpu_download(glow_backend *be, const glow_buffer *src, size_t src_byte_off, void *dst,
                                size_t bytes)
{
    (void)be;
    memcpy(dst, (const unsigned char *)src->impl + src_byte_off, bytes);
    return GLOW_OK;
}

/* Ops run to completion before they return, so there is nothing to wait for. */
glow_status cpu_sync(glow_backend *be)
{
    (void)be;
    return GLOW_OK;
}

void cpu_memory_usage(glow_backend *be, size_t *current, size_t *peak)
{
    const cpu_state *st = be->impl;
    if (current)
        *current = st->mem.current_bytes;
    if (peak)
        *peak = st->mem.peak_bytes;
}

static void cpu_state_free(cpu_state *st)
{
    if (st == NULL)
        return;
    cpu_pool_destroy(st->pool);
    if (st->scratch)
        for (int w = 0; w < st->threads; w++)
            free(st->scratch[w]);
    free(st->scratch);
    free(st->scratch_floats);
    free(st);
}

void cpu_destroy(glow_backend *be)
{
    cpu_state_free(be->impl);
    free(be);
}

/* ---- op table and factory ------------------------------------------------------------------ */

static const glow_backend_ops cpu_ops = {
#define GLOW_OP(name, ret, params) .name = cpu_##name,
#include "glow/ops.def"
};

static glow_status cpu_list_devices(glow_device_info *out, int max, int *count)
{
    int threads = 1;
    GLOW_TRY(thread_count(&threads));
    *count = 1;
    if (max >= 1 && out != NULL)
        fill_device_info(&out[0], threads);
    return GLOW_OK;
}

static glow_status cpu_open(int device, glow_backend **out)
{
    *out = NULL;
    if (device > 0)
        return glow_error(GLOW_ERR_INVALID_ARG, "cpu: device %d does not exist (the CPU backend has device 0 only)",
                          device);
    int threads = 1;
    GLOW_TRY(thread_count(&threads));
    cpu_gemm_single_threaded();
    keep_freed_memory();
    glow_backend *be = calloc(1, sizeof *be);
    cpu_state *st = calloc(1, sizeof *st);
    if (be == NULL || st == NULL) {
        free(be);
        free(st);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "cpu: out of host memory opening the backend");
    }
    st->threads = threads;
    st->scratch = calloc((size_t)threads, sizeof *st->scratch);
    st->scratch_floats = calloc((size_t)threads, sizeof *st->scratch_floats);
    glow_status rc = (st->scratch && st->scratch_floats)
                         ? cpu_pool_create(threads, &st->pool)
                         : glow_error(GLOW_ERR_OUT_OF_MEMORY, "cpu: out of host memory opening the backend");
    if (rc != GLOW_OK) {
        cpu_state_free(st);
        free(be);
        return rc;
    }
    be->ops = &cpu_ops;
    be->impl = st;
    fill_device_info(&be->info, threads);
    *out = be;
    return GLOW_OK;
}

const glow_backend_factory glow_cpu_factory = {"cpu", cpu_list_devices, cpu_open};
