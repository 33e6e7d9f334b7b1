/* glow-vk devices: every backend this build knows and its devices. */
#include <stdio.h>
#include <string.h>

#include "cli_args.h"
#include "commands.h"
#include "glow/backend.h"

enum { MAX_BACKENDS = 8, MAX_DEVICES = 16 };

/* Prints the details text indented, one line per '\n'-separated line. */
static void print_details(const char *details)
{
    const char *p = details;
    while (*p) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        if (len > 0)
            printf("      %.*s\n", len, p);
        if (!nl)
            break;
        p = nl + 1;
    }
}

static void print_device(int index, const glow_device_info *d)
{
    printf("  [%d] %s\n", index, d->name);
    printf("      vendor: %s\n", d->vendor);
    printf("      driver: %s\n", d->driver);
    printf("      API version: %s\n", d->api_version);
    printf("      type: %s\n", glow_device_type_name(d->type));
    printf("      memory: %.1f MiB\n", (double)d->memory_bytes / (1024.0 * 1024.0));
    print_details(d->details);
}

int cmd_devices(int argc, char **argv)
{
    static const char usage[] = "glow-vk devices";
    cli_flag *no_flags = NULL;
    char err[256];
    int code;
    cli_result r = cli_parse(no_flags, 0, argc, argv, err, sizeof err);
    if (!cli_handle(r, "devices", usage,
                    "Lists every backend (in the order --backend auto tries them) and its devices,\n"
                    "or why a backend is unavailable here.",
                    no_flags, 0, err, &code))
        return code;

    const glow_backend_factory *factories[MAX_BACKENDS];
    int n = glow_backend_factories(factories, MAX_BACKENDS);
    for (int i = 0; i < n; i++) {
        glow_device_info info[MAX_DEVICES];
        int count = 0;
        glow_clear_error();
        glow_status st = factories[i]->list_devices(info, MAX_DEVICES, &count);
        if (st != GLOW_OK) {
            printf("%s: unavailable: %s\n", factories[i]->name, glow_last_error());
            continue;
        }
        if (count == 0) {
            printf("%s: unavailable: no devices\n", factories[i]->name);
            continue;
        }
        printf("%s: %d device%s\n", factories[i]->name, count, count == 1 ? "" : "s");
        for (int d = 0; d < count && d < MAX_DEVICES; d++)
            print_device(d, &info[d]);
    }
    return CLI_EXIT_OK;
}
