#define _GNU_SOURCE
#include "fuzz_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int fuzz_accept_count = 0;
static int g_fd = -1;
static char g_path[64];

const char *fuzz_input_path(const uint8_t *data, size_t size)
{
    if (g_fd < 0) {
        g_fd = memfd_create("glow-fuzz-input", 0);
        if (g_fd < 0) {
            perror("fuzz: memfd_create");
            abort();
        }
        snprintf(g_path, sizeof g_path, "/proc/self/fd/%d", g_fd);
    }
    if (ftruncate(g_fd, 0) != 0) {
        perror("fuzz: ftruncate");
        abort();
    }
    for (size_t done = 0; done < size;) {
        ssize_t n = pwrite(g_fd, data + done, size - done, (off_t)done);
        if (n <= 0) {
            perror("fuzz: pwrite");
            abort();
        }
        done += (size_t)n;
    }
    return g_path;
}

unsigned fuzz_touch(const uint8_t *buf, size_t n)
{
    unsigned h = 0;
    for (size_t i = 0; i < n; i++)
        h = h * 31u + buf[i];
    return h;
}

glow_status fuzz_check(glow_status st, size_t size)
{
    if (st == GLOW_ERR_OUT_OF_MEMORY) {
        fprintf(stderr, "fuzz: the reader ran out of memory on a %zu-byte input: %s\n", size, glow_last_error());
        abort();
    }
    return st;
}

void fuzz_accepted(void)
{
    fuzz_accept_count++;
}
