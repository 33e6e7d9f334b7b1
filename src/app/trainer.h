/* The training loop behind `glow-vk train`.
 *
 * Schedule: steps_per_epoch = floor(train images / batch) (the incomplete last
 * batch of an epoch is dropped, so every step sees `batch` images). Global step
 * s (0-based, s optimiser steps already taken) belongs to epoch e = s / spe and
 * uses batch b = s % spe, i.e. images perm_e[b*batch .. (b+1)*batch), where
 * perm_e is a Fisher-Yates shuffle drawn from Philox {seed, GLOW_STREAM_DATA_ORDER,
 * counter e}. Its dequantisation noise is {seed, GLOW_STREAM_DEQUANT, counter
 * s + 1} and its Adam step t = s + 1, with learning rate
 *   lr_t = lr * min(1, (s + 1) / (warmup_epochs * spe))    (lr when warmup_epochs = 0).
 * Everything is a function of s and the checkpointed state, so a resumed run
 * repeats an uninterrupted one exactly.
 *
 * Data-parallel (mpirun -np R, src/dist): the global batch is split evenly, rank r
 * taking images perm_e[b*batch + r*batch/R ..][0, batch/R) and the dequantisation noise
 * of those elements of the global draw (glow_rng first_block), so data, noise and hence
 * the run do not depend on R; the gradients and the loss are summed over ranks in rank
 * order before every rank takes the same optimiser step (glow_data_parallel in
 * glow/model.h). Rank 0 alone writes files; the test bpd is split over ranks.
 *
 * Outputs in out_dir: config.txt, metrics.csv (see metrics_log.h), loss.png,
 * samples_epochNNN.png and samples_final.png, checkpoint.glow (each epoch, at
 * the end, and on SIGINT/SIGTERM).
 *
 * The batches are assembled on a prefetch thread (batch_prefetch.h, 2 batches
 * ahead); the time the training thread waited for them is printed at the end
 * (per step, as a share of the steps' wall time, and of the whole run). */
#ifndef GLOW_APP_TRAINER_H
#define GLOW_APP_TRAINER_H

#include <stdint.h>
#include <stdio.h>

#include "app_data.h"
#include "glow/backend.h"
#include "glow/model.h"

typedef struct {
    const char *dataset;  /* "mnist", "fashion-mnist", "cifar10", "folder" */
    const char *data_dir; /* NULL: glow_dataset_default_dir(dataset); required for "folder" */
    app_folder_flags folder; /* used when dataset is "folder" */
    const char *backend;  /* "auto", "ref", "cpu", "vulkan", "cuda", or one per rank: "vulkan,ref" */
    const char *devices;  /* device index, or one per rank ("0,1"); NULL: preferred / node-local rank */
    int levels, steps, hidden, n_bits;
    int pad;              /* glow_pad_mode (--pad) */
    int conditional;      /* class-conditional model (--conditional): classes from the data set's labels */
    float class_weight;   /* weight of the classifier's bits_y in the objective (0: no classifier) */
    int batch;
    float lr;
    float warmup_epochs;
    int epochs;
    int64_t max_steps;    /* stop when the global step counter reaches this; 0: after `epochs` */
    uint64_t seed;
    glow_memory_mode memory;
    glow_precision precision; /* --precision (stored in checkpoints; app_precision holds the same) */
    glow_optimizer optimizer;
    float max_grad_norm;  /* 0: no clipping */
    float temperature;    /* of the sample grids */
    int sample_count;     /* images per sample grid */
    int train_limit;      /* train on the first train_limit images only (0: all); stored in checkpoints */
    int test_limit;       /* evaluate the first test_limit test images; 0: all */
    int log_every;        /* plain-log interval in steps when stdout is not a terminal */
    const char *preset;   /* for config.txt only */
    const char *out_dir;
    const char *resume_path; /* NULL: a fresh run */
} train_config;

/* Runs or resumes a training run; returns the process exit status
 * (0 done, 1 runtime error, non-finite loss or interruption). */
int trainer_run(const train_config *cfg);

/* The config as "key = value" lines, for the start banner and config.txt. */
void trainer_write_config(FILE *f, const train_config *cfg);

#endif
