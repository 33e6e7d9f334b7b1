/* glow_checkpoint_load: validates a checkpoint in this order, so that each
 * kind of damage gets its own message:
 *   1. magic, format version, header size      (not a checkpoint / other version;
 *                                                 versions 1 to 3 are read)
 *   2. file size against the header's counts    (truncated or extended)
 *   3. FNV-1a over all bytes but the last 8     (any corrupted byte)
 *   4. header fields and table consistency      (a well-formed but bad file)
 *   5. arenas decoded into the caller's arrays, config compared if required. */
#include "glow/checkpoint.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint_format.h"
#include "checksum.h"

#define READ_CHUNK (1u << 16)

static glow_status read_at(FILE *f, const char *path, uint64_t offset, void *dst, size_t n, const char *what)
{
    if (fseeko(f, (off_t)offset, SEEK_SET) != 0 || fread(dst, 1, n, f) != n)
        return glow_error(GLOW_ERR_IO, "%s: byte %llu: cannot read %s: %s", path, (unsigned long long)offset, what,
                          ferror(f) ? strerror(errno) : "unexpected end of file");
    return GLOW_OK;
}

/* Steps 1-2: preamble, header record and counts; the file size must match. */
static glow_status read_front(FILE *f, const char *path, uint64_t file_size, glow_checkpoint_state *st,
                              uint32_t *header_bytes_out, uint32_t *entries, uint64_t *total)
{
    uint8_t pre[CKPT_PREAMBLE_BYTES], header[CKPT_HEADER_BYTES], counts[CKPT_TABLE_COUNTS_BYTES];
    if (file_size < CKPT_PREAMBLE_BYTES)
        return glow_error(GLOW_ERR_FORMAT, "%s: truncated at byte %llu: a checkpoint has at least %d bytes", path,
                          (unsigned long long)file_size, CKPT_PREAMBLE_BYTES);
    GLOW_TRY(read_at(f, path, 0, pre, sizeof pre, "the preamble"));
    if (memcmp(pre, GLOW_CHECKPOINT_MAGIC, CKPT_MAGIC_BYTES) != 0)
        return glow_error(GLOW_ERR_FORMAT, "%s: byte 0: not a glow-vk checkpoint (magic is not \"%s\")", path,
                          GLOW_CHECKPOINT_MAGIC);
    uint32_t version = ckpt_get_u32(pre + 8);
    uint32_t version_header = ckpt_header_bytes(version);
    if (version_header == 0)
        return glow_error(GLOW_ERR_FORMAT, "%s: byte 8: format version %u, this build reads versions 1 to %d",
                          path, version, GLOW_CHECKPOINT_VERSION);
    uint32_t header_bytes = ckpt_get_u32(pre + 12);
    if (header_bytes != version_header)
        return glow_error(GLOW_ERR_FORMAT, "%s: byte 12: header record of %u bytes, version %u has %u", path,
                          header_bytes, version, version_header);
    *header_bytes_out = header_bytes;
    const uint64_t counts_at = ckpt_counts_offset(header_bytes);
    uint64_t front = counts_at + CKPT_TABLE_COUNTS_BYTES;
    if (file_size < front + CKPT_CHECKSUM_BYTES)
        return glow_error(GLOW_ERR_FORMAT, "%s: truncated at byte %llu: the header alone needs %llu bytes", path,
                          (unsigned long long)file_size, (unsigned long long)(front + CKPT_CHECKSUM_BYTES));
    GLOW_TRY(read_at(f, path, CKPT_PREAMBLE_BYTES, header, header_bytes, "the header"));
    GLOW_TRY(read_at(f, path, counts_at, counts, sizeof counts, "the table size"));
    ckpt_decode_header(header, header_bytes, st);
    *entries = ckpt_get_u32(counts);
    *total = ckpt_get_u64(counts + 4);
    /* Bound the counts before computing the size so that it cannot overflow. */
    if (*entries > CKPT_MAX_ENTRIES || *total > file_size / 12)
        return glow_error(GLOW_ERR_FORMAT,
                          "%s: byte %llu: %u table entries and %llu floats per arena cannot fit in a %llu-byte file "
                          "(truncated or corrupt)",
                          path, (unsigned long long)counts_at, *entries,
                          (unsigned long long)*total, (unsigned long long)file_size);
    uint64_t expected = ckpt_file_size(header_bytes, *entries, *total);
    if (file_size < expected)
        return glow_error(GLOW_ERR_FORMAT, "%s: truncated at byte %llu: expected %llu bytes", path,
                          (unsigned long long)file_size, (unsigned long long)expected);
    if (file_size > expected)
        return glow_error(GLOW_ERR_FORMAT, "%s: byte %llu: %llu unexpected bytes after the checksum (file has %llu)",
                          path, (unsigned long long)expected, (unsigned long long)(file_size - expected),
                          (unsigned long long)file_size);
    return GLOW_OK;
}

/* Step 3: the stored checksum equals FNV-1a of every byte before it. */
static glow_status verify_checksum(FILE *f, const char *path, uint64_t file_size)
{
    uint8_t buf[READ_CHUNK], stored_bytes[CKPT_CHECKSUM_BYTES];
    uint64_t body = file_size - CKPT_CHECKSUM_BYTES, hash = FNV1A64_INIT;
    if (fseeko(f, 0, SEEK_SET) != 0)
        return glow_error(GLOW_ERR_IO, "%s: seek failed: %s", path, strerror(errno));
    for (uint64_t at = 0; at < body;) {
        size_t n = body - at < READ_CHUNK ? (size_t)(body - at) : READ_CHUNK;
        if (fread(buf, 1, n, f) != n)
            return glow_error(GLOW_ERR_IO, "%s: byte %llu: read failed: %s", path, (unsigned long long)at,
                              ferror(f) ? strerror(errno) : "unexpected end of file");
        hash = fnv1a64_update(hash, buf, n);
        at += n;
    }
    GLOW_TRY(read_at(f, path, body, stored_bytes, sizeof stored_bytes, "the checksum"));
    uint64_t stored = ckpt_get_u64(stored_bytes);
    if (stored != hash)
        return glow_error(GLOW_ERR_FORMAT,
                          "%s: checksum mismatch (stored 0x%016llx, computed 0x%016llx over %llu bytes): the file is "
                          "corrupt",
                          path, (unsigned long long)stored, (unsigned long long)hash, (unsigned long long)body);
    return GLOW_OK;
}

/* Step 4a: plausible header fields. */
static glow_status check_state(const char *path, const glow_checkpoint_state *st)
{
    const glow_model_config *c = &st->config;
    if (c->in_c <= 0 || c->in_h <= 0 || c->in_w <= 0 || c->levels <= 0 || c->steps <= 0 || c->hidden <= 0 ||
        c->n_bits < 1 || c->n_bits > 8)
        return glow_error(GLOW_ERR_FORMAT,
                          "%s: invalid model config (input %dx%dx%d, levels %d, steps %d, hidden %d, n_bits %d)", path,
                          c->in_c, c->in_h, c->in_w, c->levels, c->steps, c->hidden, c->n_bits);
    if (c->pad != GLOW_PAD_ZERO && c->pad != GLOW_PAD_EDGE) /* version 3: --pad */
        return glow_error(GLOW_ERR_FORMAT, "%s: unknown padding mode %d", path, c->pad);
    if (st->memory != GLOW_MEMORY_STORE && st->memory != GLOW_MEMORY_REVERSIBLE)
        return glow_error(GLOW_ERR_FORMAT, "%s: unknown memory mode %d", path, (int)st->memory);
    if (st->optimizer != GLOW_OPT_ADAM && st->optimizer != GLOW_OPT_ADAMAX)
        return glow_error(GLOW_ERR_FORMAT, "%s: unknown optimizer %d", path, (int)st->optimizer);
    if (st->precision != GLOW_PRECISION_FP32 && st->precision != GLOW_PRECISION_TF32)
        return glow_error(GLOW_ERR_FORMAT, "%s: unknown precision %d", path, (int)st->precision);
    if (st->batch < 0 || st->epochs < 0 || st->step < 0 || st->epoch < 0 || st->position < 0 ||
        (st->actnorm_initialized != 0 && st->actnorm_initialized != 1))
        return glow_error(GLOW_ERR_FORMAT,
                          "%s: invalid training state (batch %d, epochs %d, step %lld, epoch %d, position %lld, "
                          "actnorm_initialized %d)",
                          path, st->batch, st->epochs, (long long)st->step, st->epoch, (long long)st->position,
                          st->actnorm_initialized);
    if (st->train_limit < -1 || st->train_count < -1)
        return glow_error(GLOW_ERR_FORMAT, "%s: invalid data order (train_limit %d, train_count %d)", path,
                          st->train_limit, st->train_count);
    if (c->n_classes < 0 || c->n_classes > GLOW_MODEL_MAX_CLASSES || !isfinite(c->class_weight) ||
        c->class_weight < 0.0f || (c->class_weight > 0.0f && c->n_classes == 0))
        return glow_error(GLOW_ERR_FORMAT, "%s: invalid class-conditional settings (n_classes %d, class_weight %g)",
                          path, c->n_classes, (double)c->class_weight);
    if (!isfinite(st->lr) || !isfinite(st->warmup_epochs))
        return glow_error(GLOW_ERR_FORMAT, "%s: non-finite learning rate or warm-up", path);
    return GLOW_OK;
}

/* Step 4b: entries in ascending, non-overlapping order inside the arena, names unique. */
static glow_status check_table(const char *path, const glow_param_table *t, uint64_t table_at)
{
    size_t end = 0;
    for (int i = 0; i < t->count; i++) {
        const glow_param_entry *e = &t->entries[i];
        uint64_t at = table_at + (uint64_t)i * CKPT_ENTRY_BYTES;
        if (memchr(e->name, '\0', sizeof e->name) == NULL || e->name[0] == '\0')
            return glow_error(GLOW_ERR_FORMAT, "%s: byte %llu: table entry %d has an empty or unterminated name", path,
                              (unsigned long long)at, i);
        if (e->n <= 0 || e->h <= 0 || e->w <= 0 || e->c <= 0 || (e->trainable != 0 && e->trainable != 1))
            return glow_error(GLOW_ERR_FORMAT, "%s: byte %llu: entry '%s' has shape (%d,%d,%d,%d), trainable %d", path,
                              (unsigned long long)at, e->name, e->n, e->h, e->w, e->c, e->trainable);
        uint64_t size = (uint64_t)e->n * (uint64_t)e->h * (uint64_t)e->w * (uint64_t)e->c;
        if (e->off < end || size > t->total || e->off > t->total - size)
            return glow_error(GLOW_ERR_FORMAT,
                              "%s: byte %llu: entry '%s' at offset %zu (%llu floats) overlaps the previous entry "
                              "or leaves the %zu-float arena",
                              path, (unsigned long long)at, e->name, e->off, (unsigned long long)size, t->total);
        end = e->off + (size_t)size;
        for (int j = 0; j < i; j++)
            if (strcmp(t->entries[j].name, e->name) == 0)
                return glow_error(GLOW_ERR_FORMAT, "%s: byte %llu: entry '%s' appears twice", path,
                                  (unsigned long long)at, e->name);
    }
    return GLOW_OK;
}

/* Step 5: one arena (little-endian float32) into dst, or skipped when dst is NULL. */
static glow_status read_arena(FILE *f, const char *path, uint64_t offset, size_t total, float *dst)
{
    if (dst == NULL)
        return GLOW_OK;
    uint8_t buf[READ_CHUNK];
    if (fseeko(f, (off_t)offset, SEEK_SET) != 0)
        return glow_error(GLOW_ERR_IO, "%s: seek failed: %s", path, strerror(errno));
    for (size_t i = 0; i < total;) {
        size_t n = total - i < READ_CHUNK / 4 ? total - i : READ_CHUNK / 4;
        if (fread(buf, 4, n, f) != n)
            return glow_error(GLOW_ERR_IO, "%s: byte %llu: read failed", path,
                              (unsigned long long)(offset + 4 * (uint64_t)i));
        for (size_t k = 0; k < n; k++)
            dst[i + k] = ckpt_get_f32(buf + 4 * k);
        i += n;
    }
    return GLOW_OK;
}

/* Reads the whole file; arenas[a] is allocated (after the size check) when
 * want[a] is set, and left for the caller to hand out or free. */
static glow_status load_open(FILE *f, const char *path, const glow_model_config *expect_config,
                             glow_checkpoint_state *st, glow_param_table *table, const int want[3], float *arenas[3])
{
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0)
        return glow_error(GLOW_ERR_IO, "%s: stat failed: %s", path, strerror(errno));
    uint64_t file_size = (uint64_t)sb.st_size;
    uint32_t header_bytes = 0, entries = 0;
    uint64_t total = 0;
    GLOW_TRY(read_front(f, path, file_size, st, &header_bytes, &entries, &total));
    for (int a = 0; a < 3; a++)
        if (want[a]) {
            arenas[a] = malloc(total ? (size_t)total * sizeof(float) : sizeof(float));
            if (arenas[a] == NULL)
                return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: out of memory for a %llu-float arena", path,
                                  (unsigned long long)total);
        }
    GLOW_TRY(verify_checksum(f, path, file_size));
    GLOW_TRY(check_state(path, st));
    if (expect_config)
        GLOW_TRY(glow_checkpoint_check_config(path, expect_config, &st->config));

    uint64_t table_at = ckpt_counts_offset(header_bytes) + CKPT_TABLE_COUNTS_BYTES;
    table->entries = calloc(entries ? entries : 1, sizeof *table->entries);
    if (table->entries == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: out of memory for %u table entries", path, entries);
    table->capacity = (int)(entries ? entries : 1);
    table->total = (size_t)total;
    if (fseeko(f, (off_t)table_at, SEEK_SET) != 0)
        return glow_error(GLOW_ERR_IO, "%s: seek failed: %s", path, strerror(errno));
    for (uint32_t i = 0; i < entries; i++) {
        uint8_t rec[CKPT_ENTRY_BYTES];
        if (fread(rec, 1, sizeof rec, f) != sizeof rec)
            return glow_error(GLOW_ERR_IO, "%s: byte %llu: cannot read table entry %u", path,
                              (unsigned long long)(table_at + (uint64_t)i * CKPT_ENTRY_BYTES), i);
        ckpt_decode_entry(rec, &table->entries[i]);
        table->count = (int)i + 1;
    }
    GLOW_TRY(check_table(path, table, table_at));

    uint64_t arena_at = table_at + (uint64_t)entries * CKPT_ENTRY_BYTES;
    for (int a = 0; a < 3; a++) {
        if (arenas[a] == NULL)
            continue;
        GLOW_TRY(read_arena(f, path, arena_at + (uint64_t)a * total * 4, (size_t)total, arenas[a]));
    }
    return GLOW_OK;
}

glow_status glow_checkpoint_load(const char *path, const glow_model_config *expect_config,
                                 glow_checkpoint_state *st, glow_param_table *table, float **params, float **m,
                                 float **v)
{
    if (path == NULL || st == NULL || table == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "glow_checkpoint_load: path, state and table are required");
    float **outs[3] = {params, m, v};
    float *arenas[3] = {NULL, NULL, NULL};
    for (int a = 0; a < 3; a++)
        if (outs[a])
            *outs[a] = NULL;
    glow_param_table_init(table);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return glow_error(GLOW_ERR_IO, "%s: cannot open checkpoint: %s", path, strerror(errno));

    int want[3];
    for (int a = 0; a < 3; a++)
        want[a] = outs[a] != NULL;
    glow_status s = load_open(f, path, expect_config, st, table, want, arenas);
    fclose(f);
    if (s != GLOW_OK) {
        for (int a = 0; a < 3; a++)
            free(arenas[a]);
        glow_param_table_free(table);
        memset(st, 0, sizeof *st);
        return s;
    }
    for (int a = 0; a < 3; a++)
        if (outs[a])
            *outs[a] = arenas[a];
    return GLOW_OK;
}
