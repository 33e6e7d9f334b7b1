/* Command-line flag parsing shared by every glow-vk command.
 *
 * A command describes its flags as an array of cli_flag, each pointing at the
 * variable it fills. Accepted spellings: "--name VALUE", "--name=VALUE", and a
 * one-letter alias "-n VALUE". A CLI_OPTIONAL_STRING flag takes the next
 * argument as its value only when that argument does not start with '-'
 * (so "--resume" alone and "--resume FILE" both work). A flag given twice
 * takes its last value.
 *
 * Errors (unknown flag, missing value, value that is not a number, out of its
 * range or not one of the choices, stray positional argument) are written
 * into the caller's buffer as one line naming the flag and the problem; the
 * command then prints it with its usage and exits with status 2. */
#ifndef GLOW_APP_CLI_ARGS_H
#define GLOW_APP_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses of every command. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_RUNTIME = 1, CLI_EXIT_USAGE = 2 };

typedef enum {
    CLI_INT,             /* int *, within [min, max] */
    CLI_U64,             /* uint64_t *, decimal, within [min, max] (as doubles) */
    CLI_FLOAT,           /* float *, finite, within [min, max] */
    CLI_STRING,          /* const char **, non-empty */
    CLI_CHOICE,          /* const char **, one of `choices` ("a|b|c") */
    CLI_SWITCH,          /* int *, set to 1; takes no value */
    CLI_OPTIONAL_STRING, /* const char **, set to the value or to "" when none follows */
} cli_kind;

typedef struct {
    const char *name;    /* long form without dashes, e.g. "batch" */
    char alias;          /* one-letter alias ('n' for -n) or 0 */
    cli_kind kind;
    void *dest;
    double min, max;     /* inclusive range for CLI_INT, CLI_U64 and CLI_FLOAT */
    const char *choices; /* for CLI_CHOICE: "mnist|fashion-mnist|cifar10" */
    const char *metavar; /* shown in the help, e.g. "N" */
    const char *help;    /* one line; the default is appended from the current value */
    const char *default_text; /* shown as the default instead of the current value (NULL: use the value) */
    int given;           /* set to 1 by cli_parse when the flag appears */
} cli_flag;

typedef enum { CLI_PARSED = 0, CLI_WANTS_HELP = 1, CLI_BAD_USAGE = 2 } cli_result;

/* Parses argv[0..argc) (the arguments after the command name). "--help" or
 * "-h" anywhere returns CLI_WANTS_HELP. On CLI_BAD_USAGE `err` holds the message. */
cli_result cli_parse(cli_flag *flags, int nflags, int argc, char **argv, char *err, size_t errlen);

/* Prints "usage: <usage>", the description and one line per flag with its
 * current (default) value. */
void cli_print_help(FILE *f, const char *usage, const char *description, const cli_flag *flags, int nflags);

/* Standard handling of a parse result for a command: prints help (returns
 * CLI_EXIT_OK through *exit_code) or the error and a hint (CLI_EXIT_USAGE).
 * Returns 1 when the command should continue, 0 when it should return *exit_code. */
int cli_handle(cli_result r, const char *command, const char *usage, const char *description,
               const cli_flag *flags, int nflags, const char *err, int *exit_code);

/* For a flag that must be given: returns 1 when it was, else prints "--<name> is required"
 * with the usage (as cli_handle does for CLI_BAD_USAGE) and returns 0 with *exit_code set. */
int cli_require(cli_flag *flags, int nflags, const char *name, const char *command, const char *usage,
                int *exit_code);

/* The flag named `name` in `flags`, or NULL. */
cli_flag *cli_find(cli_flag *flags, int nflags, const char *name);

#endif
