/* CUDA-backend figures for benchmarks and tests (the backend itself is the
 * module libglow-cuda.so, opened through glow_backend_open).
 *
 * A training step bracketed by glow_step_begin/glow_step_end (glow/backend.h)
 * runs eagerly the first time its op sequence is seen, is captured into a CUDA
 * graph the second time and replayed from the third on: one graph launch a
 * step. $GLOW_CUDA_GRAPH=0 when the backend is opened turns graphs off (every
 * op launched as it comes), for comparisons. */
#ifndef GLOW_CUDA_H
#define GLOW_CUDA_H

#include <stdint.h>

#include "glow/backend.h"

typedef struct {
    uint64_t kernel_launches;  /* kernels launched one by one (outside graphs) */
    uint64_t graph_launches;   /* cudaGraphLaunch calls (one per captured or replayed step) */
    uint64_t graph_kernels;    /* kernels run inside those graph launches */
    uint64_t captures;         /* steps captured into a graph */
    uint64_t capture_failures; /* captures that failed: the step was recorded again and run eagerly */
    uint64_t replay_failures;  /* replays refused (the op sequence differed): recorded again, eagerly */
    uint64_t eager_steps;      /* bracketed steps that ran eagerly (first sighting, graphs off, fallback) */
} glow_cuda_counts;

/* Fills *out and returns 1 when `be` is a CUDA backend, else returns 0 (out zeroed). */
int glow_cuda_launch_counts(glow_backend *be, glow_cuda_counts *out);

#endif
