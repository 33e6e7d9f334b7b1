/* The model configuration a benchmark runs (`glow-vk bench --config`). */
#ifndef GLOW_APP_BENCH_CONFIG_H
#define GLOW_APP_BENCH_CONFIG_H

#include <stddef.h>

#include "glow/model.h"

/* Parses --config: "small" (1x32x32, L=3, K=8, F=128, default batch 32),
 * "report" (1x32x32, L=3, K=16, F=512, default batch 16), or "L,K,F,C,H,W":
 * six comma-separated decimal integers without signs or spaces, for C x H x W
 * images (default batch 16), with L in 1..16, K in 1..256, F in 1..4096, C in
 * 1..64, H and W in 1..4096 and both divisible by 2^L (every level squeezes
 * 2x2; a larger L is refused with the largest valid one named).
 * On success: *cfg (n_bits as given), name ("small", "report" or "custom"), *default_batch; returns 1. Otherwise
 * writes a message naming --config and the problem to err and returns 0. */
int bench_parse_config(const char *text, int n_bits, glow_model_config *cfg, char *name, size_t name_len,
                       int *default_batch, char *err, size_t errlen);

/* The largest L for h x w images: the most times both halve evenly (0 for odd sizes). */
int bench_largest_levels(int h, int w);

#endif
