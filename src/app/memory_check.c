#include "memory_check.h"

#include <stdio.h>

static double gib(size_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0 * 1024.0);
}

/* The largest batch in [1, batch) whose plan fits in `have` bytes; 0 if none. */
static int largest_fitting_batch(const glow_model_config *cfg, int batch, glow_memory_mode mode, uint64_t have)
{
    int lo = 0, hi = batch; /* plan(lo) fits (or lo = 0), plan(hi) does not */
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        glow_model_memory need;
        if (glow_model_memory_need(cfg, mid, mode, &need) == GLOW_OK && need.total <= have)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

glow_status app_check_train_memory(const glow_device_info *info, const glow_model_config *cfg, int batch,
                                   glow_memory_mode mode)
{
    glow_model_memory need;
    GLOW_TRY(glow_model_memory_need(cfg, batch, mode, &need));
    const uint64_t have = info->memory_bytes;
    if (have == 0 || need.total <= have)
        return GLOW_OK;

    char advice[256] = "";
    size_t used = 0;
    if (mode == GLOW_MEMORY_STORE) {
        glow_model_memory rev;
        if (glow_model_memory_need(cfg, batch, GLOW_MEMORY_REVERSIBLE, &rev) == GLOW_OK)
            used += (size_t)snprintf(advice, sizeof advice, "; --memory reversible needs %.2f GiB%s", gib(rev.total),
                                     rev.total <= have ? " and would fit" : ", too much as well");
    }
    int fits = largest_fitting_batch(cfg, batch, mode, have);
    if (used < sizeof advice) {
        if (fits > 0)
            snprintf(advice + used, sizeof advice - used, "; with --memory %s, --batch %d is the largest that fits",
                     mode == GLOW_MEMORY_STORE ? "store" : "reversible", fits);
        else
            snprintf(advice + used, sizeof advice - used, "; not even --batch 1 fits: use a smaller model "
                                                          "(--hidden, --K, --L)");
    }
    return glow_error(GLOW_ERR_OUT_OF_MEMORY,
                      "this configuration needs at least %.2f GiB of device memory to train (L=%d, K=%d, F=%d, "
                      "%dx%dx%d images, batch %d, --memory %s: %.2f GiB of parameters, gradients and Adam "
                      "state, %.2f GiB of level and gradient buffers, %.2f GiB of %s), but %s device '%s' has "
                      "%.2f GiB; nothing was written%s",
                      gib(need.total), cfg->levels, cfg->steps, cfg->hidden, cfg->in_h, cfg->in_w, cfg->in_c, batch,
                      mode == GLOW_MEMORY_STORE ? "store" : "reversible", gib(need.arenas), gib(need.fixed),
                      gib(need.workspace),
                      mode == GLOW_MEMORY_STORE ? "activations stored for every step" : "one step's workspace",
                      info->backend, info->name, gib(have), advice);
}
