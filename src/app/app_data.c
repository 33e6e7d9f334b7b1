#include "app_data.h"

#include <stdio.h>
#include <string.h>

#include "app_common.h"
#include "glow/folder.h"

static void print_folder_report(const char *dir, const glow_dataset *train, const glow_dataset *test,
                                const glow_folder_report *rep)
{
    printf("folder %s: %d image files, %d skipped; %d training and %d test images of %dx%dx%d; %s cache %s "
           "(%.2f s)\n", dir, rep->listed, rep->skipped, train->count, test->count, train->h, train->w, train->c,
           rep->cache_hit ? "reused" : "wrote", rep->cache_path, rep->seconds);
    for (int i = 0; i < GLOW_FOLDER_NAMED_SKIPS && i < rep->skipped && rep->first_skipped[i][0]; i++)
        printf("  skipped: %s\n", rep->first_skipped[i]);
    if (rep->skipped > GLOW_FOLDER_NAMED_SKIPS)
        printf("  ... and %d more skipped (--strict-data makes the first one an error)\n",
               rep->skipped - GLOW_FOLDER_NAMED_SKIPS);
    fflush(stdout);
}

glow_status app_load_data(const char *dataset, const char *data_dir, const app_folder_flags *ff, glow_dataset *train,
                          glow_dataset *test)
{
    if (strcmp(dataset, "folder") != 0) {
        if (train != NULL)
            GLOW_TRY(glow_dataset_load(dataset, data_dir, 1, train));
        return glow_dataset_load(dataset, data_dir, 0, test);
    }
    if (data_dir == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "--dataset folder needs --data-dir PATH (the folder of images)");
    /* the loader writes its cache there: create it (and check it is writable) first */
    GLOW_TRY(app_prepare_out_dir(ff->cache_dir ? ff->cache_dir : glow_folder_default_cache_dir()));
    glow_folder_options o = {data_dir, ff->test_dir, ff->test_fraction, ff->size, ff->channels, ff->strict, 2,
                             ff->cache_dir};
    glow_dataset tr;
    glow_folder_report rep;
    GLOW_TRY(glow_folder_load(&o, &tr, test, &rep));
    print_folder_report(data_dir, &tr, test, &rep);
    if (train != NULL)
        *train = tr;
    else
        glow_dataset_free(&tr);
    return GLOW_OK;
}
