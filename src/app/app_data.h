/* Loading the images of a command: the named data sets (glow/data.h) or an
 * image folder (glow/folder.h) with the folder flags shared by train, eval
 * and interpolate. */
#ifndef GLOW_APP_DATA_H
#define GLOW_APP_DATA_H

#include "glow/data.h"
#include "glow/status.h"

typedef struct {
    const char *test_dir;  /* NULL: hold out test_fraction of --data-dir */
    const char *cache_dir; /* NULL: glow_folder_default_cache_dir() */
    float test_fraction;
    int size, channels;
    int strict;            /* --strict-data */
} app_folder_flags;

#define APP_FOLDER_FLAGS_DEFAULT {NULL, NULL, 0.1f, 32, 3, 0}
#define APP_DATASET_CHOICES "mnist|fashion-mnist|cifar10|folder"

/* The cli_flag entries (cli_args.h) by which eval and interpolate find the
 * test images of a folder run (size and channels come from the checkpoint). */
#define APP_FOLDER_TEST_FLAGS(ff)                                                                                \
    {"test-dir", 0, CLI_STRING, &(ff).test_dir, 0, 0, NULL, "DIR", "folder: the test images",                   \
     "the images --test-fraction holds out of --data-dir", 0},                                                    \
    {"test-fraction", 0, CLI_FLOAT, &(ff).test_fraction, 1e-6, 0.9, NULL, "F",                                   \
     "folder: the held-out fraction given to train", NULL, 0},                                                    \
    {"cache-dir", 0, CLI_STRING, &(ff).cache_dir, 0, 0, NULL, "DIR", "folder: where decoded images are cached",   \
     "$XDG_CACHE_HOME/glow-vk or ~/.cache/glow-vk", 0}

/* Loads the test split of `dataset`, and the training split too when train
 * is not NULL. For "folder" (data_dir required) it prints one line with the
 * image count, the skipped files (the first few named), the cache file and
 * whether it was reused. */
glow_status app_load_data(const char *dataset, const char *data_dir, const app_folder_flags *ff, glow_dataset *train,
                          glow_dataset *test);

#endif
