/* The factories the registry knows; each backend defines its own. */
#ifndef GLOW_REGISTRY_INTERNAL_H
#define GLOW_REGISTRY_INTERNAL_H

#include "glow/backend.h"

extern const glow_backend_factory glow_ref_factory;
#ifdef GLOW_HAVE_CPU
/* The fast CPU backend (backends/cpu): threads, OpenBLAS. */
extern const glow_backend_factory glow_cpu_factory;
#endif
#ifdef GLOW_HAVE_VULKAN
extern const glow_backend_factory glow_vulkan_factory;
#endif
#ifdef GLOW_HAVE_CUDA_LOADER
/* Opens the CUDA module (libglow-cuda.so) with dlopen on first use. */
extern const glow_backend_factory glow_cuda_factory;
#endif

#endif
