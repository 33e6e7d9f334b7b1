/* glow-vk command-line entry (placeholder until the CLI lands: only `devices`). */
#include <stdio.h>
#include <string.h>

#include "glow/backend.h"

static int cmd_devices(void)
{
    const glow_backend_factory *f[8];
    int n = glow_backend_factories(f, 8);
    for (int i = 0; i < n; i++) {
        glow_device_info info[16];
        int count = 0;
        glow_status st = f[i]->list_devices(info, 16, &count);
        if (st != GLOW_OK) {
            printf("%s: unavailable: %s\n", f[i]->name, glow_last_error());
            continue;
        }
        for (int d = 0; d < count; d++)
            printf("%s[%d]: %s (%s, %s)\n", f[i]->name, d, info[d].name, info[d].vendor,
                   glow_device_type_name(info[d].type));
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "devices") == 0)
        return cmd_devices();
    fprintf(stderr, "usage: glow-vk devices\n");
    return 2;
}
