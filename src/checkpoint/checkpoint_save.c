/* glow_checkpoint_save: streams the file through a running FNV-1a hash into a
 * temporary file next to `path`, then makes it durable and renames it into place:
 *   mkstemp(path.tmp.XXXXXX) -> fwrite -> fflush -> fsync -> fclose
 *   -> rename(tmp, path) -> fsync(directory)
 *   -> remove the path.tmp.XXXXXX that saves killed mid-write left behind. */
#include "glow/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint_format.h"
#include "checksum.h"

#define FLOAT_CHUNK 16384 /* floats encoded per fwrite */

typedef struct {
    FILE *f;
    uint64_t hash;
    uint64_t written;
    int err; /* errno of the first failed write, else 0 */
} ckpt_writer;

static void put_bytes(ckpt_writer *w, const void *p, size_t n)
{
    if (w->err)
        return;
    if (fwrite(p, 1, n, w->f) != n) {
        w->err = errno ? errno : EIO;
        return;
    }
    w->hash = fnv1a64_update(w->hash, p, n);
    w->written += n;
}

/* An arena as little-endian float32; NULL writes zeros. */
static void put_arena(ckpt_writer *w, const float *a, size_t total)
{
    uint8_t chunk[FLOAT_CHUNK * 4];
    for (size_t i = 0; i < total && !w->err; i += FLOAT_CHUNK) {
        size_t n = total - i < FLOAT_CHUNK ? total - i : FLOAT_CHUNK;
        for (size_t k = 0; k < n; k++)
            ckpt_put_f32(chunk + 4 * k, a ? a[i + k] : 0.0f);
        put_bytes(w, chunk, n * 4);
    }
}

static void put_body(ckpt_writer *w, const glow_checkpoint_state *st, const glow_param_table *t,
                     const float *params, const float *m, const float *v)
{
    uint8_t preamble[CKPT_PREAMBLE_BYTES], header[CKPT_HEADER_BYTES], counts[CKPT_TABLE_COUNTS_BYTES];
    uint8_t entry[CKPT_ENTRY_BYTES], checksum[CKPT_CHECKSUM_BYTES];
    memcpy(preamble, GLOW_CHECKPOINT_MAGIC, CKPT_MAGIC_BYTES);
    ckpt_put_u32(preamble + 8, GLOW_CHECKPOINT_VERSION);
    ckpt_put_u32(preamble + 12, CKPT_HEADER_BYTES);
    put_bytes(w, preamble, sizeof preamble);
    ckpt_encode_header(st, header);
    put_bytes(w, header, sizeof header);
    ckpt_put_u32(counts, (uint32_t)t->count);
    ckpt_put_u64(counts + 4, (uint64_t)t->total);
    put_bytes(w, counts, sizeof counts);
    for (int i = 0; i < t->count; i++) {
        ckpt_encode_entry(&t->entries[i], entry);
        put_bytes(w, entry, sizeof entry);
    }
    put_arena(w, params, t->total);
    put_arena(w, m, t->total);
    put_arena(w, v, t->total);
    ckpt_put_u64(checksum, w->hash);
    if (!w->err && fwrite(checksum, 1, sizeof checksum, w->f) != sizeof checksum)
        w->err = errno ? errno : EIO;
}

/* fsync of the directory holding `path`, so the rename itself is durable. */
static int sync_parent_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Removes dir/base.tmp.XXXXXX (six characters, as mkstemp makes them): the
 * temporaries of earlier saves of `path` that were killed before their rename. */
static void remove_stale_temporaries(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    const size_t base_len = strlen(base);
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const char *name = e->d_name;
        if (strlen(name) != base_len + 5 + 6 || strncmp(name, base, base_len) != 0 ||
            strncmp(name + base_len, ".tmp.", 5) != 0)
            continue;
        char stale[8192];
        snprintf(stale, sizeof stale, "%s/%s", dir, name);
        unlink(stale);
    }
    closedir(d);
}

glow_status glow_checkpoint_save(const char *path, const glow_checkpoint_state *st, const glow_param_table *table,
                                 const float *params, const float *m, const float *v)
{
    if (path == NULL || st == NULL || table == NULL || (params == NULL && table->total > 0))
        return glow_error(GLOW_ERR_INVALID_ARG, "glow_checkpoint_save: path, state, table and params are required");
    if ((unsigned)table->count > CKPT_MAX_ENTRIES)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: %d parameter entries exceed the format's limit of %u", path,
                          table->count, CKPT_MAX_ENTRIES);

    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: checkpoint path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return glow_error(GLOW_ERR_IO, "%s: cannot create temporary file %s: %s", path, tmp, strerror(errno));
    if (fchmod(fd, 0644) != 0) {
        int err = errno;
        close(fd);
        unlink(tmp);
        return glow_error(GLOW_ERR_IO, "%s: chmod of %s failed: %s", path, tmp, strerror(err));
    }
    FILE *f = fdopen(fd, "wb");
    if (f == NULL) {
        int err = errno;
        close(fd);
        unlink(tmp);
        return glow_error(GLOW_ERR_IO, "%s: fdopen of %s failed: %s", path, tmp, strerror(err));
    }

    ckpt_writer w = {f, FNV1A64_INIT, 0, 0};
    put_body(&w, st, table, params, m, v);
    const char *stage = "write";
    if (!w.err && fflush(f) != 0) {
        w.err = errno ? errno : EIO;
        stage = "flush";
    }
    if (!w.err && fsync(fileno(f)) != 0) {
        w.err = errno;
        stage = "fsync";
    }
    if (fclose(f) != 0 && !w.err) {
        w.err = errno ? errno : EIO;
        stage = "close";
    }
    if (w.err) {
        unlink(tmp);
        return glow_error(GLOW_ERR_IO, "%s: %s of temporary file %s failed after %llu bytes: %s (previous file, if "
                          "any, left intact)",
                          path, stage, tmp, (unsigned long long)w.written, strerror(w.err));
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return glow_error(GLOW_ERR_IO, "%s: rename from %s failed: %s", path, tmp, strerror(err));
    }
    if (sync_parent_dir(path) != 0)
        return glow_error(GLOW_ERR_IO, "%s: written, but fsync of its directory failed: %s", path, strerror(errno));
    remove_stale_temporaries(path);
    return GLOW_OK;
}
