/* JSON writer for bench records (layout in bench_json.h). */
#include "bench_json.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

/* Counts (FLOPs: integers far beyond 6 digits) exactly: %.17g prints every double that holds an
 * integer below 2^53 digit for digit. */
static void json_count(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.17g", v);
    else
        fputs("null", f);
}

static void key(FILE *f, const char *name)
{
    json_string(f, name);
    fputs(": ", f);
}

static void kv_string(FILE *f, const char *name, const char *value, int last)
{
    key(f, name);
    json_string(f, value);
    fputs(last ? "" : ", ", f);
}

static void kv_number(FILE *f, const char *name, double value, int last)
{
    key(f, name);
    json_number(f, value);
    fputs(last ? "" : ", ", f);
}

static void kv_count(FILE *f, const char *name, double value, int last)
{
    key(f, name);
    json_count(f, value);
    fputs(last ? "" : ", ", f);
}

static double rate(double work, double seconds)
{
    return seconds > 0 ? work / seconds * 1e-9 : NAN;
}

static void write_record(FILE *f, const bench_record *r)
{
    const glow_device_info *d = &r->info;
    fputs("    {\n      \"device\": {", f);
    kv_string(f, "backend", d->backend, 0);
    kv_number(f, "index", r->device_index, 0);
    kv_string(f, "name", d->name, 0);
    kv_string(f, "vendor", d->vendor, 0);
    kv_string(f, "driver", d->driver, 0);
    kv_string(f, "api_version", d->api_version, 0);
    kv_string(f, "type", glow_device_type_name(d->type), 0);
    kv_count(f, "memory_bytes", (double)d->memory_bytes, 1);
    fputs("},\n      \"config\": {", f);
    kv_string(f, "name", r->config_name, 0);
    kv_number(f, "in_c", r->cfg.in_c, 0);
    kv_number(f, "in_h", r->cfg.in_h, 0);
    kv_number(f, "in_w", r->cfg.in_w, 0);
    kv_number(f, "levels", r->cfg.levels, 0);
    kv_number(f, "steps", r->cfg.steps, 0);
    kv_number(f, "hidden", r->cfg.hidden, 0);
    kv_number(f, "n_bits", r->cfg.n_bits, 0);
    kv_number(f, "batch", r->batch, 0);
    kv_count(f, "parameters", (double)r->param_count, 1);
    fputs("},\n      ", f);
    kv_number(f, "reps", r->reps, 0);
    kv_number(f, "warmup", r->warmup, 0);
    kv_number(f, "threads", r->threads, 0);
    kv_string(f, "precision", glow_precision_name(r->precision), 0);
    kv_string(f, "backend_precision", d->precision[0] ? d->precision : "fp32", 0);
    fputs("\n      \"fp32_peak\": ", f);
    if (r->peak.gflops > 0) {
        fputc('{', f);
        kv_number(f, "gflops", r->peak.gflops, 0);
        kv_string(f, "isa", r->peak.isa, 0);
        kv_number(f, "threads", r->peak.threads, 0);
        kv_number(f, "chains", BENCH_PEAK_CHAINS, 0);
        kv_number(f, "trials", r->peak.trials, 0);
        fputs("\"variants\": [", f);
        for (int i = 0; i < r->peak.variant_count; i++) {
            fputs(i ? ", {" : "{", f);
            kv_string(f, "isa", r->peak.variants[i].isa, 0);
            kv_number(f, "gflops", r->peak.variants[i].gflops, 1);
            fputc('}', f);
        }
        fputs("]}", f);
    } else {
        fputs("null", f);
    }
    fputs(",", f);
    fputs("\n      \"flops_per_step\": {", f);
    kv_count(f, "forward", r->flops.forward, 0);
    kv_count(f, "backward", r->flops.backward, 0);
    kv_count(f, "step", r->flops.step, 0);
    kv_count(f, "reversible_recompute", r->flops.reversible_recompute, 1);
    fputs("},\n      \"gemm_ceiling\": ", f);
    if (r->ceiling_index >= 0) {
        const bench_gemm_entry *c = &r->gemm[r->ceiling_index];
        fputc('{', f);
        kv_number(f, "gflops", r->ceiling_gflops, 0);
        kv_string(f, "name", c->name, 0);
        kv_string(f, "kernel", bench_conv_kernel_name(c->kernel), 1);
        fputc('}', f);
    } else {
        fputs("null", f);
    }
    fputs(",\n      \"gemm_probe\": [", f);
    for (int i = 0; i < r->gemm_count; i++) {
        const bench_gemm_entry *e = &r->gemm[i];
        fputs(i ? ",\n        {" : "\n        {", f);
        kv_string(f, "name", e->name, 0);
        kv_string(f, "kernel", bench_conv_kernel_name(e->kernel), 0);
        kv_number(f, "level", e->level, 0);
        kv_number(f, "k", e->k, 0);
        kv_number(f, "ci", e->ci, 0);
        kv_number(f, "co", e->co, 0);
        kv_number(f, "m", e->m, 0);
        kv_number(f, "n", e->n, 0);
        kv_number(f, "k_dim", e->kdim, 0);
        kv_count(f, "flops", e->flops, 0);
        kv_number(f, "ms", e->seconds * 1e3, 0);
        kv_number(f, "gflops", bench_gemm_gflops(e), 1);
        fputc('}', f);
    }
    fputs("],\n      \"ops\": [", f);
    for (int i = 0; i < r->op_count; i++) {
        const bench_op_entry *e = &r->ops[i];
        const int has_rate = e->unit[0] != '\0', has_bwd = e->bwd_s >= 0;
        fputs(i ? ",\n        {" : "\n        {", f);
        kv_string(f, "name", e->name, 0);
        kv_string(f, "shape", e->shape, 0);
        kv_string(f, "unit", e->unit, 0);
        kv_number(f, "forward_ms", e->fwd_s * 1e3, 0);
        kv_number(f, "backward_ms", has_bwd ? e->bwd_s * 1e3 : NAN, 0);
        kv_number(f, "forward_rate", has_rate ? rate(e->fwd_work, e->fwd_s) : NAN, 0);
        kv_number(f, "backward_rate", has_rate && has_bwd ? rate(e->bwd_work, e->bwd_s) : NAN, 1);
        fputc('}', f);
    }
    fputs("],\n      \"train\": [", f);
    for (int i = 0; i < r->train_count; i++) {
        const bench_train_entry *e = &r->train[i];
        fputs(i ? ",\n        {" : "\n        {", f);
        kv_string(f, "memory", e->memory == GLOW_MEMORY_STORE ? "store" : "reversible", 0);
        kv_number(f, "step_ms", e->step_s * 1e3, 0);
        kv_number(f, "images_per_s", e->images_per_s, 0);
        kv_number(f, "gflops", e->gflops, 0);
        kv_number(f, "ceiling_fraction", r->ceiling_gflops > 0 ? e->ceiling_fraction : NAN, 0);
        kv_number(f, "peak_fraction", e->peak_fraction >= 0 ? e->peak_fraction : NAN, 0);
        kv_count(f, "peak_memory_bytes", (double)e->peak_bytes, 0);
        kv_number(f, "cuda_launches", e->cuda_launches >= 0 ? e->cuda_launches : NAN, 0);
        kv_number(f, "cuda_kernels", e->cuda_kernels >= 0 ? e->cuda_kernels : NAN, 0);
        /* per step, Vulkan only (null elsewhere) */
        kv_count(f, "dispatches_per_step", e->dispatches >= 0 ? (double)e->dispatches : NAN, 0);
        kv_count(f, "barriers_per_step", e->barriers >= 0 ? (double)e->barriers : NAN, 0);
        kv_number(f, "bpd", e->bpd, 1);
        fputc('}', f);
    }
    fputs("],\n      \"sample\": ", f);
    if (r->sample_s > 0) {
        fputc('{', f);
        kv_number(f, "batch", r->sample_batch, 0);
        kv_number(f, "ms", r->sample_s * 1e3, 0);
        kv_number(f, "images_per_s", r->sample_images_per_s, 1);
        fputc('}', f);
    } else {
        fputs("null", f);
    }
    fputs(",\n      ", f);
    kv_string(f, "error", r->error, 1);
    fputs("\n    }", f);
}

glow_status bench_write_json(const char *path, const bench_record *records, int count)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return glow_error(GLOW_ERR_IO, "bench: cannot open %s for writing: %s", path, strerror(errno));
    fputs("{\n  \"format\": \"glow-vk-bench\",\n  \"version\": 1,\n  \"records\": [\n", f);
    for (int i = 0; i < count; i++) {
        write_record(f, &records[i]);
        fputs(i + 1 < count ? ",\n" : "\n", f);
    }
    fputs("  ]\n}\n", f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return glow_error(GLOW_ERR_IO, "bench: writing %s failed: %s", path, strerror(errno));
    return GLOW_OK;
}
