#include "glow/params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARAM_ALIGN 16u

void glow_param_table_init(glow_param_table *t)
{
    memset(t, 0, sizeof *t);
}

void glow_param_table_free(glow_param_table *t)
{
    free(t->entries);
    memset(t, 0, sizeof *t);
}

glow_status glow_param_table_add(glow_param_table *t, const char *name, int n, int h, int w, int c, int trainable,
                                 int *index)
{
    if (n <= 0 || h <= 0 || w <= 0 || c <= 0)
        return glow_error(GLOW_ERR_SHAPE, "parameter '%s' has non-positive shape (%d,%d,%d,%d)", name, n, h, w, c);
    if (strlen(name) >= sizeof t->entries[0].name)
        return glow_error(GLOW_ERR_INVALID_ARG, "parameter name '%s' is too long", name);
    if (glow_param_table_find(t, name))
        return glow_error(GLOW_ERR_INVALID_ARG, "parameter '%s' defined twice", name);
    if (t->count == t->capacity) {
        int cap = t->capacity ? t->capacity * 2 : 64;
        glow_param_entry *e = realloc(t->entries, (size_t)cap * sizeof *e);
        if (e == NULL)
            return glow_error(GLOW_ERR_OUT_OF_MEMORY, "parameter table: out of memory");
        t->entries = e;
        t->capacity = cap;
    }
    glow_param_entry *e = &t->entries[t->count];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->off = (t->total + PARAM_ALIGN - 1) / PARAM_ALIGN * PARAM_ALIGN;
    e->n = n;
    e->h = h;
    e->w = w;
    e->c = c;
    e->trainable = trainable;
    t->total = e->off + (size_t)n * h * w * c;
    if (index)
        *index = t->count;
    t->count++;
    return GLOW_OK;
}

const glow_param_entry *glow_param_table_find(const glow_param_table *t, const char *name)
{
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->entries[i].name, name) == 0)
            return &t->entries[i];
    return NULL;
}

size_t glow_param_table_trainable_count(const glow_param_table *t)
{
    size_t total = 0;
    for (int i = 0; i < t->count; i++)
        if (t->entries[i].trainable)
            total += (size_t)t->entries[i].n * t->entries[i].h * t->entries[i].w * t->entries[i].c;
    return total;
}
