/* glow-vk eval: test-set bits per dimension of a checkpoint (exact log-likelihood). */
#include <stdio.h>

#include "app_common.h"
#include "app_data.h"
#include "cli_args.h"
#include "commands.h"
#include "dist.h"
#include "dist_backend.h"
#include "glow/data.h"

int cmd_eval(int argc, char **argv)
{
    static const char usage[] = "glow-vk eval --checkpoint F [--dataset D] [--data-dir DIR] [--limit N]";
    const char *checkpoint = NULL, *dataset = NULL, *data_dir = NULL, *backend = "auto", *devices = NULL;
    int limit = 0, device = -1, batch = 0;
    app_folder_flags folder = APP_FOLDER_FLAGS_DEFAULT;
    cli_flag flags[] = {
        {"checkpoint", 'c', CLI_STRING, &checkpoint, 0, 0, NULL, "F", "checkpoint to evaluate (required)", NULL, 0},
        {"dataset", 0, CLI_CHOICE, &dataset, 0, 0, APP_DATASET_CHOICES, "D", "data set",
         "the checkpoint's", 0},
        {"data-dir", 0, CLI_STRING, &data_dir, 0, 0, NULL, "DIR", "where the data set's files are",
         "the data set's default directory", 0},
        APP_FOLDER_TEST_FLAGS(folder),
        {"limit", 0, CLI_INT, &limit, 0, 1000000000, NULL, "N", "evaluate the first N test images (0: all)", NULL,
         0},
        {"batch", 0, CLI_INT, &batch, 0, 65536, NULL, "N", "images per forward pass",
         "the checkpoint's training batch, so the figure matches train's test bpd", 0},
        {"backend", 0, CLI_STRING, &backend, 0, 0, NULL, "B",
         "compute backend: auto, ref, cpu, vulkan or cuda; under mpirun one per rank, e.g. vulkan,ref", NULL, 0},
        {"device", 0, CLI_STRING, &devices, 0, 0, NULL, "N",
         "device index (-1: preferred); under mpirun one per rank", "preferred; under mpirun the node-local rank", 0},
        APP_THREADS_FLAG,
        APP_PRECISION_FLAG,
    };
    const int nflags = (int)(sizeof flags / sizeof flags[0]);
    char err[512];
    int code;
    cli_result r = cli_parse(flags, nflags, argc, argv, err, sizeof err);
    if (!cli_handle(r, "eval", usage,
                    "Mean bits per dimension of the test set under the model, with dequantisation noise drawn\n"
                    "as in training (stream GLOW_STREAM_TEST). The last line is 'test bpd: <value>'.\n"
                    "A class-conditional model is evaluated with the images' true labels (and its classifier's\n"
                    "bits_y and accuracy are printed when it has one).",
                    flags, nflags, err, &code))
        return code;
    if (!cli_require(flags, nflags, "checkpoint", "eval", usage, &code))
        return code;
    char rank_backend[32];
    if (!dist_choose_backend(backend, devices, rank_backend, sizeof rank_backend, &device, err, sizeof err)) {
        fprintf(stderr, "glow-vk eval: %s\nusage: %s\n", err, usage);
        return CLI_EXIT_USAGE;
    }

    glow_backend *be = NULL;
    glow_model *model = NULL;
    glow_dataset test = {0};
    glow_checkpoint_state state;
    double bpd = 0.0;
    glow_class_stats cls = {0.0, 0, 0};
    /* The checkpoint and the data first (the batch size comes from the checkpoint), then the backend. */
    glow_status st = app_check_checkpoint(checkpoint, &state);
    if (st == GLOW_OK) {
        if (batch == 0)
            batch = state.batch;
        if (dataset == NULL)
            dataset = state.dataset;
        folder.size = state.config.in_h; /* a folder is decoded at the model's size */
        folder.channels = state.config.in_c;
        st = app_load_data(dataset, data_dir, &folder, NULL, &test);
    }
    if (st == GLOW_OK && (test.c != state.config.in_c || test.h != state.config.in_h ||
                          test.w != state.config.in_w))
        st = glow_error(GLOW_ERR_INVALID_ARG, "%s: the model takes %dx%dx%d images but %s has %dx%dx%d", checkpoint,
                        state.config.in_h, state.config.in_w, state.config.in_c, dataset, test.h, test.w, test.c);
    if (st == GLOW_OK && batch % dist_size() != 0) {
        fprintf(stderr, "glow-vk eval: --batch %d cannot be split evenly over %d ranks (give a multiple of %d)\n",
                batch, dist_size(), dist_size());
        glow_dataset_free(&test);
        return CLI_EXIT_USAGE;
    }
    if (st == GLOW_OK)
        st = dist_open_backend(rank_backend, device, &be);
    if (st == GLOW_OK) /* each rank evaluates batch / ranks images of every batch (app_test_bpd) */
        st = app_load_model(checkpoint, be, batch / dist_size(), 0, &state, &model);
    if (st == GLOW_OK)
        st = app_test_bpd(model, &test, limit, batch, state.seed, NULL, &bpd, &cls);
    if (st == GLOW_OK && dist_rank() == 0) {
        int n = (limit > 0 && limit < test.count) ? limit : test.count;
        printf("checkpoint %s: step %lld, dataset %s, %d test images, batch %d\n", checkpoint,
               (long long)state.step, dataset, n, batch);
        if (state.config.n_classes > 0)
            printf("class-conditional model (%d classes): evaluated with the test images' labels\n",
                   state.config.n_classes);
        if (cls.count > 0)
            printf("classifier: %.6f bits_y, accuracy %.4f (%d of %d)\n", cls.bits_y, (double)cls.correct / cls.count,
                   cls.correct, cls.count);
        printf("test bpd: %.9g\n", bpd);
    }
    if (model)
        glow_model_destroy(model);
    if (be)
        glow_backend_close(be);
    glow_dataset_free(&test);
    return st == GLOW_OK ? CLI_EXIT_OK : app_report_error("eval", st);
}
