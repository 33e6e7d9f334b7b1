/* Plain-text tables for `glow-vk bench` (the JSON holds the same figures). */
#include "bench_print.h"

#include <stdio.h>
#include <string.h>

void bench_print_header(const bench_record *r)
{
    const glow_device_info *d = &r->info;
    printf("\n== %s [%d] %s (%s; %s; API %s)\n", d->backend, r->device_index, d->name, d->vendor, d->driver,
           d->api_version);
    /* The GEMM path and precision in use, where the backend reports one ("gemm kernels: ..."). */
    const char *gemm = strstr(d->details, "gemm kernels:");
    if (gemm)
        printf("%.*s\n", (int)strcspn(gemm, "\n"), gemm);
    printf("config %s: %dx%dx%d, L=%d K=%d F=%d, n_bits %d, batch %d, %zu parameters; reps %d, warm-up %d;"
           " threads %d\n",
           r->config_name, r->cfg.in_c, r->cfg.in_h, r->cfg.in_w, r->cfg.levels, r->cfg.steps, r->cfg.hidden,
           r->cfg.n_bits, r->batch, r->param_count, r->reps, r->warmup, r->threads);
    printf("precision: %s asked; the backend uses %s\n", glow_precision_name(r->precision),
           d->precision[0] ? d->precision : "fp32");
    printf("FLOPs per training step (convolutions): %.6g GFLOP = forward %.6g + backward %.6g"
           " (reversible mode recomputes another %.6g)\n",
           r->flops.step * 1e-9, r->flops.forward * 1e-9, r->flops.backward * 1e-9,
           r->flops.reversible_recompute * 1e-9);
}

void bench_print_peak(const bench_peak *p)
{
    printf("fp32 peak of this machine: %.2f GFLOP/s (%s FMA loop, %d chains, %d thread%s; best of %d trials",
           p->gflops, p->isa, BENCH_PEAK_CHAINS, p->threads, p->threads == 1 ? "" : "s", p->trials);
    for (int i = 0; i < p->variant_count; i++)
        printf("; %s %.2f", p->variants[i].isa, p->variants[i].gflops);
    printf(")\n");
}

void bench_print_gemm(const bench_record *r)
{
    printf("\nGEMM ceiling probe (the project's conv kernels at the model's shapes):\n");
    printf("  %-14s %-5s %-11s %-16s %9s %7s %9s %10s %9s\n", "conv", "k", "Ci->Co", "kernel", "M", "N", "K", "ms",
           "GFLOP/s");
    for (int i = 0; i < r->gemm_count; i++) {
        const bench_gemm_entry *e = &r->gemm[i];
        char ch[24];
        snprintf(ch, sizeof ch, "%d->%d", e->ci, e->co);
        printf("  %-14s %dx%-3d %-11s %-16s %9.0f %7.0f %9.0f %10.3f %9.2f\n", e->name, e->k, e->k, ch,
               bench_conv_kernel_name(e->kernel), e->m, e->n, e->kdim, e->seconds * 1e3, bench_gemm_gflops(e));
    }
    if (r->ceiling_index >= 0)
        printf("  ceiling: %.2f GFLOP/s (%s %s)\n", r->ceiling_gflops, r->gemm[r->ceiling_index].name,
               bench_conv_kernel_name(r->gemm[r->ceiling_index].kernel));
}

static void print_rate(double work, double seconds, const char *unit)
{
    if (unit[0] == '\0' || seconds <= 0)
        printf(" %16s", "-");
    else
        printf(" %8.2f %-7s", work / seconds * 1e-9, unit);
}

void bench_print_ops(const bench_record *r)
{
    printf("\nper-op times at level 0 (convolution backward = data + weight gradients):\n");
    printf("  %-14s %-24s %10s %10s %16s %16s\n", "op", "shape", "fwd ms", "bwd ms", "fwd rate", "bwd rate");
    for (int i = 0; i < r->op_count; i++) {
        const bench_op_entry *e = &r->ops[i];
        printf("  %-14s %-24s %10.3f", e->name, e->shape, e->fwd_s * 1e3);
        if (e->bwd_s >= 0)
            printf(" %10.3f", e->bwd_s * 1e3);
        else
            printf(" %10s", "-");
        print_rate(e->fwd_work, e->fwd_s, e->unit);
        if (e->bwd_s >= 0)
            print_rate(e->bwd_work, e->bwd_s, e->unit);
        printf("\n");
    }
}

void bench_print_train(const bench_record *r)
{
    printf("\ntraining step (glow_model_train_step, batch %d):\n", r->batch);
    printf("  %-10s %10s %10s %9s %12s %12s %10s %8s %11s %9s\n", "memory", "step ms", "images/s", "GFLOP/s",
           "of ceiling", "of fp32 peak", "peak MiB", "bpd", "dispatches", "barriers");
    for (int i = 0; i < r->train_count; i++) {
        const bench_train_entry *e = &r->train[i];
        char ceiling[16] = "-", peak[16] = "-";
        if (r->ceiling_gflops > 0)
            snprintf(ceiling, sizeof ceiling, "%.1f%%", 100.0 * e->ceiling_fraction);
        if (e->peak_fraction >= 0)
            snprintf(peak, sizeof peak, "%.1f%%", 100.0 * e->peak_fraction);
        char dispatches[24] = "-", barriers[24] = "-"; /* per step; counted on Vulkan */
        if (e->dispatches >= 0)
            snprintf(dispatches, sizeof dispatches, "%lld", e->dispatches);
        if (e->barriers >= 0)
            snprintf(barriers, sizeof barriers, "%lld", e->barriers);
        printf("  %-10s %10.2f %10.2f %9.2f %12s %12s %10.1f %8.3f %11s %9s\n",
               e->memory == GLOW_MEMORY_STORE ? "store" : "reversible", e->step_s * 1e3, e->images_per_s, e->gflops,
               ceiling, peak, (double)e->peak_bytes / (1024.0 * 1024.0), e->bpd, dispatches, barriers);
    }
    for (int i = 0; i < r->train_count; i++) {
        const bench_train_entry *e = &r->train[i];
        if (e->cuda_launches >= 0)
            printf("  %-10s CUDA launches in the last step: %.0f (kernels run: %.0f)\n",
                   e->memory == GLOW_MEMORY_STORE ? "store" : "reversible", e->cuda_launches, e->cuda_kernels);
    }
    if (r->train_count > 0 && r->ceiling_gflops > 0 && r->peak.gflops > 0 && bench_peak_applies(r))
        printf("  GEMM ceiling %.2f GFLOP/s = %.1f%% of the fp32 peak %.2f GFLOP/s\n", r->ceiling_gflops,
               100.0 * r->ceiling_gflops / r->peak.gflops, r->peak.gflops);
}

void bench_print_sample(const bench_record *r)
{
    if (r->sample_s > 0)
        printf("\nsampling (batch %d, T = 0.7): %.2f ms per batch, %.2f images/s\n", r->sample_batch,
               r->sample_s * 1e3, r->sample_images_per_s);
}
