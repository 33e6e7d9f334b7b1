/* glow-vk sample: a grid of samples from a checkpoint at a temperature. */
#include <stdio.h>

#include "app_common.h"
#include "cli_args.h"
#include "commands.h"

int cmd_sample(int argc, char **argv)
{
    static const char usage[] =
        "glow-vk sample --checkpoint F [-n N] [--temperature T] [-o grid.png] [--backend B] [--seed S]";
    const char *checkpoint = NULL, *output = "samples.png", *backend = "auto";
    int count = 64, device = -1, batch = 64;
    float temperature = 0.7f;
    uint64_t seed = 1;
    cli_flag flags[] = {
        {"checkpoint", 'c', CLI_STRING, &checkpoint, 0, 0, NULL, "F", "checkpoint to sample from (required)", NULL,
         0},
        {"count", 'n', CLI_INT, &count, 1, 65536, NULL, "N", "number of samples", NULL, 0},
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
                    "into a PNG grid of ceil(sqrt(N)) columns.",
                    flags, nflags, err, &code))
        return code;
    if (!cli_require(flags, nflags, "checkpoint", "sample", usage, &code))
        return code;

    glow_backend *be = NULL;
    glow_model *model = NULL;
    glow_checkpoint_state state;
    const int max_batch = count < batch ? count : batch;
    /* The checkpoint is validated before a backend starts. */
    glow_status st = app_check_checkpoint(checkpoint, &state);
    if (st == GLOW_OK)
        st = app_open_backend(backend, device, &be);
    if (st == GLOW_OK)
        st = app_load_model(checkpoint, be, max_batch, 0, &state, &model);
    if (st == GLOW_OK)
        st = app_write_samples(model, max_batch, count, temperature, seed, 0, output);
    if (st == GLOW_OK)
        printf("wrote %d samples (temperature %g, checkpoint step %lld) to %s\n", count, temperature,
               (long long)state.step, output);
    if (model)
        glow_model_destroy(model);
    if (be)
        glow_backend_close(be);
    return st == GLOW_OK ? CLI_EXIT_OK : app_report_error("sample", st);
}
