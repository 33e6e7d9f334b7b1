/* Training curves drawn with cairo into a PNG: bits/dim (y) against training
 * step (x), one line for the training loss and one (with markers) for the test
 * loss, with axes, tick labels, axis titles, a legend and a title. */
#ifndef GLOW_PLOT_H
#define GLOW_PLOT_H

#include "glow/status.h"

/* step[i], train_bpd[i] for i < n_train; test_step[j], test_bpd[j] for j < n_test
 * (either series may be empty: n = 0 and NULL arrays). Non-finite values are
 * skipped. width x height pixels (0, 0: 900 x 560; each at least 200 x 150).
 * The y range is fitted to the data (with a margin), the x range to [0, max step]. */
glow_status glow_plot_loss(const char *path, const double *step, const double *train_bpd, int n_train,
                           const double *test_step, const double *test_bpd, int n_test, const char *title,
                           int width, int height);

#endif
