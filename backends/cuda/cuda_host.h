/* CUDA backend, host side: the device made current for every backend entry, and
 * runtime failures reported against the call that failed (C++/CUDA; included by
 * the .cu files that need them).
 *
 * cudaSetDevice is per host thread, and the runtime's last error is per thread
 * and survives until read. So, without this, a second backend on another GPU, or
 * a call from another thread, would allocate and launch on whatever device that
 * thread last used, and an error that one call reported (say a failed cudaMalloc
 * answered GLOW_ERR_OUT_OF_MEMORY) would be read again by the next op's launch
 * check and reported against that op. */
#ifndef GLOW_CUDA_HOST_H
#define GLOW_CUDA_HOST_H

#include <string.h>
#include <type_traits>

#include "cuda_internal.h"
#include "cuda_philox.h"

/* GLOW_ERR_OUT_OF_MEMORY for cudaErrorMemoryAllocation, else GLOW_ERR_BACKEND:
 * "cuda <what>: <message> (<name>)". Consumes the thread's last error (it is this one). */
glow_status cu_runtime_failed(const char *what, cudaError_t e);

/* Makes be's device current on the calling thread and drops a stale error left
 * by an earlier runtime call, so that the op's own checks see only its errors. */
glow_status cu_make_current(glow_backend *be);

/* ---- step graphs (cuda_step.h, cuda_graph.cu) ---------------------------------- */

glow_status cu_step_begin(glow_backend *be, uint64_t key);
glow_status cu_step_end(glow_backend *be, int *rerun);
/* Drops every graph (after a buffer is freed or the scratch moved). */
void cu_step_drop_graphs(glow_backend *be);
/* Frees everything of the step graphs (destroy). */
void cu_step_release_all(glow_backend *be);
/* Under CAPTURE: stores the op's signature, returns 1 (run it into the capture).
 * Under REPLAY: checks it against the stored one (a difference breaks the step),
 * returns 0 (the graph will run it). */
int cu_step_op(glow_backend *be, uint64_t sig);
/* A core entry inside a CAPTURE/REPLAY step: breaks the step; GLOW_ERR_BACKEND naming it. */
glow_status cu_step_core_refused(glow_backend *be, const char *entry);

/* Signature words and dynamic slots of one argument of an op (see cuda_step.h). */
struct cu_step_args {
    cu_step *s;
    uint64_t h;
    int ok;
};

static inline cu_dyn_slot *cu_step_take_slot(cu_step_args &a, const void **device_slot)
{
    if (a.s->slot_index >= CU_STEP_SLOTS) {
        a.ok = 0;
        return NULL;
    }
    int i = a.s->slot_index++;
    *device_slot = &a.s->device[i];
    return &a.s->pinned[i];
}

static inline void cu_step_arg(cu_step_args &a, glow_tensor t)
{
    a.h = cu_sig_word(a.h, (uint64_t)(uintptr_t)cu_data_or_null(t));
    a.h = cu_sig_word(a.h, ((uint64_t)(uint32_t)t.n << 32) | (uint32_t)t.h);
    a.h = cu_sig_word(a.h, ((uint64_t)(uint32_t)t.w << 32) | (uint32_t)t.c);
}
static inline void cu_step_arg(cu_step_args &a, const glow_buffer *b)
{
    a.h = cu_sig_word(a.h, (uint64_t)(uintptr_t)(b ? ((const cuda_buffer *)b->impl)->ptr : NULL));
}
static inline void cu_step_arg(cu_step_args &a, int v)
{
    a.h = cu_sig_word(a.h, (uint64_t)(uint32_t)v);
}
static inline void cu_step_arg(cu_step_args &a, size_t v)
{
    a.h = cu_sig_word(a.h, (uint64_t)v);
}
static inline void cu_step_arg(cu_step_args &a, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    a.h = cu_sig_word(a.h, bits);
}
/* Dynamic: the whole draw goes to a slot (the kernel reads its cu_philox_key there). */
static inline void cu_step_arg(cu_step_args &a, glow_rng r)
{
    a.h = cu_sig_word(a.h, 0x726e67u); /* "rng": the position of a dynamic argument */
    cu_dyn_slot *slot = cu_step_take_slot(a, &a.s->rng_slot);
    if (slot) {
        cu_philox_key k = cu_philox_key_of(r);
        static_assert(sizeof k <= sizeof *slot, "a Philox key fits a slot");
        memcpy(slot, &k, sizeof k);
    }
}
/* Static: kind, betas, eps, clipping; dynamic (a slot): lr and the bias corrections of step t. */
static inline void cu_step_arg(cu_step_args &a, const glow_adam_params *hp)
{
    cu_step_arg(a, (int)hp->kind);
    cu_step_arg(a, hp->beta1);
    cu_step_arg(a, hp->beta2);
    cu_step_arg(a, hp->eps);
    cu_step_arg(a, hp->max_grad_norm);
    cu_dyn_slot *slot = cu_step_take_slot(a, &a.s->adam_slot);
    if (slot) {
        cu_adam_dyn d = cu_adam_dyn_of(hp);
        static_assert(sizeof d <= sizeof *slot, "the optimiser's values fit a slot");
        memcpy(slot, &d, sizeof d);
    }
}

/* cu_on_device<F>::entry: op F with be's device made current first, and run
 * through the bracketed step's capture or replay when one is open. The op table
 * (cuda_backend.cu) holds only such entries (CU_ENTRY) and the core ones below. */
template <auto F> struct cu_on_device;

template <class... A, glow_status (*F)(glow_backend *, A...)> struct cu_on_device<F> {
    static glow_status entry(glow_backend *be, A... args)
    {
        GLOW_TRY(cu_make_current(be));
        cu_step *s = &cu_state(be)->step;
        if (s->mode == CU_STEP_OFF || s->mode == CU_STEP_EAGER_IN_STEP)
            return F(be, args...);
        if (s->broken)
            return GLOW_OK; /* the step is recorded again and run eagerly (cu_step_end) */
        cu_step_args a = {s, cu_sig_word(0xcbf29ce484222325ull, (uint64_t)(uintptr_t)F), 1};
        (cu_step_arg(a, args), ...);
        glow_status st = GLOW_OK;
        if (!a.ok)
            s->broken = 1; /* more dynamic arguments than slots */
        else if (cu_step_op(be, a.h)) {
            /* Under capture. An error here (an op that would allocate, a failed launch) is not
             * the caller's: the capture is dropped and the eager rerun reports real ones. */
            if (F(be, args...) != GLOW_OK)
                s->broken = 1;
        }
        s->rng_slot = s->adam_slot = NULL;
        return st;
    }
};

/* cu_core_entry<F>::entry: a core entry (memory, transfers, sync) with the device
 * made current; refused inside a captured or replayed step. */
template <auto F> struct cu_core_entry;

template <class R, class... A, R (*F)(glow_backend *, A...)> struct cu_core_entry<F> {
    static R entry(glow_backend *be, A... args)
    {
        glow_status st = cu_make_current(be);
        const int in_graph_step = cu_state(be)->step.mode >= CU_STEP_CAPTURE;
        if constexpr (std::is_void_v<R>) {
            /* no status to return (buffer_free): F still runs, to free its host bookkeeping */
            (void)st;
            if (in_graph_step)
                (void)cu_step_core_refused(be, "buffer_free");
            F(be, args...);
        } else {
            if (st != GLOW_OK)
                return st;
            if (in_graph_step)
                return cu_step_core_refused(be, "an upload, download, sync or allocation");
            return F(be, args...);
        }
    }
};

#endif
