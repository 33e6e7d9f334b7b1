/* Whole-model benchmarks of `glow-vk bench`. Each opens its own backend on the device (so the
 * backend's peak memory covers exactly this measurement), builds a model from rec->cfg with
 * seed 1, and times glow_model_train_step or glow_model_sample (wall clock; both return only
 * after the device finished, since they read results back). */
#ifndef GLOW_APP_BENCH_MODEL_H
#define GLOW_APP_BENCH_MODEL_H

#include "bench_result.h"

/* The number of trainable parameters (and the optimiser arena size) of rec->cfg, from a model
 * built on `be` with max_batch 1. */
glow_status bench_param_count(glow_backend *be, bench_record *rec);

/* Training steps on random pixels at rec->batch in `memory` mode: rec->warmup steps untimed
 * (the first step also runs the data-dependent actnorm init; with warmup 0 it is timed),
 * then rec->reps timed.
 * Appends to rec->train; the fractions use rec->ceiling_gflops and rec->peak (0 / -1 when unknown). */
glow_status bench_train(const glow_backend_factory *factory, bench_record *rec, glow_memory_mode memory);

/* Sampling at temperature 0.7 in batches of rec->sample_batch: images/s of the median batch. */
glow_status bench_sample(const glow_backend_factory *factory, bench_record *rec);

#endif
