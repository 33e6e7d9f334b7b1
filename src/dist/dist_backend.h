/* Per-rank backend and device choice for data-parallel runs, and the model's sums.
 *
 * --backend and --device take one value for every rank or a comma-separated list with one
 * entry per rank (rank order): `--backend vulkan,ref` puts rank 0 on Vulkan and rank 1 on
 * the CPU reference. Without --device, a rank of a multi-rank job opens device
 * (node-local rank mod the backend's device count), so ranks on one machine spread over
 * its devices. */
#ifndef GLOW_DIST_BACKEND_H
#define GLOW_DIST_BACKEND_H

#include <stddef.h>

#include "glow/backend.h"
#include "glow/model.h"

/* This rank's backend name and device index (-1: not given) from the flag values
 * (devices may be NULL). 0 and a message in err for a usage error. */
int dist_choose_backend(const char *backends, const char *devices, char *name, size_t namelen, int *device,
                        char *err, size_t errlen);

/* Opens this rank's backend (see above) and prints the line naming it, with the rank. */
glow_status dist_open_backend(const char *name, int device, glow_backend **out);

/* *same = every rank runs the same backend on a device of the same name. Ranks on
 * different backends or devices round differently, so their parameters would drift apart
 * by rounding; the trainer then broadcasts rank 0's parameters after each step. */
glow_status dist_same_devices(const glow_backend *be, int *same);

/* The model's view of this job's ranks (glow/model.h): dist.h's rank-ordered sums, for
 * steps of global_batch images over all ranks. */
glow_data_parallel dist_data_parallel(int global_batch);

#endif
