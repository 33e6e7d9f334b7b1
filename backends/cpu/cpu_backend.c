/* Fast CPU backend: device info, host memory and per-worker scratch, the op
 * table and the factory (glow_cpu_factory, one device: this machine's CPU).
 *
 * Threads: glow_set_cpu_threads(n) (the CLI's --threads), else $GLOW_THREADS,
 * else every online core. Memory: as the reference, each buffer is one
 * aligned_alloc of CPU_HEADER + bytes (rounded up to 64) whose header keeps the
 * requested byte count for exact current/peak figures; scratch and temporaries
 * are counted too. */
#include "cpu_internal.h"
#include "registry_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CPU_ALIGN = 64, CPU_HEADER = 64, CPU_MAX_THREADS = 1024 };

/* ---- shared helpers ------------------------------------------------------------ */

void cpu_channel_exp(glow_tensor logs, float factor, float *scale)
{
    size_t c = glow_tensor_count(logs);
    const float *l = cpu_data(logs);
    for (size_t i = 0; i < c; i++)
        scale[i] = expf(factor * l[i]);
}

static void count_alloc(cpu_state *st, size_t bytes)
{
    st->current_bytes += bytes;
    if (st->current_bytes > st->peak_bytes)
        st->peak_bytes = st->current_bytes;
}

float *cpu_alloc_floats(cpu_state *st, size_t n, const char *op)
{
    size_t bytes = (n > 0 ? n : 1) * sizeof(float);
    bytes = (bytes + CPU_ALIGN - 1) / CPU_ALIGN * CPU_ALIGN;
    float *p = aligned_alloc(CPU_ALIGN, bytes);
    if (p == NULL) {
        glow_error(GLOW_ERR_OUT_OF_MEMORY, "cpu %s: no host memory for %zu floats", op, n);
        return NULL;
    }
    count_alloc(st, bytes);
    return p;
}

void cpu_free_floats(cpu_state *st, float *p, size_t n)
{
    if (p == NULL)
        return;
    size_t bytes = (n > 0 ? n : 1) * sizeof(float);
    st->current_bytes -= (bytes + CPU_ALIGN - 1) / CPU_ALIGN * CPU_ALIGN;
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

/* Copies the value of the first "key<spaces>: value" line of /proc/cpuinfo into
 * out (trailing newline removed); leaves out unchanged when absent. */
static void cpuinfo_field(const char *key, char *out, size_t out_size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[512];
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) != 0)
            continue;
        char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        v[strcspn(v, "\n")] = '\0';
        if (*v != '\0')
            snprintf(out, out_size, "%s", v);
        break;
    }
    fclose(f);
}

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
    memset(info, 0, sizeof *info);
    snprintf(info->backend, sizeof info->backend, "cpu");
    snprintf(info->name, sizeof info->name, "generic CPU");
    snprintf(info->vendor, sizeof info->vendor, "unknown");
    cpuinfo_field("model name", info->name, sizeof info->name);
    cpuinfo_field("vendor_id", info->vendor, sizeof info->vendor);
    snprintf(info->driver, sizeof info->driver, "glow-vk fast CPU backend");
    snprintf(info->api_version, sizeof info->api_version, "C11 + pthreads");
    info->type = GLOW_DEVICE_CPU;
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    info->memory_bytes = (pages > 0 && page_size > 0) ? (uint64_t)pages * (uint64_t)page_size : 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(info->details, sizeof info->details,
             "threads: %d (online cores: %ld; --threads N or GLOW_THREADS)\n"
             "SIMD: %s\n"
             "GEMM library: %s (single-threaded inside the backend's pool)",
             threads, cores, simd_width(), cpu_gemm_library());
}

/* ---- memory ------------------------------------------------------------------------------ */

static glow_status cpu_buffer_alloc(glow_backend *be, size_t bytes, void **impl)
{
    cpu_state *st = be->impl;
    size_t data = (bytes + CPU_ALIGN - 1) / CPU_ALIGN * CPU_ALIGN;
    if (data < bytes || data > SIZE_MAX - CPU_HEADER)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "cpu buffer_alloc: %zu bytes is too large", bytes);
    unsigned char *base = aligned_alloc(CPU_ALIGN, CPU_HEADER + data);
    if (base == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "cpu buffer_alloc: out of host memory for %zu bytes", bytes);
    memcpy(base, &bytes, sizeof bytes); /* counted as requested, as the other backends count */
    count_alloc(st, bytes);
    *impl = base + CPU_HEADER;
    return GLOW_OK;
}

static void cpu_buffer_free(glow_backend *be, void *impl)
{
    if (impl == NULL)
        return;
    cpu_state *st = be->impl;
    unsigned char *base = (unsigned char *)impl - CPU_HEADER;
    size_t bytes;
    memcpy(&bytes, base, sizeof bytes);
    st->current_bytes -= bytes;
    free(base);
}

static glow_status cpu_upload(glow_backend *be, glow_buffer *dst, size_t dst_byte_off, const void *src, size_t bytes)
{
    (void)be;
    memcpy((unsigned char *)dst->impl + dst_byte_off, src, bytes);
    return GLOW_OK;
}

static glow_status cpu_download(glow_backend *be, const glow_buffer *src, size_t src_byte_off, void *dst,
                                size_t bytes)
{
    (void)be;
    memcpy(dst, (const unsigned char *)src->impl + src_byte_off, bytes);
    return GLOW_OK;
}

/* Ops run to completion before they return, so there is nothing to wait for. */
static glow_status cpu_sync(glow_backend *be)
{
    (void)be;
    return GLOW_OK;
}

static void cpu_memory_usage(glow_backend *be, size_t *current, size_t *peak)
{
    const cpu_state *st = be->impl;
    if (current)
        *current = st->current_bytes;
    if (peak)
        *peak = st->peak_bytes;
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

static void cpu_destroy(glow_backend *be)
{
    cpu_state_free(be->impl);
    free(be);
}

/* ---- op table and factory ------------------------------------------------------------------ */

static const glow_backend_ops cpu_ops = {
    .destroy = cpu_destroy,
    .buffer_alloc = cpu_buffer_alloc,
    .buffer_free = cpu_buffer_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .sync = cpu_sync,
    .memory_usage = cpu_memory_usage,
    .fill = cpu_fill,
    .copy_channels = cpu_copy_channels,
    .squeeze = cpu_squeeze,
    .unsqueeze = cpu_unsqueeze,
    .relu_backward = cpu_relu_backward,
    .add_scalar = cpu_add_scalar,
    .logdet_sum = cpu_logdet_sum,
    .actnorm_forward = cpu_actnorm_forward,
    .actnorm_inverse = cpu_actnorm_inverse,
    .actnorm_backward = cpu_actnorm_backward,
    .actnorm_init = cpu_actnorm_init,
    .lu_weight = cpu_lu_weight,
    .lu_weight_backward = cpu_lu_weight_backward,
    .conv2d_forward = cpu_conv2d_forward,
    .conv2d_backward_data = cpu_conv2d_backward_data,
    .conv2d_backward_weight = cpu_conv2d_backward_weight,
    .channel_scale_forward = cpu_channel_scale_forward,
    .channel_scale_backward = cpu_channel_scale_backward,
    .coupling_forward = cpu_coupling_forward,
    .coupling_inverse = cpu_coupling_inverse,
    .coupling_backward = cpu_coupling_backward,
    .gaussian_logp = cpu_gaussian_logp,
    .gaussian_logp_backward = cpu_gaussian_logp_backward,
    .gaussian_sample = cpu_gaussian_sample,
    .rng_uniform = cpu_rng_uniform,
    .rng_normal = cpu_rng_normal,
    .dequantize = cpu_dequantize,
    .sum_squares = cpu_sum_squares,
    .optimizer_step = cpu_optimizer_step,
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
