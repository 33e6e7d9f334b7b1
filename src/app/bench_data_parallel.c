/* glow-vk bench under mpirun (-np N > 1): data-parallel scaling of a training step.
 *
 *   1 rank:  rank 0 alone trains on the global batch B (the others wait without spinning);
 *   N ranks: every rank trains on B/N images and the gradients are summed (src/dist);
 * images/s = B * steps / wall seconds on rank 0, scaling efficiency = ips_N / (N ips_1), and
 * the bytes rank 0 sent plus received per step (dist_bytes_moved). Synthetic pixels (Philox). */
#include "bench_data_parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_common.h"
#include "bench_config.h"
#include "cli_args.h"
#include "dist.h"
#include "dist_backend.h"
#include "glow/model.h"

/* warmup + steps training steps of `batch` images; seconds of the timed ones in *seconds. */
static glow_status time_steps(glow_model *m, const uint8_t *pixels, int batch, int warmup, int steps,
                              double *seconds)
{
    glow_train_options opt;
    memset(&opt, 0, sizeof opt);
    opt.adam = (glow_adam_params){GLOW_OPT_ADAM, 1e-4f, 0.9f, 0.999f, 1e-8f, 1, 0.0f};
    opt.memory = GLOW_MEMORY_REVERSIBLE;
    double t0 = 0.0;
    for (int s = 0; s < warmup + steps; s++) {
        if (s == warmup)
            t0 = app_now_seconds();
        glow_rng rng = {7, GLOW_STREAM_DEQUANT, (uint32_t)s, 0};
        float bpd = 0.0f;
        opt.adam.step = s + 1;
        GLOW_TRY(glow_model_train_step(m, pixels, batch, rng, &opt, &bpd));
    }
    *seconds = app_now_seconds() - t0;
    return GLOW_OK;
}

static glow_status run(const char *backend, const char *devices, int batch, const glow_model_config *config,
                       int warmup, int steps)
{
    const int ranks = dist_size(), rank = dist_rank(), local = batch / ranks;
    char name[32], err[256];
    int device = -1;
    if (!dist_choose_backend(backend, devices, name, sizeof name, &device, err, sizeof err))
        return glow_error(GLOW_ERR_INVALID_ARG, "%s", err);
    glow_backend *be = NULL;
    glow_model *m = NULL;
    GLOW_TRY(dist_open_backend(name, device, &be));
    const glow_model_config cfg = *config;
    const size_t image = (size_t)cfg.in_c * cfg.in_h * cfg.in_w;
    uint8_t *pixels = malloc((size_t)batch * image);
    glow_status st = pixels == NULL ? glow_error(GLOW_ERR_OUT_OF_MEMORY, "bench pixels") : GLOW_OK;
    if (st == GLOW_OK)
        st = glow_model_create(be, &cfg, 1, rank == 0 ? batch : local, &m);
    glow_rng pr = {3, GLOW_STREAM_TEST, 0, 0};
    for (size_t i = 0; st == GLOW_OK && i < (size_t)batch * image; i++)
        pixels[i] = (uint8_t)glow_rng_bits(pr, i);
    double one = 0.0, many = 0.0, token = 0.0;
    /* 1 rank: rank 0 alone; the others wait in the sum that follows (polling with a sleep) */
    if (st == GLOW_OK && rank == 0)
        st = time_steps(m, pixels, batch, warmup, steps, &one);
    if (st == GLOW_OK)
        st = dist_sum_doubles(&token, 1, "bench start");
    glow_data_parallel dp = dist_data_parallel(batch);
    const uint64_t bytes0 = dist_bytes_moved();
    if (st == GLOW_OK) {
        /* rank 0's actnorm init ran in its 1-rank steps; the others must not start one alone */
        glow_model_set_actnorm_initialized(m, 1);
        glow_model_set_data_parallel(m, &dp);
        st = time_steps(m, pixels + (size_t)rank * local * image, local, warmup, steps, &many);
    }
    const double bytes = (double)(dist_bytes_moved() - bytes0) / (warmup + steps);
    if (st == GLOW_OK && rank == 0) {
        const double ips1 = batch * steps / one, ipsn = batch * steps / many;
        printf("data-parallel bench: %dx%dx%d, L=%d K=%d F=%d, %zu parameters, global batch %d, %d timed steps\n",
               cfg.in_c, cfg.in_h, cfg.in_w, cfg.levels, cfg.steps, cfg.hidden, glow_model_param_count(m), batch,
               steps);
        printf("  1 rank : %8.1f images/s\n", ips1);
        printf("  %d ranks: %8.1f images/s (%d images per rank)\n", ranks, ipsn, local);
        printf("  scaling efficiency: %.2f (images/s of %d ranks / (%d x 1 rank))\n", ipsn / (ranks * ips1), ranks,
               ranks);
        printf("  bytes exchanged per step by rank 0 (sent + received): %.0f (%.2f MB; 2 x %d x 4 x (%zu gradient "
               "floats + loss + stop flag))\n", bytes, bytes / 1e6, ranks - 1, glow_model_param_table(m)->total);
    }
    if (m)
        glow_model_destroy(m);
    glow_backend_close(be);
    free(pixels);
    return st;
}

int bench_data_parallel(int argc, char **argv)
{
    static const char usage[] = "mpirun -np N glow-vk bench [--backend B|B0,B1,..] [--batch B] [--steps S] "
                                "[--config L,K,F,C,H,W]";
    const char *backend = "auto", *devices = NULL, *config = NULL;
    int batch = 32, levels = 2, k = 4, hidden = 32, warmup = 2, steps = 10;
    cli_flag flags[] = {
        {"backend", 0, CLI_STRING, &backend, 0, 0, NULL, "B", "backend, or one per rank", NULL, 0},
        {"device", 0, CLI_STRING, &devices, 0, 0, NULL, "N", "device, or one per rank", "the node-local rank", 0},
        {"batch", 0, CLI_INT, &batch, 1, 65536, NULL, "B", "global batch", NULL, 0},
        {"config", 0, CLI_STRING, &config, 0, 0, NULL, "CFG",
         "small, report or L,K,F,C,H,W (C x H x W images); replaces --L, --K and --hidden", "1x32x32 images", 0},
        {"L", 0, CLI_INT, &levels, 1, 5, NULL, "N", "levels", NULL, 0},
        {"K", 0, CLI_INT, &k, 1, 256, NULL, "N", "flow steps per level", NULL, 0},
        {"hidden", 0, CLI_INT, &hidden, 1, 4096, NULL, "F", "coupling channels", NULL, 0},
        {"warmup", 0, CLI_INT, &warmup, 0, 1000, NULL, "N", "untimed steps", NULL, 0},
        {"steps", 0, CLI_INT, &steps, 1, 100000, NULL, "N", "timed steps", NULL, 0},
    };
    const int nflags = (int)(sizeof flags / sizeof flags[0]);
    char err[512];
    int code;
    cli_result r = cli_parse(flags, nflags, argc, argv, err, sizeof err);
    if (!cli_handle(r, "bench", usage,
                    "Under mpirun: images/s of a training step on 1 rank and on all ranks (the same global\n"
                    "batch), the scaling efficiency, and the bytes exchanged per step.",
                    flags, nflags, err, &code))
        return code;
    if (batch % dist_size() != 0) {
        fprintf(stderr, "glow-vk bench: --batch %d cannot be split evenly over %d ranks\n", batch, dist_size());
        return CLI_EXIT_USAGE;
    }
    glow_model_config cfg = {1, 32, 32, levels, k, hidden, 5, GLOW_PAD_ZERO, 0, 0.0f};
    if (config != NULL) {
        static const char *const replaced[] = {"L", "K", "hidden"};
        char name[16];
        int default_batch;
        for (int i = 0; i < 3; i++)
            if (cli_find(flags, nflags, replaced[i])->given) {
                fprintf(stderr, "glow-vk bench: --%s and --config exclude each other\nusage: %s\n", replaced[i], usage);
                return CLI_EXIT_USAGE;
            }
        if (!bench_parse_config(config, 5, &cfg, name, sizeof name, &default_batch, err, sizeof err)) {
            fprintf(stderr, "glow-vk bench: %s\nusage: %s\n", err, usage);
            return CLI_EXIT_USAGE;
        }
    }
    glow_status st = run(backend, devices, batch, &cfg, warmup, steps);
    return st == GLOW_OK ? CLI_EXIT_OK : app_report_error("bench", st);
}
