/* Which arithmetic the CUDA backend's GEMMs (the convolutions) use, decided
 * once when a backend is opened from --precision (glow_precision_setting) and
 * the device's compute capability. Plain C, so that tests/test_cuda_host.c runs
 * it on the host with made-up device properties.
 *
 * TF32 tensor cores (mma.sync m16n8k8 .tf32) exist from compute capability 8.0
 * (Ampere) on, and the module's code for the device must have been built for
 * them: SASS sm_80/sm_90 or the compute_80 PTX that newer GPUs JIT-compile
 * (code_arch = the loaded code's PTX version, cudaFuncAttributes.ptxVersion, 80
 * or more); a device that only finds the compute_75 PTX (none today, as
 * compute_80 is newer) would trap in the tf32 kernel. Any other device, and
 * --precision fp32 (the default), use the fp32 SIMT kernel. */
#ifndef GLOW_CUDA_PRECISION_H
#define GLOW_CUDA_PRECISION_H

#include <stdio.h>

#include "glow/backend.h"

/* 1 when the GEMMs run on TF32 tensor cores: tf32 asked for, cc >= 8.0 and code built for it. */
static inline int cu_use_tf32(int cc_major, int cc_minor, int code_arch, glow_precision asked)
{
    (void)cc_minor; /* every 8.x and later has TF32 mma */
    return asked == GLOW_PRECISION_TF32 && cc_major >= 8 && code_arch >= 80;
}

/* What the backend reports (glow_device_info.precision): "tf32 (tensor cores)",
 * "fp32", or "fp32 (tf32 asked; <why not>)". */
static inline void cu_precision_text(int cc_major, int cc_minor, int code_arch, glow_precision asked, char *out,
                                     size_t size)
{
    if (cu_use_tf32(cc_major, cc_minor, code_arch, asked))
        snprintf(out, size, "tf32 (tensor cores)");
    else if (asked == GLOW_PRECISION_TF32 && cc_major < 8)
        snprintf(out, size, "fp32 (tf32 asked; compute capability %d.%d has no TF32 tensor cores)", cc_major,
                 cc_minor);
    else if (asked == GLOW_PRECISION_TF32 && code_arch <= 0)
        snprintf(out, size, "fp32 (tf32 asked; the module's code for this device could not be identified)");
    else if (asked == GLOW_PRECISION_TF32)
        snprintf(out, size, "fp32 (tf32 asked; the module's code for this device is compute_%d, without mma)",
                 code_arch);
    else
        snprintf(out, size, "fp32");
}

#endif
