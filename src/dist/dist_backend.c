/* Which backend and device each rank opens (src/dist/dist_backend.h). */
#include "dist_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app_common.h"
#include "dist.h"

/* Entry `index` of a comma-separated list into out; the number of entries in *count. */
static void list_entry(const char *list, int index, char *out, size_t outlen, int *count)
{
    int n = 0;
    out[0] = '\0';
    for (const char *p = list;; n++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (n == index)
            snprintf(out, outlen, "%.*s", (int)len, p);
        if (end == NULL)
            break;
        p = end + 1;
    }
    *count = n + 1;
}

static int known_backend(const char *name)
{
    if (strcmp(name, "auto") == 0)
        return 1;
    const glow_backend_factory *f[16];
    int nf = glow_backend_factories(f, 16);
    for (int i = 0; i < nf; i++)
        if (strcmp(f[i]->name, name) == 0)
            return 1;
    /* built-in names whose factory may be absent from this build (e.g. cuda without the module) */
    return strcmp(name, "ref") == 0 || strcmp(name, "vulkan") == 0 || strcmp(name, "cuda") == 0 ||
           strcmp(name, "cpu") == 0;
}

int dist_choose_backend(const char *backends, const char *devices, char *name, size_t namelen, int *device,
                        char *err, size_t errlen)
{
    const int rank = dist_rank(), size = dist_size();
    int count = 0;
    list_entry(backends, 0, name, namelen, &count);
    if (count != 1 && count != size) {
        snprintf(err, errlen, "--backend '%s' lists %d backends for %d ranks (give one, or one per rank)", backends,
                 count, size);
        return 0;
    }
    for (int i = 0; i < count; i++) {
        char item[32];
        int c;
        list_entry(backends, i, item, sizeof item, &c);
        if (!known_backend(item)) {
            snprintf(err, errlen, "--backend: '%s' is not auto, ref, cpu, vulkan or cuda", item);
            return 0;
        }
    }
    list_entry(backends, count == 1 ? 0 : rank, name, namelen, &count);
    *device = -1;
    if (devices == NULL)
        return 1;
    char item[32];
    list_entry(devices, 0, item, sizeof item, &count);
    if (count != 1 && count != size) {
        snprintf(err, errlen, "--device '%s' lists %d devices for %d ranks (give one, or one per rank)", devices,
                 count, size);
        return 0;
    }
    for (int i = 0; i < count; i++) {
        int c;
        list_entry(devices, i, item, sizeof item, &c);
        char *end = NULL;
        long d = strtol(item, &end, 10);
        if (item[0] == '\0' || *end != '\0' || d < -1 || d > 63) {
            snprintf(err, errlen, "--device: '%s' is not a device index (-1..63)", item);
            return 0;
        }
        if (i == (count == 1 ? 0 : rank))
            *device = (int)d;
    }
    return 1;
}

/* The number of devices of backend `name` (0 when it lists none). */
static int device_count(const char *name)
{
    const glow_backend_factory *f[16];
    int nf = glow_backend_factories(f, 16);
    for (int i = 0; i < nf; i++) {
        glow_device_info info[64];
        int n = 0;
        if (strcmp(f[i]->name, name) == 0 && f[i]->list_devices(info, 64, &n) == GLOW_OK)
            return n;
        glow_clear_error();
    }
    return 0;
}

glow_status dist_open_backend(const char *name, int device, glow_backend **out)
{
    if (dist_size() > 1) {
        printf("%spid %ld on %s\n", dist_prefix(), (long)getpid(), dist_host());
        fflush(stdout);
    }
    if (device < 0 && dist_size() > 1) {
        /* the node-local rank picks among the backend's devices (auto: the one auto chooses) */
        glow_backend *be = NULL;
        GLOW_TRY(glow_backend_open(name, -1, &be));
        char chosen[16];
        snprintf(chosen, sizeof chosen, "%s", be->info.backend);
        glow_backend_close(be);
        int n = device_count(chosen);
        if (n > 1)
            return app_open_backend(chosen, dist_local_rank() % n, out);
    }
    return app_open_backend(name, device, out);
}

glow_status dist_same_devices(const glow_backend *be, int *same)
{
    const size_t each = sizeof be->info.backend + sizeof be->info.name;
    char *mine = calloc(1, each), *all = calloc((size_t)dist_size(), each);
    glow_status st = GLOW_OK;
    if (mine == NULL || all == NULL)
        st = glow_error(GLOW_ERR_OUT_OF_MEMORY, "device names of %d ranks", dist_size());
    if (st == GLOW_OK) {
        memcpy(mine, be->info.backend, sizeof be->info.backend);
        memcpy(mine + sizeof be->info.backend, be->info.name, sizeof be->info.name);
        st = dist_gather_all(mine, all, each, "device names");
    }
    *same = 1;
    for (int r = 1; st == GLOW_OK && r < dist_size(); r++)
        if (memcmp(all, all + (size_t)r * each, each) != 0)
            *same = 0;
    free(mine);
    free(all);
    return st;
}

/* glow_data_parallel's sums are dist.h's (the context is unused: MPI is process-wide). */
static glow_status dp_sum_floats(void *ctx, float *v, size_t n, const char *what)
{
    (void)ctx;
    return dist_sum_floats(v, n, what);
}

static glow_status dp_sum_doubles(void *ctx, double *v, size_t n, const char *what)
{
    (void)ctx;
    return dist_sum_doubles(v, n, what);
}

glow_data_parallel dist_data_parallel(int global_batch)
{
    glow_data_parallel dp = {NULL, global_batch, dp_sum_floats, dp_sum_doubles};
    return dp;
}
