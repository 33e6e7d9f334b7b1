/* glow-vk sample: a grid of samples from a checkpoint at a temperature. */
#include <stdio.h>

#include "app_common.h"
#include "cli_args.h"
#include "commands.h"

int cmd_sample(int argc, char **argv)
{
    static const char usage[] =
        "glow-vk sample --checkpoint F [-n N] [--class K] [--temperature T] [-o grid.png] [--backend B] [--seed S]";
    const char *checkpoint = NULL, *output = "samples.png", *backend = "auto";
    int count = 64, device = -1, batch = 64, class_k = -1;
    float temperature = 0.7f;
    uint64_t seed = 1;
    cli_flag flags[] = {
        {"checkpoint", 'c', CLI_STRING, &checkpoint, 0, 0, NULL, "F", "checkpoint to sample from (required)", NULL,
         0},
        {"count", 'n', CLI_INT, &count, 1, 65536, NULL, "N",
         "number of samples (a conditional model without --class: ceil(N / classes) per class)", NULL, 0},
        {"class", 0, CLI_INT, &class_k, -1, 65535, NULL, "K",
         "a class-conditional model: draw every sample from class K (0-based)",
         "one row per class", 0},
        {"temperature", 't', CLI_FLOAT, &temperature, 0, 10, NULL, "T", "scale of the prior's standard deviation",
         NULL, 0},
        {"output", 'o', CLI_STRING, &output, 0, 0, NULL, "FILE", "PNG grid to write", NULL, 0},
        {"backend", 0, CLI_CHOICE, &backend, 0, 0, "auto|ref|cpu|vulkan|cuda", "B", "compute backend", NULL, 0},
        APP_THREADS_FLAG,
        APP_PRECISION_FLAG,
        {"device", 0, CLI_INT, &device, -1, 63, NULL, "N", "device index (-1: preferred)", NULL, 0},
        {"seed", 0, CLI_U64, &seed, 0, 1.8e19, NULL, "S", "seed of the sampling noise", NULL, 0},
        {"batch", 0, CLI_INT, &batch, 1, 4096, NULL, "N", "samples decoded at once", NULL, 0},
    };
    const int nflags = (int)(sizeof flags / sizeof flags[0]);
    char err[512];
    int code;
    cli_result r = cli_parse(flags, nflags, argc, argv, err, sizeof err);
    if (!cli_handle(r, "sample", usage,
                    "Draws N samples z_l = mean_l + exp(logsd_l) * T * eps at every level and decodes them\n"
                    "into a PNG grid of ceil(sqrt(N)) columns. A class-conditional checkpoint (train --conditional)\n"
                    "draws them from class K with --class K, else ceil(N / classes) of each class, one row per\n"
                    "class (class 0 on top).",
                    flags, nflags, err, &code))
        return code;
    if (!cli_require(flags, nflags, "checkpoint", "sample", usage, &code))
        return code;

    glow_backend *be = NULL;
    glow_model *model = NULL;
    glow_checkpoint_state state;
    /* The checkpoint is validated before a backend starts. */
    glow_status st = app_check_checkpoint(checkpoint, &state);
    const int n_classes = state.config.n_classes;
    if (st == GLOW_OK && class_k >= 0 && (n_classes == 0 || class_k >= n_classes)) {
        if (n_classes == 0)
            fprintf(stderr, "glow-vk sample: --class %d: %s is not class-conditional (trained without --conditional)"
                    "\nusage: %s\n", class_k, checkpoint, usage);
        else
            fprintf(stderr, "glow-vk sample: --class %d is outside 0..%d: %s has %d classes\nusage: %s\n", class_k,
                    n_classes - 1, checkpoint, n_classes, usage);
        return CLI_EXIT_USAGE;
    }
    int total = count; /* the grid's images (a conditional model without --class: a multiple of the classes) */
    if (st == GLOW_OK && n_classes > 0 && class_k < 0)
        total = (count + n_classes - 1) / n_classes * n_classes;
    const int max_batch = total < batch ? total : batch;
    if (st == GLOW_OK)
        st = app_open_backend(backend, device, &be);
    if (st == GLOW_OK)
        st = app_load_model(checkpoint, be, max_batch, 0, &state, &model);
    if (st == GLOW_OK)
        st = app_write_samples(model, max_batch, count, temperature, seed, 0, class_k, output);
    if (st == GLOW_OK && n_classes > 0 && class_k >= 0)
        printf("wrote %d samples of class %d (temperature %g, checkpoint step %lld) to %s\n", total, class_k,
               temperature, (long long)state.step, output);
    else if (st == GLOW_OK && n_classes > 0)
        printf("wrote %d samples, %d of each of %d classes, one row per class (temperature %g, checkpoint step %lld) "
               "to %s\n", total, total / n_classes, n_classes, temperature, (long long)state.step, output);
    else if (st == GLOW_OK)
        printf("wrote %d samples (temperature %g, checkpoint step %lld) to %s\n", count, temperature,
               (long long)state.step, output);
    if (model)
        glow_model_destroy(model);
    if (be)
        glow_backend_close(be);
    return st == GLOW_OK ? CLI_EXIT_OK : app_report_error("sample", st);
}
