/* Helpers shared by the glow-vk commands: opening a backend, rebuilding a
 * model from a checkpoint, writing model-space images as a PNG grid, and the
 * test-set bits/dim used by both `train` and `eval`. */
#ifndef GLOW_APP_COMMON_H
#define GLOW_APP_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "glow/backend.h"
#include "glow/checkpoint.h"
#include "glow/data.h"
#include "glow/model.h"

/* Prints "glow-vk <command>: error: <glow_last_error()>" to stderr; returns CLI_EXIT_RUNTIME. */
int app_report_error(const char *command, glow_status st);

/* --threads N of every command that opens a backend: worker threads of the
 * cpu backend (0: $GLOW_THREADS, else every online core). The flag writes
 * app_threads; app_apply_threads passes it on (glow_set_cpu_threads), and
 * app_open_backend calls it. */
extern int app_threads;
#define APP_THREADS_FLAG                                                                                              \
    {"threads", 0, CLI_INT, &app_threads, 0, 1024, NULL, "N",                                                        \
     "threads of the cpu backend (0: $GLOW_THREADS, else every core)", NULL, 0}
void app_apply_threads(void);

/* --precision fp32|tf32 of the commands that run the model (ARCHITECTURE decision 15):
 * the arithmetic of the GEMM-shaped ops of backends opened afterwards (fp32 default;
 * tf32: TF32 tensor cores / cooperative matrices where the device has them). The flag
 * writes app_precision; app_apply_precision passes it on (glow_set_precision), and
 * app_open_backend calls it and prints what the backend actually uses. */
extern const char *app_precision;
#define APP_PRECISION_FLAG                                                                                            \
    {"precision", 0, CLI_CHOICE, &app_precision, 0, 0, "fp32|tf32", "P",                                           \
     "arithmetic of the convolutions' GEMMs: fp32, or tf32 on matrix units where the device has them", NULL, 0}
void app_apply_precision(void);

/* Opens backend `name` ("auto", "ref", "cpu", "vulkan", "cuda") on device `device`
 * (< 0: preferred), with app_threads and app_precision applied, and prints one line
 * naming the device chosen and one with the precision its GEMMs use. */
glow_status app_open_backend(const char *name, int device, glow_backend **out);

/* Validates checkpoint `path` completely (format, sizes, table, checksum)
 * without building anything; *state receives its stored state. The commands
 * call it before they start a backend. */
glow_status app_check_checkpoint(const char *path, glow_checkpoint_state *state);

/* Reads checkpoint `path` and builds the model it describes on `be`, for
 * batches up to max_batch, with its parameters (and Adam moments when
 * with_moments != 0) uploaded. *state receives the stored training state. */
glow_status app_load_model(const char *path, glow_backend *be, int max_batch, int with_moments,
                           glow_checkpoint_state *state, glow_model **out);

/* Model-space images x (count x D floats in [-0.5, 0.5], NHWC per image) to
 * 8-bit pixels with glow_model_to_pixel; pixels holds count x D bytes. */
void app_to_pixels(const glow_model *m, const float *x, size_t count, uint8_t *pixels);

/* Pixels of `count` images to model space at the centre of their n_bits bin:
 *   x = (floor(p / 2^(8 - n_bits)) + 0.5) / 2^n_bits - 0.5. */
void app_from_pixels(int n_bits, const uint8_t *pixels, size_t count, float *x);

/* Draws `count` samples at `temperature` (rng stream GLOW_STREAM_SAMPLE, counter
 * = first_counter + chunk index, chunks of at most max_batch images) and writes
 * them as a grid PNG with ceil(sqrt(count)) columns. A class-conditional model
 * draws them all from class class_k (>= 0), or (class_k < 0) draws
 * ceil(count / K) of each of its K classes, one row per class, class 0 on top. */
glow_status app_write_samples(glow_model *m, int max_batch, int count, float temperature, uint64_t seed,
                              uint32_t first_counter, int class_k, const char *path);
/* The number of images and columns of that grid. */
int app_sample_grid_count(const glow_model *m, int count, int class_k, int *cols);

/* A class-conditional model: glow_model_set_labels with n uint8 labels; otherwise nothing. */
glow_status app_set_labels(glow_model *m, const uint8_t *labels, int n);
/* 1 + the largest label of a and b (either may be NULL): the class count of a data set. */
int app_dataset_classes(const glow_dataset *a, const glow_dataset *b);

/* Mean test bits/dim over the first `limit` images of `test` (limit <= 0: all)
 * in batches of `batch` (the last may be smaller). Batch j is dequantised with
 * rng {seed, GLOW_STREAM_TEST, j}, so train and eval give the same figure for
 * the same checkpoint, batch size and limit. `stop` (may be NULL) is polled
 * between batches; when it becomes non-zero the function returns
 * GLOW_ERR_INTERRUPTED. Under mpirun every batch is split evenly over the ranks (batch
 * must be a multiple of the rank count), each rank evaluating its part with the noise of
 * those elements of the batch's draw; the per-image values are assembled exactly and
 * summed in image order on every rank, so the figure is the single process's.
 * A class-conditional model is evaluated with the images' true labels; with a
 * classifier, *cls (may be NULL) receives its mean bits_y and correct count over
 * the images (bits_y NAN and count 0 without one). */
glow_status app_test_bpd(glow_model *m, const glow_dataset *test, int limit, int batch, uint64_t seed,
                         const volatile sig_atomic_t *stop, double *bpd, glow_class_stats *cls);

/* "dir/name" into out (outlen bytes); GLOW_ERR_INVALID_ARG if it does not fit. */
glow_status app_path_join(char *out, size_t outlen, const char *dir, const char *name);

/* mkdir -p `dir`, then creates and removes a probe file in it, so an
 * unwritable output directory is reported before any work starts. */
glow_status app_prepare_out_dir(const char *dir);

/* Seconds on a monotonic clock. */
double app_now_seconds(void);

#endif
