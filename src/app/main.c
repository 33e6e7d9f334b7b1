/* glow-vk: command dispatch. To add a command, declare it in commands.h and
 * add one row to k_commands. */
#include <stdio.h>
#include <string.h>

#include "cli_args.h"
#include "commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command k_commands[] = {
    {"devices", cmd_devices, "list every backend and its devices"},
    {"train", cmd_train, "train Glow on mnist, fashion-mnist, cifar10 or a folder of images"},
    {"sample", cmd_sample, "draw a grid of samples from a checkpoint"},
    {"interpolate", cmd_interpolate, "interpolate between test images in latent space"},
    {"eval", cmd_eval, "test-set bits per dimension of a checkpoint"},
    {"export", cmd_export, "write a checkpoint's parameters as a safetensors file"},
    {"bench", cmd_bench, "per-op and per-step benchmarks on every backend and device"},
};
static const int k_command_count = (int)(sizeof k_commands / sizeof k_commands[0]);

static void print_usage(FILE *f)
{
    fprintf(f, "usage: glow-vk <command> [flags]\n\ncommands:\n");
    for (int i = 0; i < k_command_count; i++)
        fprintf(f, "  %-12s %s\n", k_commands[i].name, k_commands[i].summary);
    fprintf(f, "\nRun 'glow-vk <command> --help' for the flags of a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    for (int i = 0; i < k_command_count; i++)
        if (strcmp(argv[1], k_commands[i].name) == 0)
            return k_commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "glow-vk: unknown command '%s'\n", argv[1]);
    print_usage(stderr);
    return CLI_EXIT_USAGE;
}
