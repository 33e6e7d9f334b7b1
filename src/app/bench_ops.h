/* Kernel-level benchmarks of `glow-vk bench` on one open backend:
 *  - the GEMM ceiling probe: every conv kernel (forward, backward data, backward weight) at every
 *    convolution shape the model uses, at every level; the ceiling is the best GFLOP/s reached;
 *  - the per-op table: each op of a flow step, its prior and the optimiser at level 0's shape
 *    (the largest), forward and backward times with GFLOP/s or GB/s.
 * Inputs are random normal (weights, activations) or constants chosen so repeated calls stay
 * finite (log-scales 0, LU off-diagonals 0.01); values do not change the work done. */
#ifndef GLOW_APP_BENCH_OPS_H
#define GLOW_APP_BENCH_OPS_H

#include "bench_result.h"

/* Fills rec->gemm, rec->ceiling_gflops and rec->ceiling_index. */
glow_status bench_gemm_probe(glow_backend *be, bench_record *rec);

/* Fills rec->ops; the convolution rows reuse the level-0 probe entries, so run the probe first. */
glow_status bench_op_table(glow_backend *be, bench_record *rec);

#endif
