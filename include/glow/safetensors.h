/* Model parameters in the safetensors format (huggingface/safetensors):
 *   u64 little-endian N, then N bytes of JSON header (padded with spaces to a
 *   multiple of 8), then the tensor bytes.
 * Header: {"__metadata__": {key: value, ...} (strings), name: {"dtype": "F32",
 * "shape": [...], "data_offsets": [begin, end]}, ...}, offsets relative to the
 * first byte after the header, tensors stored back to back in table order.
 *
 * Shapes (the arena's NHWC entries, n x h x w x c, with unit dimensions dropped
 * where they carry no meaning):
 *   names ending in ".w" (convolution weights): [Co, kh, kw, Ci] = [n, h, w, c];
 *   other entries with n = 1: vectors [c] (actnorm bias/logs, LU log_s/sign,
 *   biases, zero-conv logs);
 *   other entries with n > 1: matrices [n, c] (LU lower/upper/perm, row-major). */
#ifndef GLOW_SAFETENSORS_H
#define GLOW_SAFETENSORS_H

#include "glow/params.h"
#include "glow/status.h"

/* Writes every entry of `table` (values from `params`, table->total floats)
 * and n_meta metadata pairs to path, through a temporary and a rename. */
glow_status glow_safetensors_write(const char *path, const glow_param_table *table, const float *params,
                                   const char *const *meta_keys, const char *const *meta_values, int n_meta);

#endif
