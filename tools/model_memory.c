/* Peak device memory of one training step of the Glow model, per memory mode.
 *
 *   model_memory [backend] [L] [F] [batch] [K...]
 *   defaults: cpu 3 128 16, K = 4 8 16 32; input 1x32x32, random pixels.
 *
 * For each K and mode a fresh backend is opened (so its peak counter starts at
 * zero), a model is created, one Adam step is run, and be->ops->memory_usage
 * gives the peak bytes held: parameter/gradient/Adam arenas plus activations
 * and scratch. The arenas alone are printed too, so the activation part is
 * the difference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glow/backend.h"
#include "glow/model.h"

static int measure(const char *backend, glow_model_config cfg, int batch, glow_memory_mode mode, size_t *peak,
                   size_t *arenas)
{
    glow_backend *be = NULL;
    glow_model *m = NULL;
    glow_status st = glow_backend_open(backend, -1, &be);
    if (st != GLOW_OK) {
        fprintf(stderr, "model_memory: %s: %s\n", backend, glow_last_error());
        return 1;
    }
    size_t d = (size_t)cfg.in_c * cfg.in_h * cfg.in_w;
    uint8_t *pixels = malloc((size_t)batch * d);
    for (size_t i = 0; pixels && i < (size_t)batch * d; i++)
        pixels[i] = (uint8_t)glow_rng_bits((glow_rng){1, GLOW_STREAM_TEST, 0, 0}, i);
    st = pixels ? glow_model_create(be, &cfg, 1, batch, &m) : GLOW_ERR_OUT_OF_MEMORY;
    if (st == GLOW_OK) {
        glow_train_options opt = {{GLOW_OPT_ADAM, 1e-3f, 0.9f, 0.999f, 1e-8f, 1, 0.0f}, mode};
        float bpd;
        *arenas = 4 * glow_model_param_table(m)->total * sizeof(float);
        st = glow_model_train_step(m, pixels, batch, (glow_rng){1, GLOW_STREAM_DEQUANT, 0, 0}, &opt, &bpd);
    }
    if (st == GLOW_OK) {
        size_t current;
        be->ops->memory_usage(be, &current, peak);
    } else {
        fprintf(stderr, "model_memory: %s: %s\n", glow_status_name(st), glow_last_error());
    }
    glow_model_destroy(m);
    glow_backend_close(be);
    free(pixels);
    return st != GLOW_OK;
}

int main(int argc, char **argv)
{
    const char *backend = argc > 1 ? argv[1] : "ref";
    int levels = argc > 2 ? atoi(argv[2]) : 3, hidden = argc > 3 ? atoi(argv[3]) : 128;
    int batch = argc > 4 ? atoi(argv[4]) : 16;
    int ks_default[] = {4, 8, 16, 32}, nk = argc > 5 ? argc - 5 : 4;
    printf("backend %s, input 1x32x32, L=%d, F=%d, batch %d\n", backend, levels, hidden, batch);
    printf("%4s  %14s  %16s  %16s  %8s\n", "K", "arenas (MiB)", "store peak (MiB)", "rev. peak (MiB)", "ratio");
    for (int i = 0; i < nk; i++) {
        int k = argc > 5 ? atoi(argv[5 + i]) : ks_default[i];
        glow_model_config cfg = {1, 32, 32, levels, k, hidden, 5, GLOW_PAD_ZERO, 0, 0.0f};
        size_t peak_store = 0, peak_rev = 0, arenas = 0;
        if (measure(backend, cfg, batch, GLOW_MEMORY_STORE, &peak_store, &arenas) ||
            measure(backend, cfg, batch, GLOW_MEMORY_REVERSIBLE, &peak_rev, &arenas))
            return 1;
        printf("%4d  %14.2f  %16.2f  %16.2f  %8.2f\n", k, arenas / 1048576.0, peak_store / 1048576.0,
               peak_rev / 1048576.0, (double)peak_store / (double)peak_rev);
        fflush(stdout);
    }
    return 0;
}
