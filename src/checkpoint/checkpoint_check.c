/* Compatibility of a loaded checkpoint with the model the caller built. */
#include "glow/checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

glow_status glow_checkpoint_check_config(const char *path, const glow_model_config *want,
                                         const glow_model_config *got)
{
    const struct {
        const char *name;
        int want, got;
    } fields[] = {
        {"in_c", want->in_c, got->in_c},       {"in_h", want->in_h, got->in_h},
        {"in_w", want->in_w, got->in_w},       {"levels", want->levels, got->levels},
        {"steps", want->steps, got->steps},    {"hidden", want->hidden, got->hidden},
        {"n_bits", want->n_bits, got->n_bits},  {"pad", want->pad, got->pad},
        {"n_classes", want->n_classes, got->n_classes},
        /* class_weight compared in thousandths: a different weight is a different objective */
        {"class_weight x1000", (int)lroundf(want->class_weight * 1000.0f), (int)lroundf(got->class_weight * 1000.0f)},
    };
    char diff[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].want != fields[i].got && used < sizeof diff) {
            int n = snprintf(diff + used, sizeof diff - used, "%s%s %d in the checkpoint, %d requested",
                             used ? ", " : "", fields[i].name, fields[i].got, fields[i].want);
            if (n > 0)
                used += (size_t)n;
        }
    if (used)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: checkpoint config differs: %s", path, diff);
    return GLOW_OK;
}

glow_status glow_checkpoint_check_table(const char *path, const glow_param_table *model_table,
                                        const glow_param_table *ckpt_table)
{
    /* The first differing entry is the most useful message; then the sizes. */
    int common = model_table->count < ckpt_table->count ? model_table->count : ckpt_table->count;
    for (int i = 0; i < common; i++) {
        const glow_param_entry *a = &model_table->entries[i], *b = &ckpt_table->entries[i];
        if (strcmp(a->name, b->name) != 0)
            return glow_error(GLOW_ERR_INVALID_ARG, "%s: parameter %d is '%s' in the checkpoint, '%s' in the model",
                              path, i, b->name, a->name);
        if (a->off != b->off || a->n != b->n || a->h != b->h || a->w != b->w || a->c != b->c ||
            a->trainable != b->trainable)
            return glow_error(GLOW_ERR_INVALID_ARG,
                              "%s: parameter '%s' is (%d,%d,%d,%d) at %zu%s in the checkpoint, (%d,%d,%d,%d) at %zu%s "
                              "in the model",
                              path, a->name, b->n, b->h, b->w, b->c, b->off, b->trainable ? "" : " fixed", a->n, a->h,
                              a->w, a->c, a->off, a->trainable ? "" : " fixed");
    }
    if (model_table->count != ckpt_table->count || model_table->total != ckpt_table->total)
        return glow_error(GLOW_ERR_INVALID_ARG,
                          "%s: checkpoint has %d parameters in %zu floats, the model %d in %zu floats", path,
                          ckpt_table->count, ckpt_table->total, model_table->count, model_table->total);
    return GLOW_OK;
}
