/* A table of named tensors laid out in one flat float32 arena (llm.c style).
 * The model keeps four arenas of the same layout: parameters, gradients and
 * the optimiser's two moments; an entry's offset is the same in each.
 * Offsets are aligned to 16 floats (64 bytes) for vector loads. */
#ifndef GLOW_PARAMS_H
#define GLOW_PARAMS_H

#include <stddef.h>

#include "glow/status.h"

typedef struct {
    char name[64];    /* e.g. "level0.step3.coupling.conv1.w" */
    size_t off;       /* element offset in the arena */
    int n, h, w, c;   /* shape, as in glow_tensor */
    int trainable;    /* 0 for fixed state (LU permutation and sign) */
} glow_param_entry;

typedef struct {
    glow_param_entry *entries;
    int count, capacity;
    size_t total;     /* arena size in floats */
} glow_param_table;

void glow_param_table_init(glow_param_table *t);
void glow_param_table_free(glow_param_table *t);
/* Appends an entry; *index receives its position (may be NULL). */
glow_status glow_param_table_add(glow_param_table *t, const char *name, int n, int h, int w, int c, int trainable,
                                 int *index);
/* Looks an entry up by name; NULL when absent. */
const glow_param_entry *glow_param_table_find(const glow_param_table *t, const char *name);
/* Number of trainable scalars. */
size_t glow_param_table_trainable_count(const glow_param_table *t);

#endif
