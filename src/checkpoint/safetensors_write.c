/* glow_safetensors_write (format and shapes in glow/safetensors.h). */
#include "glow/safetensors.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "byte_order.h"

typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} text;

static void append(text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->cap ? 2 * t->cap : 4096) + n;
        char *b = realloc(t->buf, cap);
        if (b == NULL) {
            t->failed = 1;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void append_str(text *t, const char *s)
{
    append(t, s, strlen(s));
}

/* A JSON string literal of s. */
static void append_json_string(text *t, const char *s)
{
    append(t, "\"", 1);
    for (; *s; s++) {
        char esc[8];
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            append(t, esc, 2);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            append_str(t, esc);
        } else {
            append(t, (const char *)&ch, 1);
        }
    }
    append(t, "\"", 1);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void append_shape(text *t, const glow_param_entry *e)
{
    char s[96];
    if (ends_with(e->name, ".w"))
        snprintf(s, sizeof s, "[%d,%d,%d,%d]", e->n, e->h, e->w, e->c);
    else if (ends_with(e->name, ".edge")) /* --pad edge: w_edge[co][ky][kx], (Co,3,3,1) in the table */
        snprintf(s, sizeof s, "[%d,%d,%d]", e->n, e->h, e->w);
    else if (e->n == 1)
        snprintf(s, sizeof s, "[%d]", e->h * e->w * e->c);
    else
        snprintf(s, sizeof s, "[%d,%d]", e->n, e->h * e->w * e->c);
    append_str(t, s);
}

static glow_status write_all(FILE *f, const void *p, size_t n, const char *path)
{
    if (n > 0 && fwrite(p, 1, n, f) != n)
        return glow_error(GLOW_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return GLOW_OK;
}

glow_status glow_safetensors_write(const char *path, const glow_param_table *table, const float *params,
                                   const char *const *meta_keys, const char *const *meta_values, int n_meta)
{
    _Static_assert(sizeof(float) == 4, "F32 tensors are 4-byte floats");
    {
        const uint16_t probe = 1;
        if (*(const uint8_t *)&probe != 1)
            return glow_error(GLOW_ERR_UNAVAILABLE, "%s: safetensors export needs a little-endian host", path);
    }
    text t = {0};
    append_str(&t, "{\"__metadata__\":{");
    for (int i = 0; i < n_meta; i++) {
        if (i > 0)
            append(&t, ",", 1);
        append_json_string(&t, meta_keys[i]);
        append(&t, ":", 1);
        append_json_string(&t, meta_values[i]);
    }
    append(&t, "}", 1);
    size_t offset = 0;
    for (int i = 0; i < table->count; i++) {
        const glow_param_entry *e = &table->entries[i];
        const size_t bytes = (size_t)e->n * e->h * e->w * e->c * sizeof(float);
        char range[96];
        append(&t, ",", 1);
        append_json_string(&t, e->name);
        append_str(&t, ":{\"dtype\":\"F32\",\"shape\":");
        append_shape(&t, e);
        snprintf(range, sizeof range, ",\"data_offsets\":[%zu,%zu]}", offset, offset + bytes);
        append_str(&t, range);
        offset += bytes;
    }
    append(&t, "}", 1);
    while (!t.failed && t.len % 8 != 0)
        append(&t, " ", 1);
    if (t.failed) {
        free(t.buf);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: safetensors header", path);
    }

    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        free(t.buf);
        return glow_error(GLOW_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    uint8_t len8[8];
    le_put_u64(len8, (uint64_t)t.len);
    glow_status st = write_all(f, len8, 8, tmp);
    if (st == GLOW_OK)
        st = write_all(f, t.buf, t.len, tmp);
    for (int i = 0; i < table->count && st == GLOW_OK; i++) {
        const glow_param_entry *e = &table->entries[i];
        st = write_all(f, params + e->off, (size_t)e->n * e->h * e->w * e->c * sizeof(float), tmp);
    }
    if (fclose(f) != 0 && st == GLOW_OK)
        st = glow_error(GLOW_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (st == GLOW_OK && rename(tmp, path) != 0)
        st = glow_error(GLOW_ERR_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (st != GLOW_OK)
        remove(tmp);
    free(t.buf);
    return st;
}
