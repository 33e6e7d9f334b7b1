/* glow-vk export: a checkpoint's parameters as a safetensors file
 * (glow/safetensors.h), with the model config in __metadata__. */
#include <stdio.h>
#include <stdlib.h>

#include "app_common.h"
#include "cli_args.h"
#include "commands.h"
#include "glow/checkpoint.h"
#include "glow/safetensors.h"

int cmd_export(int argc, char **argv)
{
    static const char usage[] = "glow-vk export --checkpoint F -o model.safetensors";
    const char *checkpoint = NULL, *output = NULL;
    cli_flag flags[] = {
        {"checkpoint", 'c', CLI_STRING, &checkpoint, 0, 0, NULL, "F", "checkpoint to export (required)", NULL, 0},
        {"output", 'o', CLI_STRING, &output, 0, 0, NULL, "FILE", "safetensors file to write (required)", NULL, 0},
    };
    const int nflags = (int)(sizeof flags / sizeof flags[0]);
    char err[512];
    int code;
    cli_result r = cli_parse(flags, nflags, argc, argv, err, sizeof err);
    if (!cli_handle(r, "export", usage,
                    "Writes every parameter of a checkpoint (float32) in the safetensors format, the model\n"
                    "config in its __metadata__. Tensor names and shapes: README, 'Weights out'.",
                    flags, nflags, err, &code))
        return code;
    if (!cli_require(flags, nflags, "checkpoint", "export", usage, &code) ||
        !cli_require(flags, nflags, "output", "export", usage, &code))
        return code;

    glow_checkpoint_state s;
    glow_param_table table;
    float *params = NULL;
    glow_status st = glow_checkpoint_load(checkpoint, NULL, &s, &table, &params, NULL, NULL);
    if (st != GLOW_OK)
        return app_report_error("export", st);
    char v[15][64];
    const char *keys[15] = {"format", "in_c", "in_h", "in_w", "levels", "steps", "hidden", "n_bits", "seed", "step",
                            "batch", "dataset", "pad", "n_classes", "class_weight"};
    snprintf(v[0], 64, "glow-vk 1");
    snprintf(v[1], 64, "%d", s.config.in_c);
    snprintf(v[2], 64, "%d", s.config.in_h);
    snprintf(v[3], 64, "%d", s.config.in_w);
    snprintf(v[4], 64, "%d", s.config.levels);
    snprintf(v[5], 64, "%d", s.config.steps);
    snprintf(v[6], 64, "%d", s.config.hidden);
    snprintf(v[7], 64, "%d", s.config.n_bits);
    snprintf(v[8], 64, "%llu", (unsigned long long)s.seed);
    snprintf(v[9], 64, "%lld", (long long)s.step);
    snprintf(v[10], 64, "%d", s.batch);
    snprintf(v[11], 64, "%.31s", s.dataset);
    snprintf(v[12], 64, "%s", s.config.pad == GLOW_PAD_EDGE ? "edge" : "zero");
    /* a class-conditional model (0 and 0: unconditional; its class tensors are in the table) */
    snprintf(v[13], 64, "%d", s.config.n_classes);
    snprintf(v[14], 64, "%.9g", (double)s.config.class_weight);
    const char *values[15];
    for (int i = 0; i < 15; i++)
        values[i] = v[i];
    st = glow_safetensors_write(output, &table, params, keys, values, 15);
    if (st == GLOW_OK)
        printf("wrote %s: %d tensors, %zu floats, from %s (step %lld)\n", output, table.count, table.total,
               checkpoint, (long long)s.step);
    free(params);
    glow_param_table_free(&table);
    return st == GLOW_OK ? CLI_EXIT_OK : app_report_error("export", st);
}
