/* JSON output of `glow-vk bench`: one file holds
 *   {"format": "glow-vk-bench", "version": 1, "records": [RECORD, ...]}
 * with one RECORD per device benchmarked:
 *   device:  backend, index, name, vendor, driver, api_version, type, memory_bytes
 *   config:  name, in_c, in_h, in_w, levels, steps, hidden, n_bits, batch; reps, warmup, threads,
 *            precision ("fp32"|"tf32", asked), backend_precision (what the backend uses, e.g.
 *            "tf32 (tensor cores)")
 *   fp32_peak: {gflops, isa, threads, chains, trials, variants: [{isa, gflops}]} or null (bench_peak.h)
 *   flops_per_step: forward, backward, step, reversible_recompute (glow/model_flops.h)
 *   gemm_ceiling: gflops, name, kernel;  gemm_probe: [{name, kernel, level, k, ci, co, m, n, k_dim,
 *                                                     flops, ms, gflops}]
 *   ops:     [{name, shape, unit, forward_ms, backward_ms|null, forward_rate, backward_rate|null}]
 *   train:   [{memory, step_ms, images_per_s, gflops, ceiling_fraction|null, peak_fraction|null,
 *             peak_memory_bytes, cuda_launches|null, cuda_kernels|null, bpd}]
 *            (peak_fraction: of fp32_peak, for devices of type CPU only; cuda_*: the last timed
 *            step's launches (kernels one by one + CUDA graph launches) and kernels run, CUDA only)
 *   sample:  {batch, ms, images_per_s} or null;  error: "" or the first failure
 * Times in milliseconds; rates in the op's unit (GFLOP/s or GB/s), 6 significant digits; counts
 * (FLOPs, bytes, parameters) exact. Non-finite numbers are null.
 * tools/bench-report merges such files into markdown tables. */
#ifndef GLOW_APP_BENCH_JSON_H
#define GLOW_APP_BENCH_JSON_H

#include <stdio.h>

#include "bench_result.h"

/* Writes the whole file (records[0..count)) to `path`; GLOW_ERR_IO naming the path on failure. */
glow_status bench_write_json(const char *path, const bench_record *records, int count);

#endif
