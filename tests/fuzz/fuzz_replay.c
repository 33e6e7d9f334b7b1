/* main for the fuzz targets in `meson test`: runs LLVMFuzzerTestOneInput on
 * every file of the directories (or files) given, e.g. tests/data/fuzz/png,
 * which hold the seed corpus and every input that once crashed a reader.
 * A reader that crashes, rejects a seed-* input (a valid file), or an empty
 * corpus fails the test. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fuzz_input.h"

static int replay_file(const char *path, const char *name)
{
    const int accepted_before = fuzz_accept_count;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "fuzz_replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + len, 1, cap - len, f)) > 0;) {
        len += got;
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap * 2);
            if (grown == NULL)
                break;
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf == NULL) {
        fprintf(stderr, "fuzz_replay: out of memory for %s\n", path);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    if (strncmp(name, "seed-", 5) == 0 && fuzz_accept_count == accepted_before) {
        fprintf(stderr, "fuzz_replay: %s is a valid seed, but the reader rejected it\n", path);
        return -1;
    }
    return 0;
}

#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_UNDER_ASAN 1
#endif
#endif

#ifdef REPLAY_UNDER_ASAN
/* AddressSanitizer reserves terabytes of shadow address space, so it caps allocations itself. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=4096";
}
#endif

/* Caps the address space at 4 GiB so that an allocation a small input should
 * never cause fails (and fuzz_check reports it) instead of being overcommitted. */
static void cap_memory(void)
{
#ifndef REPLAY_UNDER_ASAN
    struct rlimit lim = {(rlim_t)4 << 30, (rlim_t)4 << 30};
    if (setrlimit(RLIMIT_AS, &lim) != 0)
        perror("fuzz_replay: setrlimit");
#endif
}

int main(int argc, char **argv)
{
    cap_memory();
    int replayed = 0, bad = 0;
    for (int a = 1; a < argc; a++) {
        struct stat sb;
        if (stat(argv[a], &sb) != 0) {
            fprintf(stderr, "fuzz_replay: %s does not exist\n", argv[a]);
            return 1;
        }
        if (!S_ISDIR(sb.st_mode)) {
            const char *slash = strrchr(argv[a], '/');
            bad |= replay_file(argv[a], slash ? slash + 1 : argv[a]) != 0;
            replayed++;
            continue;
        }
        DIR *d = opendir(argv[a]);
        if (d == NULL) {
            fprintf(stderr, "fuzz_replay: cannot list %s\n", argv[a]);
            return 1;
        }
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], e->d_name);
            bad |= replay_file(path, e->d_name) != 0;
            replayed++;
        }
        closedir(d);
    }
    printf("fuzz_replay: %d inputs replayed\n", replayed);
    if (replayed == 0)
        fprintf(stderr, "fuzz_replay: no inputs: the corpus is missing\n");
    return bad || replayed == 0;
}
