#include "app_common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_args.h"
#include "dist.h"
#include "glow/image.h"

int app_report_error(const char *command, glow_status st)
{
    fprintf(stderr, "glow-vk %s: %serror (%s): %s\n", command, dist_prefix(), glow_status_name(st), glow_last_error());
    return CLI_EXIT_RUNTIME;
}

int app_threads;

void app_apply_threads(void)
{
    glow_set_cpu_threads(app_threads);
}

const char *app_precision = "fp32";

void app_apply_precision(void)
{
    int p = glow_precision_parse(app_precision);
    glow_set_precision(p < 0 ? GLOW_PRECISION_FP32 : (glow_precision)p); /* the flag is a checked choice */
}

glow_status app_open_backend(const char *name, int device, glow_backend **out)
{
    app_apply_threads();
    app_apply_precision();
    glow_status st = glow_backend_open(name, device, out);
    if (st != GLOW_OK)
        return glow_error_context(st, "opening backend '%s'", name ? name : "auto");
    const glow_device_info *info = &(*out)->info;
    printf("%sbackend: %s, device: %s (%s)\n", dist_prefix(), info->backend, info->name,
           glow_device_type_name(info->type));
    printf("%sprecision: %s\n", dist_prefix(), info->precision);
    fflush(stdout);
    return GLOW_OK;
}

glow_status app_check_checkpoint(const char *path, glow_checkpoint_state *state)
{
    glow_param_table table;
    GLOW_TRY(glow_checkpoint_load(path, NULL, state, &table, NULL, NULL, NULL));
    glow_param_table_free(&table);
    return GLOW_OK;
}

glow_status app_load_model(const char *path, glow_backend *be, int max_batch, int with_moments,
                           glow_checkpoint_state *state, glow_model **out)
{
    glow_param_table table;
    float *params = NULL, *m = NULL, *v = NULL;
    GLOW_TRY(glow_checkpoint_load(path, NULL, state, &table, &params, with_moments ? &m : NULL,
                                  with_moments ? &v : NULL));
    glow_model *model = NULL;
    glow_status st = glow_model_create(be, &state->config, state->seed, max_batch, &model);
    if (st != GLOW_OK)
        st = glow_error_context(st, "%s: building the stored model", path);
    if (st == GLOW_OK)
        st = glow_checkpoint_check_table(path, glow_model_param_table(model), &table);
    if (st == GLOW_OK)
        st = glow_model_arena_upload(model, GLOW_ARENA_PARAMS, params);
    if (st == GLOW_OK && with_moments)
        st = glow_model_arena_upload(model, GLOW_ARENA_ADAM_M, m);
    if (st == GLOW_OK && with_moments)
        st = glow_model_arena_upload(model, GLOW_ARENA_ADAM_V, v);
    if (st == GLOW_OK)
        glow_model_set_actnorm_initialized(model, state->actnorm_initialized);
    free(params);
    free(m);
    free(v);
    glow_param_table_free(&table);
    if (st != GLOW_OK) {
        glow_model_destroy(model);
        return st;
    }
    *out = model;
    return GLOW_OK;
}

void app_to_pixels(const glow_model *m, const float *x, size_t count, uint8_t *pixels)
{
    size_t n = count * glow_model_latent_size(m);
    for (size_t i = 0; i < n; i++)
        pixels[i] = glow_model_to_pixel(m, x[i]);
}

void app_from_pixels(int n_bits, const uint8_t *pixels, size_t count, float *x)
{
    const int shift = 8 - n_bits;
    const float bins = (float)(1 << n_bits);
    for (size_t i = 0; i < count; i++)
        x[i] = ((float)(pixels[i] >> shift) + 0.5f) / bins - 0.5f;
}

glow_status app_write_samples(glow_model *m, int max_batch, int count, float temperature, uint64_t seed,
                              uint32_t first_counter, const char *path)
{
    const glow_model_config *cfg = glow_model_get_config(m);
    const size_t d = glow_model_latent_size(m);
    float *x = malloc((size_t)count * d * sizeof *x);
    uint8_t *pixels = malloc((size_t)count * d);
    if (x == NULL || pixels == NULL) {
        free(x);
        free(pixels);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "sampling %d images of %zu values", count, d);
    }
    glow_status st = GLOW_OK;
    uint32_t counter = first_counter;
    for (int done = 0; done < count && st == GLOW_OK; counter++) {
        int n = count - done < max_batch ? count - done : max_batch;
        glow_rng rng = {seed, GLOW_STREAM_SAMPLE, counter, 0};
        st = glow_model_sample(m, n, temperature, rng, x + (size_t)done * d);
        done += n;
    }
    if (st == GLOW_OK) {
        app_to_pixels(m, x, (size_t)count, pixels);
        int cols = (int)ceil(sqrt((double)count));
        st = glow_png_write_grid(path, pixels, count, cfg->in_h, cfg->in_w, cfg->in_c, cols, 2);
    }
    free(x);
    free(pixels);
    return st;
}

glow_status app_test_bpd(glow_model *m, const glow_dataset *test, int limit, int batch, uint64_t seed,
                         const volatile sig_atomic_t *stop, double *bpd)
{
    const int total = (limit > 0 && limit < test->count) ? limit : test->count;
    const size_t image_bytes = (size_t)test->h * test->w * test->c;
    const int rank = dist_rank(), ranks = dist_size();
    if (total <= 0)
        return glow_error(GLOW_ERR_INVALID_ARG, "test set '%s' has no images", test->name);
    if (batch % ranks != 0)
        return glow_error(GLOW_ERR_INVALID_ARG, "test bpd: batch %d cannot be split evenly over %d ranks", batch,
                          ranks);
    const int local = batch / ranks;
    float *per_sample = malloc((size_t)local * sizeof *per_sample);
    double *all = calloc((size_t)total, sizeof *all); /* bpd by image; each image filled by one rank */
    if (per_sample == NULL || all == NULL) {
        free(per_sample);
        free(all);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "test bpd: %d + %d values", local, total);
    }
    glow_status st = GLOW_OK;
    uint32_t j = 0;
    for (int first = 0; first < total; first += batch, j++) {
        if (stop != NULL && *stop) {
            st = glow_error(GLOW_ERR_INTERRUPTED, "test evaluation interrupted");
            break;
        }
        /* this rank's part of batch j: images first + lo .. first + lo + n, with the noise of
         * those elements of the batch's draw (so the figure does not depend on the rank count) */
        const int in_batch = total - first < batch ? total - first : batch;
        const int lo = rank * local;
        const int n = in_batch - lo < local ? in_batch - lo : local;
        if (n <= 0)
            continue;
        glow_rng rng = {seed, GLOW_STREAM_TEST, j, (uint32_t)((size_t)lo * image_bytes / 4)};
        st = glow_model_eval_bpd(m, test->pixels + (size_t)(first + lo) * image_bytes, n, rng, per_sample);
        if (st != GLOW_OK)
            break;
        for (int i = 0; i < n; i++)
            all[first + lo + i] = per_sample[i];
    }
    /* x + 0 is exact: the sum over ranks assembles every image's value unchanged */
    if (st == GLOW_OK && ranks > 1)
        st = dist_sum_doubles(all, (size_t)total, "test bpd");
    double sum = 0.0;
    for (int i = 0; st == GLOW_OK && i < total; i++)
        sum += all[i];
    free(per_sample);
    free(all);
    if (st != GLOW_OK)
        return st;
    *bpd = sum / total;
    if (!isfinite(*bpd))
        return glow_error(GLOW_ERR_NONFINITE, "test bpd is %g over %d images of '%s'", *bpd, total, test->name);
    return GLOW_OK;
}

glow_status app_path_join(char *out, size_t outlen, const char *dir, const char *name)
{
    int n = snprintf(out, outlen, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= outlen)
        return glow_error(GLOW_ERR_INVALID_ARG, "path '%s/%s' is too long", dir, name);
    return GLOW_OK;
}

glow_status app_prepare_out_dir(const char *dir)
{
    char path[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path - 32)
        return glow_error(GLOW_ERR_INVALID_ARG, "output directory '%s': empty or too long", dir);
    memcpy(path, dir, len + 1);
    /* mkdir -p: create every prefix ending at a '/', then the whole path. */
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return glow_error(GLOW_ERR_IO, "output directory '%s': cannot create '%s': %s", dir, path,
                              strerror(errno));
        path[i] = saved;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return glow_error(GLOW_ERR_IO, "output directory '%s' is not a directory", dir);
    GLOW_TRY(app_path_join(path, sizeof path, dir, ".glow-vk-write-probe"));
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return glow_error(GLOW_ERR_IO, "output directory '%s' is not writable: %s", dir, strerror(errno));
    int bad = fputs("probe\n", f) < 0;
    bad |= fclose(f) != 0;
    remove(path);
    if (bad)
        return glow_error(GLOW_ERR_IO, "output directory '%s': writing a file failed: %s", dir, strerror(errno));
    return GLOW_OK;
}

double app_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
