/* A bounded prefetch queue of training batches: one producer thread fills
 * the batches of steps first_step, first_step + 1, ... (at most `depth`
 * ahead of the consumer) while the training thread works on earlier ones.
 * The training thread takes steps strictly in order and reports how long it
 * was blocked waiting for a batch. */
#ifndef GLOW_APP_BATCH_PREFETCH_H
#define GLOW_APP_BATCH_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "glow/status.h"

/* Writes the batch of global step `step` into out (batch_bytes); runs on the producer thread. */
typedef void (*batch_fill_fn)(void *ctx, int64_t step, uint8_t *out);

typedef struct batch_prefetch batch_prefetch;

glow_status batch_prefetch_start(int depth, size_t batch_bytes, int64_t first_step, int64_t stop_step,
                                 batch_fill_fn fill, void *ctx, batch_prefetch **out);
/* The batch of `step` (the step after the last one released); *waited_s gets
 * the seconds spent blocked. Valid until batch_prefetch_release. */
const uint8_t *batch_prefetch_take(batch_prefetch *p, int64_t step, double *waited_s);
void batch_prefetch_release(batch_prefetch *p);
/* Stops the producer and frees everything (p may be NULL). */
void batch_prefetch_stop(batch_prefetch *p);

#endif
