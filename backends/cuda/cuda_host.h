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

#include <type_traits>

#include "cuda_internal.h"

/* GLOW_ERR_OUT_OF_MEMORY for cudaErrorMemoryAllocation, else GLOW_ERR_BACKEND:
 * "cuda <what>: <message> (<name>)". Consumes the thread's last error (it is this one). */
glow_status cu_runtime_failed(const char *what, cudaError_t e);

/* Makes be's device current on the calling thread and drops a stale error left
 * by an earlier runtime call, so that the op's own checks see only its errors. */
glow_status cu_make_current(glow_backend *be);

/* cu_on_device<F>::entry: F with be's device made current first. The op table
 * (cuda_backend.cu) holds only such entries. */
template <auto F> struct cu_on_device;

template <class R, class... A, R (*F)(glow_backend *, A...)> struct cu_on_device<F> {
    static R entry(glow_backend *be, A... args)
    {
        glow_status st = cu_make_current(be);
        if constexpr (std::is_void_v<R>) {
            /* no status to return (buffer_free): F still runs, to free its host bookkeeping */
            (void)st;
            F(be, args...);
        } else {
            if (st != GLOW_OK)
                return st;
            return F(be, args...);
        }
    }
};

#endif
