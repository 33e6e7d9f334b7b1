/* Helpers shared by the model suites (header-only: tests/meson.build links each
 * suite with test_util.c only). */
#ifndef GLOW_MODEL_TEST_UTIL_H
#define GLOW_MODEL_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "glow/model.h"
#include "test_util.h"

/* pad: GLOW_PAD_ZERO or GLOW_PAD_EDGE (glow_pad_mode). */
static inline glow_model *mt_create_pad(glow_backend *be, int c, int h, int w, int levels, int steps, int hidden,
                                        int max_batch, uint64_t seed, int pad)
{
    glow_model_config cfg = {c, h, w, levels, steps, hidden, 5, pad, 0, 0.0f};
    glow_model *m = NULL;
    TU_OK(glow_model_create(be, &cfg, seed, max_batch, &m));
    return m;
}

static inline glow_model *mt_create(glow_backend *be, int c, int h, int w, int levels, int steps, int hidden,
                                    int max_batch, uint64_t seed)
{
    return mt_create_pad(be, c, h, w, levels, steps, hidden, max_batch, seed, GLOW_PAD_ZERO);
}

/* Moves every trainable parameter away from its initial value so that no layer
 * is an identity: actnorm, LU factors and zero-initialised convs get uniform
 * noise (amplitudes below). The priors are only perturbed when `priors` != 0,
 * otherwise they stay zero, i.e. standard normal. */
static inline void mt_perturb_params(glow_model *m, uint32_t seed, int priors)
{
    const glow_param_table *t = glow_model_param_table(m);
    float *p = malloc(t->total * sizeof *p);
    assert_non_null(p);
    TU_OK(glow_model_arena_download(m, GLOW_ARENA_PARAMS, p));
    for (int i = 0; i < t->count; i++) {
        const glow_param_entry *e = &t->entries[i];
        size_t count = (size_t)e->n * e->h * e->w * e->c;
        float amp = 0.0f;
        if (!e->trainable)
            continue;
        if (strstr(e->name, "prior"))
            amp = priors ? 0.1f : 0.0f;
        else if (strstr(e->name, "actnorm"))
            amp = 0.3f;
        else if (strstr(e->name, "invconv"))
            amp = 0.1f; /* off-diagonal entries of C x C factors: keeps W well conditioned */
        else if (strstr(e->name, "zeroconv"))
            amp = 0.05f;
        if (amp == 0.0f)
            continue;
        float *noise = tu_random(count, seed + (uint32_t)i, -amp, amp);
        for (size_t j = 0; j < count; j++)
            p[e->off + j] += noise[j];
        free(noise);
    }
    TU_OK(glow_model_arena_upload(m, GLOW_ARENA_PARAMS, p));
    free(p);
}

#endif
