/* Image folders as data sets: PNG and JPEG files found recursively under a
 * directory, one class per immediate subfolder, centre-cropped and area-resized
 * to size x size, decoded once into a memory-mapped uint8 cache file.
 *
 * Listing: every regular file under `dir` whose name ends in .png, .jpg or
 * .jpeg (any case), names starting with '.' skipped, sorted by relative path
 * (strcmp). Class of a file = its first path component when it lies in a
 * subfolder; files directly in `dir` form class ".". Classes are numbered
 * in strcmp order of their names; at most 256.
 *
 * Pixels: the decoded image is cropped to its centred largest square
 * (offset floor((w - s) / 2), floor((h - s) / 2), s = min(w, h)), then each
 * output pixel is the area average of the source square over its box
 * [o * s / size, (o + 1) * s / size) in both axes (fractional overlaps
 * weighted), rounded to nearest. channels 1: luma (299 R + 587 G + 114 B) / 1000
 * rounded; channels 3: gray is replicated. Alpha is dropped.
 *
 * Split: with test_dir the test set is that folder (listed the same way, the
 * classes matched by name, a class absent from the training folder is an
 * error); otherwise round(test_fraction * n) (at least 1) of the n decodable
 * images of `dir` are held out: the first of a Fisher-Yates shuffle (j =
 * floor(bits(i) * (i + 1) / 2^32), as the trainer's epochs) drawn from Philox
 * {GLOW_FOLDER_SPLIT_SEED, GLOW_STREAM_DATA_ORDER, 0}; both parts keep
 * listing order.
 *
 * Cache: <cache_dir>/folder-<key>.u8, key = FNV-1a over the listing (relative
 * paths, sizes, mtimes), size, channels and the split; written to a temporary
 * and renamed, mapped read-only on later loads, so no image file is opened
 * again while the listing is unchanged. Layout (little-endian): char[8]
 * "GLOWIMC1", u32 count, n_train, size, channels, n_classes, n_skipped,
 * u64 key, 4 x char[256] first skipped names then class names packed
 * (n_classes x char[64]) at 4096, labels (count bytes) at 4096 + 16384,
 * pixels (count x size x size x channels, train images first) at the next
 * multiple of 4096.
 *
 * Unreadable or corrupt files are skipped and counted (the first
 * GLOW_FOLDER_NAMED_SKIPS named in the report); with strict they are an error
 * naming the first one. A folder without images is GLOW_ERR_INVALID_ARG. */
#ifndef GLOW_FOLDER_H
#define GLOW_FOLDER_H

#include <stdint.h>

#include "glow/data.h"
#include "glow/status.h"

#define GLOW_FOLDER_SPLIT_SEED 20240615u
#define GLOW_FOLDER_NAMED_SKIPS 4
#define GLOW_FOLDER_MAX_CLASSES 256

typedef struct {
    const char *dir;       /* training images (required) */
    const char *test_dir;  /* NULL: hold out test_fraction of dir */
    double test_fraction;  /* in [0, 1), used without test_dir */
    int size;              /* power of two, 8..256 */
    int channels;          /* 1 or 3 */
    int strict;            /* the first bad file is an error */
    int threads;           /* decoding threads (<= 0: 2) */
    const char *cache_dir; /* NULL: glow_folder_default_cache_dir(); must exist */
} glow_folder_options;

typedef struct {
    int listed;    /* image files found */
    int skipped;   /* of those, not decodable */
    char first_skipped[GLOW_FOLDER_NAMED_SKIPS][256]; /* "path: reason" */
    int cache_hit; /* 1 when the images came from an existing cache file */
    char cache_path[1024];
    double seconds; /* listing + decoding (or mapping) */
} glow_folder_report;

/* Loads one folder data set (train and test split, see above). `report`
 * covers the training folder (and the test folder's skips are added). The
 * datasets' pixels may point into a mapping; glow_dataset_free releases it. */
glow_status glow_folder_load(const glow_folder_options *opt, glow_dataset *train, glow_dataset *test,
                             glow_folder_report *report);

/* $XDG_CACHE_HOME/glow-vk, else ~/.cache/glow-vk (thread-local buffer). */
const char *glow_folder_default_cache_dir(void);

/* Decodes one PNG or JPEG file (by its signature) and crops/resizes it to
 * size x size x channels (out: size*size*channels bytes). */
glow_status glow_folder_decode_file(const char *path, int size, int channels, uint8_t *out);

#endif
