/* Checkpoints: everything needed to resume training exactly or to sample.
 *
 * File format, version GLOW_CHECKPOINT_VERSION (all integers little-endian,
 * floats IEEE-754 binary32/64 little-endian):
 *   offset 0   char[8]  magic "GLOWCKPT"
 *          8   u32      format version
 *         12   u32      header bytes H (size of the header record that follows)
 *         16   header record (H bytes):
 *                i32 in_c, in_h, in_w, levels, steps, hidden, n_bits   (glow_model_config)
 *                char[32] dataset
 *                i32 batch; f32 lr; f32 warmup_epochs; i32 epochs; u64 seed;
 *                i32 memory mode; i64 step; i32 epoch; i64 position;
 *                i32 actnorm_initialized; i32 optimizer kind;
 *                f32 beta1, beta2, eps, max_grad_norm
 *                i32 train_limit, i32 train_count; u64 train_fingerprint (version >= 2)
 *                i32 pad (glow_pad_mode, config.pad); i32 n_classes; f32 class_weight (version >= 3)
 *                i32 precision (glow_precision of the run; version >= 3)
 *          .   u32 entry count E; u64 arena floats T
 *          .   E table entries: char[64] name; u64 offset; i32 n, h, w, c; i32 trainable
 *          .   3 arenas of T float32 each: parameters, Adam m, Adam v
 *          .   u64 checksum: 64-bit FNV-1a over every byte before it
 * Version 1 files (header of 132 bytes, without the train_* fields) still
 * load; their train_limit and train_count read as -1, "not recorded".
 * Version 1 and 2 files (148 bytes, before --pad and --conditional) load as pad = GLOW_PAD_ZERO and
 * unconditional models (n_classes 0).
 * They have no precision field and read as
 * GLOW_PRECISION_FP32, which is what they were trained with.
 * The table must be consistent: offsets ascending, each entry inside the arena,
 * no overlaps, names NUL-terminated and unique.
 *
 * Saving is atomic: the file is written to a temporary in the same directory,
 * flushed and fsync'ed, renamed over `path`, and the directory fsync'ed; a
 * failed save leaves any previous file at `path` untouched. A save killed
 * mid-write leaves its temporary (path.tmp.XXXXXX); the next successful save
 * of `path` removes it. One process saves a given path at a time. */
#ifndef GLOW_CHECKPOINT_H
#define GLOW_CHECKPOINT_H

#include <stdint.h>

#include "glow/backend.h"
#include "glow/model.h"
#include "glow/params.h"
#include "glow/status.h"

#define GLOW_CHECKPOINT_MAGIC "GLOWCKPT"
#define GLOW_CHECKPOINT_VERSION 3

typedef struct {
    glow_model_config config;  /* n_bits lives here */
    char dataset[32];          /* "mnist", "fashion-mnist", "cifar10" */
    int batch;
    float lr;                  /* base learning rate (after warm-up) */
    float warmup_epochs;       /* linear warm-up length in epochs */
    int epochs;                /* epochs requested for the run */
    uint64_t seed;
    glow_memory_mode memory;
    int64_t step;              /* optimiser steps taken so far (Adam's t) */
    int epoch;                 /* current epoch, 0-based */
    int64_t position;          /* images of the current epoch already consumed */
    int actnorm_initialized;
    glow_optimizer optimizer;  /* Adam or Adamax */
    float beta1, beta2, eps, max_grad_norm;
    /* The data order is a shuffle of the first train_count training images:
     * train_limit is the --train-limit of the run (0: all), train_count the
     * images it left, train_fingerprint identifies their content. The counts
     * are -1 in a version-1 file (not recorded). */
    int train_limit;
    int train_count;
    uint64_t train_fingerprint; /* glow_dataset_fingerprint of those images (0 in version 1) */
    /* --precision of the run that wrote it (version 3; older files: fp32). A
     * resume keeps it unless --precision is given (src/app/cmd_train.c). */
    glow_precision precision;
} glow_checkpoint_state;

/* Writes a checkpoint. params, m and v each hold table->total floats; m or v
 * may be NULL, in which case zeros are written for that arena. */
glow_status glow_checkpoint_save(const char *path, const glow_checkpoint_state *st, const glow_param_table *table,
                                 const float *params, const float *m, const float *v);

/* Reads and validates a checkpoint (magic, version, sizes, table, checksum).
 * When expect_config is non-NULL, the stored config must equal it (the message
 * lists every differing field). *table is initialised here (caller frees with
 * glow_param_table_free). params, m, v receive malloc'ed arrays of table->total
 * floats (caller frees); any of them may be NULL to skip that arena. On failure
 * nothing is allocated and the message names the file and the problem. */
glow_status glow_checkpoint_load(const char *path, const glow_model_config *expect_config,
                                 glow_checkpoint_state *st, glow_param_table *table, float **params, float **m,
                                 float **v);

/* Checks that a loaded table has the same entries (names, offsets, shapes,
 * trainable flags) and arena size as the model's; the message names the
 * first difference and `path`. */
glow_status glow_checkpoint_check_table(const char *path, const glow_param_table *model_table,
                                        const glow_param_table *ckpt_table);

/* Compares two configs; on a mismatch returns GLOW_ERR_INVALID_ARG with a
 * message "<path>: checkpoint config differs: levels 3 != 2, ..." */
glow_status glow_checkpoint_check_config(const char *path, const glow_model_config *want,
                                         const glow_model_config *got);

#endif
