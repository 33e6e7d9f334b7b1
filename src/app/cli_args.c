#include "cli_args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

cli_flag *cli_find(cli_flag *flags, int nflags, const char *name)
{
    for (int i = 0; i < nflags; i++)
        if (strcmp(flags[i].name, name) == 0)
            return &flags[i];
    return NULL;
}

int cli_require(cli_flag *flags, int nflags, const char *name, const char *command, const char *usage,
                int *exit_code)
{
    const cli_flag *f = cli_find(flags, nflags, name);
    if (f != NULL && f->given)
        return 1;
    char err[128];
    snprintf(err, sizeof err, "--%s is required", name);
    cli_handle(CLI_BAD_USAGE, command, usage, "", flags, nflags, err, exit_code);
    return 0;
}

/* Looks up "--name" (name_len chars of `name`) or a one-letter alias. */
static cli_flag *find_spelling(cli_flag *flags, int nflags, const char *arg, size_t name_len, int is_long)
{
    for (int i = 0; i < nflags; i++) {
        if (is_long) {
            if (strlen(flags[i].name) == name_len && strncmp(flags[i].name, arg, name_len) == 0)
                return &flags[i];
        } else if (flags[i].alias != 0 && name_len == 1 && arg[0] == flags[i].alias) {
            return &flags[i];
        }
    }
    return NULL;
}

/* Whether `value` is one of the '|'-separated `choices`. */
static int is_choice(const char *choices, const char *value)
{
    size_t vlen = strlen(value);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == vlen && strncmp(p, value, len) == 0)
            return 1;
        if (!bar)
            break;
        p = bar + 1;
    }
    return 0;
}

/* Converts and range-checks `value` into f->dest. */
static int store_value(cli_flag *f, const char *value, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    switch (f->kind) {
    case CLI_INT: {
        long v = strtol(value, &end, 10);
        if (end == value || *end != '\0' || errno == ERANGE) {
            snprintf(err, errlen, "--%s: '%s' is not an integer", f->name, value);
            return 0;
        }
        if ((double)v < f->min || (double)v > f->max) {
            snprintf(err, errlen, "--%s: %ld is out of range [%.0f, %.0f]", f->name, v, f->min, f->max);
            return 0;
        }
        *(int *)f->dest = (int)v;
        return 1;
    }
    case CLI_U64: {
        if (value[0] == '-') {
            snprintf(err, errlen, "--%s: '%s' must not be negative", f->name, value);
            return 0;
        }
        unsigned long long v = strtoull(value, &end, 10);
        if (end == value || *end != '\0' || errno == ERANGE) {
            snprintf(err, errlen, "--%s: '%s' is not a non-negative integer", f->name, value);
            return 0;
        }
        if ((double)v < f->min || (double)v > f->max) {
            snprintf(err, errlen, "--%s: %llu is out of range [%.0f, %.0f]", f->name, v, f->min, f->max);
            return 0;
        }
        *(uint64_t *)f->dest = (uint64_t)v;
        return 1;
    }
    case CLI_FLOAT: {
        double v = strtod(value, &end);
        if (end == value || *end != '\0' || errno == ERANGE || !isfinite(v)) {
            snprintf(err, errlen, "--%s: '%s' is not a finite number", f->name, value);
            return 0;
        }
        if (v < f->min || v > f->max) {
            snprintf(err, errlen, "--%s: %g is out of range [%g, %g]", f->name, v, f->min, f->max);
            return 0;
        }
        *(float *)f->dest = (float)v;
        return 1;
    }
    case CLI_STRING:
        if (value[0] == '\0') {
            snprintf(err, errlen, "--%s: the value must not be empty", f->name);
            return 0;
        }
        *(const char **)f->dest = value;
        return 1;
    case CLI_CHOICE:
        if (!is_choice(f->choices, value)) {
            snprintf(err, errlen, "--%s: '%s' is not one of %s", f->name, value, f->choices);
            return 0;
        }
        *(const char **)f->dest = value;
        return 1;
    case CLI_OPTIONAL_STRING:
        *(const char **)f->dest = value;
        return 1;
    case CLI_SWITCH:
        break;
    }
    snprintf(err, errlen, "--%s takes no value", f->name);
    return 0;
}

cli_result cli_parse(cli_flag *flags, int nflags, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return CLI_WANTS_HELP;

    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        int is_long = strncmp(arg, "--", 2) == 0;
        if (!is_long && !(arg[0] == '-' && arg[1] != '\0')) {
            snprintf(err, errlen, "unexpected argument '%s' (flags start with --)", arg);
            return CLI_BAD_USAGE;
        }
        const char *name = arg + (is_long ? 2 : 1);
        const char *eq = is_long ? strchr(name, '=') : NULL;
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        cli_flag *f = find_spelling(flags, nflags, name, name_len, is_long);
        if (f == NULL) {
            snprintf(err, errlen, "unknown flag '%s'", arg);
            return CLI_BAD_USAGE;
        }
        f->given = 1;
        if (f->kind == CLI_SWITCH) {
            if (eq) {
                snprintf(err, errlen, "--%s takes no value", f->name);
                return CLI_BAD_USAGE;
            }
            *(int *)f->dest = 1;
            continue;
        }
        const char *value = NULL;
        if (eq) {
            value = eq + 1;
        } else if (f->kind == CLI_OPTIONAL_STRING) {
            value = (i + 1 < argc && argv[i + 1][0] != '-') ? argv[++i] : "";
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            snprintf(err, errlen, "--%s needs a value (%s)", f->name, f->metavar ? f->metavar : "VALUE");
            return CLI_BAD_USAGE;
        }
        if (!store_value(f, value, err, errlen))
            return CLI_BAD_USAGE;
    }
    return CLI_PARSED;
}

static void print_default(FILE *out, const cli_flag *f)
{
    if (f->default_text != NULL) {
        fprintf(out, " (default %s)", f->default_text);
        return;
    }
    switch (f->kind) {
    case CLI_INT: fprintf(out, " (default %d)", *(const int *)f->dest); break;
    case CLI_U64: fprintf(out, " (default %llu)", (unsigned long long)*(const uint64_t *)f->dest); break;
    case CLI_FLOAT: fprintf(out, " (default %g)", *(const float *)f->dest); break;
    case CLI_STRING:
    case CLI_CHOICE:
    case CLI_OPTIONAL_STRING: {
        const char *s = *(const char *const *)f->dest;
        if (s != NULL && s[0] != '\0')
            fprintf(out, " (default %s)", s);
        break;
    }
    case CLI_SWITCH: break;
    }
}

void cli_print_help(FILE *out, const char *usage, const char *description, const cli_flag *flags, int nflags)
{
    fprintf(out, "usage: %s\n\n%s\n\nflags:\n", usage, description);
    for (int i = 0; i < nflags; i++) {
        const cli_flag *f = &flags[i];
        char spelling[96];
        const char *meta = f->kind == CLI_SWITCH ? "" : (f->metavar ? f->metavar : "VALUE");
        const char *open = f->kind == CLI_OPTIONAL_STRING ? " [" : (meta[0] ? " " : "");
        const char *close = f->kind == CLI_OPTIONAL_STRING ? "]" : "";
        if (f->alias)
            snprintf(spelling, sizeof spelling, "-%c, --%s%s%s%s", f->alias, f->name, open, meta, close);
        else
            snprintf(spelling, sizeof spelling, "    --%s%s%s%s", f->name, open, meta, close);
        fprintf(out, "  %-30s %s", spelling, f->help);
        if (f->kind == CLI_CHOICE)
            fprintf(out, ": %s", f->choices);
        print_default(out, f);
        fputc('\n', out);
    }
    fprintf(out, "  %-30s %s\n", "-h, --help", "show this help");
}

int cli_handle(cli_result r, const char *command, const char *usage, const char *description,
               const cli_flag *flags, int nflags, const char *err, int *exit_code)
{
    if (r == CLI_WANTS_HELP) {
        cli_print_help(stdout, usage, description, flags, nflags);
        *exit_code = CLI_EXIT_OK;
        return 0;
    }
    if (r == CLI_BAD_USAGE) {
        fprintf(stderr, "glow-vk %s: %s\nusage: %s\n(run 'glow-vk %s --help' for every flag)\n", command, err, usage,
                command);
        *exit_code = CLI_EXIT_USAGE;
        return 0;
    }
    return 1;
}
