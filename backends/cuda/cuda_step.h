/* Step graphs of the CUDA backend: state, and the per-op hooks used by the op
 * entries (cuda_host.h). Implementation: cuda_graph.cu.
 *
 * The model brackets a training step with glow_step_begin(key) .. glow_step_end
 * (glow/backend.h). Per key (the model's name for an op sequence):
 *   1st sighting: EAGER_IN_STEP, every op launched as it comes; the scratch
 *      region grows to what the step needs (so nothing is allocated later);
 *   2nd: CAPTURE, the stream is captured (cudaStreamBeginCapture, thread-local
 *      mode) from a copy of the dynamic-argument slots (pinned host -> device,
 *      the graph's first node) to the last op; every op's signature (cu_step_sig:
 *      the op, its device pointers, shapes and static values) is stored; at end
 *      the graph is instantiated and launched (the step's first execution);
 *   3rd on: REPLAY, no op launches anything: each op's signature is checked
 *      against the stored one and its dynamic arguments are written to the
 *      pinned slots; at end one cudaGraphLaunch runs the step.
 * Dynamic arguments, the only values that change from step to step, are read by
 * the kernels from device slots when they run in a graph: a glow_rng (the
 * dequantisation noise's counter) as a cu_philox_key, and the optimiser's
 * learning rate and bias corrections (cu_adam_dyn). Eager kernels get them by value.
 * Failures fall back cleanly: a capture that fails (an op errs under capture,
 * e.g. it would have to grow the scratch) or a replay whose signature differs
 * leaves nothing run; glow_step_end answers rerun = 1 and the model records the
 * step again, eagerly. A key whose capture failed stays eager; one whose replay
 * failed twice too. Freeing a buffer or growing the scratch drops every graph
 * (their device pointers may be stale). */
#ifndef GLOW_CUDA_STEP_H
#define GLOW_CUDA_STEP_H

#include <cuda_runtime.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "glow/backend.h"
#include "glow/cuda.h"
}

enum cu_step_mode { CU_STEP_OFF = 0, CU_STEP_EAGER_IN_STEP = 1, CU_STEP_CAPTURE = 2, CU_STEP_REPLAY = 3 };
enum { CU_STEP_SLOTS = 32, CU_STEP_GRAPHS = 4 };

/* One dynamic argument on the device: a cu_philox_key (5 words) or a cu_adam_dyn (3 floats). */
struct cu_dyn_slot {
    uint32_t words[8];
};

/* The optimiser step's per-step values: lr_t and 1 - beta^t (computed in double on the host). */
struct cu_adam_dyn {
    float lr, bc1, bc2;
};

/* The same values for an eager launch and a graph slot, so that both run the same arithmetic. */
static inline cu_adam_dyn cu_adam_dyn_of(const glow_adam_params *hp)
{
    cu_adam_dyn d;
    d.lr = hp->lr;
    d.bc1 = (float)(1.0 - pow((double)hp->beta1, (double)hp->step));
    d.bc2 = (float)(1.0 - pow((double)hp->beta2, (double)hp->step));
    return d;
}

struct cu_step_graph {
    uint64_t key;
    int sightings;       /* bracketed steps seen with this key */
    int failures;        /* failed captures or replays */
    int eager_only;      /* no more capture attempts */
    cudaGraphExec_t exec; /* NULL until captured */
    uint64_t *sig;       /* one signature per op, `ops` of them */
    size_t ops, sig_cap;
    int slots;           /* dynamic slots used */
    uint64_t kernels;    /* kernels inside the graph */
    uint64_t last_use;
};

struct cu_step {
    int graphs_enabled;  /* $GLOW_CUDA_GRAPH != "0" at open */
    int mode;            /* cu_step_mode */
    cu_step_graph graphs[CU_STEP_GRAPHS];
    cu_step_graph *cur;  /* the bracketed step's entry */
    size_t op_index;
    int slot_index;
    int broken;          /* capture or replay failed: skip the rest, rerun at end */
    uint64_t kernels_captured;
    uint64_t use_clock;
    cu_dyn_slot *pinned; /* CU_STEP_SLOTS, page-locked host memory */
    cu_dyn_slot *device; /* CU_STEP_SLOTS on the device */
    cudaEvent_t launched; /* recorded after each graph launch: the pinned slots are free after it */
    const void *rng_slot, *adam_slot; /* the running op's device slots under capture, else NULL */
    glow_cuda_counts counts;
};

/* Signature arithmetic (FNV-1a over 64-bit words). */
static inline uint64_t cu_sig_word(uint64_t h, uint64_t w)
{
    for (int i = 0; i < 8; i++) {
        h ^= (w >> (8 * i)) & 0xffu;
        h *= 0x100000001b3ull;
    }
    return h;
}

#endif
