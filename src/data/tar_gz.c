/* Members of a ustar archive read straight out of a .tar.gz through zlib.
 *
 * A tar archive is a sequence of 512-byte blocks: each member is one header
 * block (name at 0..99, size as octal text at 124..135, type flag at 156,
 * "ustar" magic at 257, name prefix at 345..499) followed by its data padded
 * to a multiple of 512 bytes; two zero blocks end the archive. */
#include "data_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define TAR_BLOCK 512u
#define MEMBER_FIRST_CAPACITY ((size_t)1 << 20)

static int block_is_zero(const uint8_t *b)
{
    for (unsigned i = 0; i < TAR_BLOCK; i++)
        if (b[i])
            return 0;
    return 1;
}

/* Octal text field (NUL or space terminated); -1 if malformed. */
static long long parse_octal(const uint8_t *field, int width)
{
    long long v = 0;
    int i = 0, digits = 0;
    while (i < width && field[i] == ' ')
        i++;
    for (; i < width && field[i] >= '0' && field[i] <= '7'; i++, digits++)
        v = v * 8 + (field[i] - '0');
    if (digits == 0 || (i < width && field[i] != '\0' && field[i] != ' '))
        return -1;
    return v;
}

/* "prefix/name" of a header block into out (size >= 257). */
static void header_path(const uint8_t *h, char *out, size_t size)
{
    char name[101], prefix[156];
    memcpy(name, h, 100);
    name[100] = '\0';
    memcpy(prefix, h + 345, 155);
    prefix[155] = '\0';
    if (memcmp(h + 257, "ustar", 5) == 0 && prefix[0])
        snprintf(out, size, "%s/%s", prefix, name);
    else
        snprintf(out, size, "%s", name);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Reads exactly n bytes (or discards them when dst is NULL); 0 on success. */
static int read_exact(gzFile f, uint8_t *dst, size_t n)
{
    uint8_t scratch[1u << 16];
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        if (dst == NULL && chunk > sizeof scratch)
            chunk = sizeof scratch;
        int got = gzread(f, dst ? dst : scratch, chunk);
        if (got <= 0)
            return -1;
        if (dst)
            dst += got;
        n -= (size_t)got;
    }
    return 0;
}

/* Reads a member's `size` bytes into *out (malloc'ed). The buffer grows as the
 * data arrives (from 1 MiB, doubling), so a corrupt size field cannot claim
 * more memory than the archive holds. 0 on success, -1 if the stream ends or
 * fails first, -2 when out of memory. */
static int read_member(gzFile f, size_t size, uint8_t **out)
{
    size_t cap = size < MEMBER_FIRST_CAPACITY ? size : MEMBER_FIRST_CAPACITY, used = 0;
    uint8_t *data = malloc(cap ? cap : 1);
    if (data == NULL)
        return -2;
    while (used < size) {
        if (used == cap) {
            size_t next = cap > size / 2 ? size : 2 * cap;
            uint8_t *grown = realloc(data, next);
            if (grown == NULL) {
                free(data);
                return -2;
            }
            data = grown;
            cap = next;
        }
        if (read_exact(f, data + used, cap - used) != 0) {
            free(data);
            return -1;
        }
        used = cap;
    }
    *out = data;
    return 0;
}

static glow_status read_failure(gzFile f, const char *path, unsigned long long at, const char *what)
{
    int zerr = 0;
    const char *msg = gzerror(f, &zerr);
    return glow_error(zerr == Z_ERRNO ? GLOW_ERR_IO : GLOW_ERR_FORMAT,
                      "%s: truncated or corrupt archive at byte %llu of the tar stream while reading %s%s%s", path, at,
                      what, zerr != Z_OK ? ": " : "", zerr != Z_OK ? msg : "");
}

glow_status data_read_tar_gz_members(const char *path, const char *const *wanted, int n_wanted, uint8_t **bufs,
                                     size_t *lens)
{
    for (int i = 0; i < n_wanted; i++) {
        bufs[i] = NULL;
        lens[i] = 0;
    }
    gzFile f = gzopen(path, "rb");
    if (f == NULL)
        return glow_error(GLOW_ERR_IO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOMEM));

    glow_status st = GLOW_OK;
    unsigned long long at = 0; /* byte offset in the decompressed tar stream */
    int found = 0;
    uint8_t header[TAR_BLOCK];
    while (found < n_wanted) {
        if (read_exact(f, header, TAR_BLOCK) != 0) {
            st = read_failure(f, path, at, "a member header");
            break;
        }
        if (block_is_zero(header))
            break; /* end of archive */
        long long size = parse_octal(header + 124, 12);
        if (size < 0) {
            st = glow_error(GLOW_ERR_FORMAT, "%s: byte %llu: malformed tar header (size field is not octal)", path,
                            at);
            break;
        }
        char member[300];
        header_path(header, member, sizeof member);
        at += TAR_BLOCK;
        size_t padded = ((size_t)size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
        char type = (char)header[156];
        int slot = -1;
        if (type == '0' || type == '\0')
            for (int i = 0; i < n_wanted; i++)
                if (bufs[i] == NULL && strcmp(base_name(member), wanted[i]) == 0)
                    slot = i;
        if (slot >= 0) {
            uint8_t *data = NULL;
            int got = read_member(f, (size_t)size, &data);
            if (got == -2) {
                st = glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: out of memory for member %s (%lld bytes)", path,
                                member, size);
                break;
            }
            if (got != 0 || read_exact(f, NULL, padded - (size_t)size) != 0) {
                free(data);
                st = read_failure(f, path, at, member);
                break;
            }
            bufs[slot] = data;
            lens[slot] = (size_t)size;
            found++;
        } else if (read_exact(f, NULL, padded) != 0) {
            st = read_failure(f, path, at, member);
            break;
        }
        at += padded;
    }
    gzclose(f);
    if (st != GLOW_OK)
        for (int i = 0; i < n_wanted; i++) {
            free(bufs[i]);
            bufs[i] = NULL;
            lens[i] = 0;
        }
    return st;
}
