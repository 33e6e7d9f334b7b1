/* Training progress on the terminal.
 *
 * On a terminal (isatty) one status line is redrawn in place with '\r':
 *   [#...................] step 1200/23400 | epoch 3/100 | 812.4 img/s | bpd 3.4121 | ETA 1h02m
 * (the bar is the fraction of the run's steps done)
 * Otherwise (a log file or pipe) a plain line is printed every `log_every`
 * steps and on the last step. Other messages go through progress_message,
 * which first ends a half-drawn status line. */
#ifndef GLOW_APP_PROGRESS_H
#define GLOW_APP_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
    FILE *out;
    int is_tty;
    int log_every;   /* plain mode: print every log_every steps */
    int line_open;   /* a status line is on screen without its newline */
    double ema_ips;  /* exponential moving average of images/s (weight 0.1 per step) */
    double last_draw; /* monotonic seconds of the last redraw (terminal mode redraws at most 10 times/s) */
    const char *prefix; /* before every line (progress_set_prefix) */
} progress;

void progress_init(progress *p, FILE *out, int log_every);

/* Records one optimiser step (images_per_s measured over that step) and draws
 * or logs the status. step and total_steps count optimiser steps; epoch is 1-based. */
void progress_step(progress *p, int64_t step, int64_t total_steps, int epoch, int epochs, double images_per_s,
                   int batch, double bpd);

/* printf-style message on its own line. */
void progress_message(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Ends an open status line. */
void progress_finish(progress *p);

/* Text put before every plain log line and message (e.g. "rank 0/2: "); "" by default. */
void progress_set_prefix(progress *p, const char *prefix);

/* "1h02m", "4m05s" or "12s" into buf. */
void progress_format_duration(double seconds, char *buf, size_t len);

#endif
