/* glow-vk: command dispatch. To add a command, declare it in commands.h and
 * add one row to k_commands. */
#include <stdio.h>
#include <string.h>

#include "cli_args.h"
#include "commands.h"
#include "dist.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    int data_parallel; /* runs as several MPI ranks (src/dist); the others refuse mpirun -np N > 1 */
} command;

static const command k_commands[] = {
    {"devices", cmd_devices, "list every backend and its devices", 0},
    {"train", cmd_train, "train Glow on mnist, fashion-mnist, cifar10 or a folder of images", 1},
    {"sample", cmd_sample, "draw a grid of samples from a checkpoint", 0},
    {"interpolate", cmd_interpolate, "interpolate between test images in latent space", 0},
    {"eval", cmd_eval, "test-set bits per dimension of a checkpoint", 1},
    {"export", cmd_export, "write a checkpoint's parameters as a safetensors file", 0},
    {"bench", cmd_bench, "per-op and per-step benchmarks on every backend and device", 1},
};
static const int k_command_count = (int)(sizeof k_commands / sizeof k_commands[0]);

static void print_usage(FILE *f)
{
    fprintf(f, "usage: glow-vk <command> [flags]\n\ncommands:\n");
    for (int i = 0; i < k_command_count; i++)
        fprintf(f, "  %-12s %s\n", k_commands[i].name, k_commands[i].summary);
    fprintf(f, "\nRun 'glow-vk <command> --help' for the flags of a command.\n");
}

static int run_command(int argc, char **argv)
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
        if (strcmp(argv[1], k_commands[i].name) == 0) {
            if (dist_size() > 1 && !k_commands[i].data_parallel) {
                if (dist_rank() == 0)
                    fprintf(stderr, "glow-vk %s: runs in one process; start it without mpirun (this job has %d ranks)\n",
                            argv[1], dist_size());
                return CLI_EXIT_USAGE;
            }
            return k_commands[i].run(argc - 2, argv + 2);
        }
    fprintf(stderr, "glow-vk: unknown command '%s'\n", argv[1]);
    print_usage(stderr);
    return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    glow_status st = dist_init(&argc, &argv);
    if (st != GLOW_OK) {
        fprintf(stderr, "glow-vk: %s\n", glow_last_error());
        return CLI_EXIT_RUNTIME;
    }
    int code = run_command(argc, argv);
    dist_finalize(code);
    return code;
}
