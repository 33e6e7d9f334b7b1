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

/* Loads the test split of `dataset`, and the training split too when train
 * is not NULL. For "folder" (data_dir required) it prints one line with the
 * image count, the skipped files (the first few named), the cache file and
 * whether it was reused. */
glow_status app_load_data(const char *dataset, const char *data_dir, const app_folder_flags *ff, glow_dataset *train,
                          glow_dataset *test);

#endif
