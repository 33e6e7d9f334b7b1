/* out/metrics.csv of a training run and the loss history behind out/loss.png.
 *
 * CSV columns: step,epoch,lr,train_bpd,test_bpd,images_per_s,seconds
 *   and, for a class-conditional model with a classifier (class_columns),
 *   ,train_bits_y,train_class_acc,test_bits_y,test_class_acc: the batch's mean class
 *   loss in bits and accuracy, and the test set's (empty when not evaluated).
 *   step: global optimiser step after the update (1-based); epoch: 1-based epoch
 *   of that step; test_bpd: empty except on rows where the test set was
 *   evaluated (end of an epoch, end of the run); seconds: training wall time
 *   since the run began, summed over resumed sessions. Floats are written with
 *   %.9g so a float32 loss reads back bit-exactly.
 * Resuming from a checkpoint at step S keeps the rows with step <= S (rows a
 * killed run wrote after its last checkpoint are dropped) and appends after them. */
#ifndef GLOW_APP_METRICS_LOG_H
#define GLOW_APP_METRICS_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "glow/status.h"

typedef struct {
    double *x, *y;
    int n, cap;
} metrics_series;

typedef struct {
    FILE *f;
    char path[4096];
    metrics_series train; /* (step, train_bpd) */
    metrics_series test;  /* (step, test_bpd) */
    double seconds_offset; /* seconds column of the last row kept on resume */
    int class_columns;     /* the four classifier columns follow `seconds` */
} metrics_log;

/* The classifier columns of one row (NAN: an empty cell). */
typedef struct {
    double train_bits_y, train_acc, test_bits_y, test_acc;
} metrics_class_row;

/* Opens out_dir/metrics.csv: truncated with a header when resume_step < 0, else
 * rows with step <= resume_step are kept (and loaded into the series).
 * class_columns: the file has the classifier columns. */
glow_status metrics_log_open(metrics_log *log, const char *out_dir, int64_t resume_step, int class_columns);

/* Appends one row (test_bpd NAN: empty cell) and flushes it. `seconds` is the
 * time of this session; the stored value adds seconds_offset. cls: the classifier
 * columns (used when class_columns; NULL: empty cells). */
glow_status metrics_log_append(metrics_log *log, int64_t step, int epoch, double lr, double train_bpd,
                               double test_bpd, double images_per_s, double seconds, const metrics_class_row *cls);

/* Draws both series to `path` with glow_plot_loss. */
glow_status metrics_log_plot(const metrics_log *log, const char *path, const char *title);

void metrics_log_close(metrics_log *log);

#endif
