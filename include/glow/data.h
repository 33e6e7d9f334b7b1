/* Image data sets on the host: MNIST, Fashion-MNIST (IDX files) and CIFAR-10
 * (binary batches), loaded whole into memory as uint8 NHWC.
 *
 * Layout: pixels[((i * h + y) * w + x) * c + ch], i < count; labels[i] in 0..9.
 * MNIST-class images (28x28x1) are padded to 32x32x1 with zeros, 2 px on each
 * side (padded = 2), so that the multi-scale model can squeeze 3 times.
 * CIFAR-10 images are 32x32x3 (records stored CHW on disk, converted to HWC).
 *
 * Files looked for in `dir`:
 *   mnist, fashion-mnist: train-images-idx3-ubyte, train-labels-idx1-ubyte (train)
 *                         t10k-images-idx3-ubyte,  t10k-labels-idx1-ubyte  (test),
 *                         each either plain or gzipped with a ".gz" suffix.
 *   cifar10: data_batch_1.bin .. data_batch_5.bin (train) / test_batch.bin (test),
 *            either in dir, in dir/cifar-10-batches-bin, or read directly out of
 *            dir/cifar-10-binary.tar.gz.
 * Errors: GLOW_ERR_IO for a missing/unreadable file (the message says how to
 * get the data set), GLOW_ERR_FORMAT for a wrong magic, wrong dimensions, a
 * count mismatch or truncation (the message names the file and byte offset). */
#ifndef GLOW_DATA_H
#define GLOW_DATA_H

#include <stdint.h>

#include "glow/status.h"

typedef struct {
    char name[32];     /* "mnist", "fashion-mnist" or "cifar10" */
    int count, h, w, c; /* count images of h x w x c after padding */
    uint8_t *pixels;   /* count * h * w * c bytes, NHWC */
    uint8_t *labels;   /* count bytes, class 0..9 */
    int padded;        /* zero pixels added on each side (2 for 28 -> 32, else 0) */
} glow_dataset;

/* Loads the train (train != 0) or test split of data set `name` from `dir`
 * (NULL: glow_dataset_default_dir(name)). On failure *out is left zeroed. */
glow_status glow_dataset_load(const char *name, const char *dir, int train, glow_dataset *out);
void glow_dataset_free(glow_dataset *ds);

/* Where a data set is looked for by default:
 *   fashion-mnist: /usr/share/datasets/fashion-mnist when Debian's dataset-fashion-mnist
 *                  is installed there, else like the others:
 *   mnist, cifar10: $XDG_DATA_HOME/glow-vk/<name>, else ~/.local/share/glow-vk/<name>
 * (where tools/fetch-data puts them). Returns NULL for an unknown name. The
 * string lives in a thread-local buffer valid until the next call. */
const char *glow_dataset_default_dir(const char *name);

/* Identifies the content of the first `count` images of ds (0 < count <= ds->count):
 * 64-bit FNV-1a over their pixels, then their labels, in order. */
uint64_t glow_dataset_fingerprint(const glow_dataset *ds, int count);

/* 1 if `name` is a data set this build can load, else 0. */
int glow_dataset_known(const char *name);

/* Shape of the images glow_dataset_load returns for `name` (before reading any
 * file): 32x32x1 for mnist and fashion-mnist (28x28 padded), 32x32x3 for
 * cifar10. 0 on success, -1 for an unknown name. */
int glow_dataset_image_shape(const char *name, int *h, int *w, int *c);

#endif
