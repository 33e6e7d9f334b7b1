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

int app_sample_grid_count(const glow_model *m, int count, int class_k, int *cols)
{
    const int K = glow_model_get_config(m)->n_classes;
    if (K > 0 && class_k < 0) { /* one row per class */
        int per = (count + K - 1) / K;
        *cols = per;
        return per * K;
    }
    *cols = (int)ceil(sqrt((double)count));
    return count;
}

glow_status app_write_samples(glow_model *m, int max_batch, int count, float temperature, uint64_t seed,
                              uint32_t first_counter, int class_k, const char *path)
{
    const glow_model_config *cfg = glow_model_get_config(m);
    const size_t d = glow_model_latent_size(m);
    int cols = 0;
    const int total = app_sample_grid_count(m, count, class_k, &cols);
    const int per_class = cfg->n_classes > 0 && class_k < 0 ? cols : 0;
    if (cfg->n_classes > 0 && class_k >= cfg->n_classes)
        return glow_error(GLOW_ERR_INVALID_ARG, "class %d: the model has classes 0..%d", class_k, cfg->n_classes - 1);
    if (cfg->n_classes == 0 && class_k >= 0)
        return glow_error(GLOW_ERR_INVALID_ARG, "class %d: the model is not class-conditional (trained without "
                          "--conditional)", class_k);
    float *x = malloc((size_t)total * d * sizeof *x);
    uint8_t *pixels = malloc((size_t)total * d);
    int *labels = malloc((size_t)max_batch * sizeof *labels);
    if (x == NULL || pixels == NULL || labels == NULL) {
        free(x);
        free(pixels);
        free(labels);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "sampling %d images of %zu values", total, d);
    }
    glow_status st = GLOW_OK;
    uint32_t counter = first_counter;
    for (int done = 0; done < total && st == GLOW_OK; counter++) {
        int n = total - done < max_batch ? total - done : max_batch;
        glow_rng rng = {seed, GLOW_STREAM_SAMPLE, counter, 0};
        if (cfg->n_classes > 0) { /* image i of the grid: class_k, or row i / per_class */
            for (int i = 0; i < n; i++)
                labels[i] = class_k >= 0 ? class_k : (done + i) / per_class;
            st = glow_model_set_labels(m, labels, n);
        }
        if (st == GLOW_OK)
            st = glow_model_sample(m, n, temperature, rng, x + (size_t)done * d);
        done += n;
    }
    if (st == GLOW_OK) {
        app_to_pixels(m, x, (size_t)total, pixels);
        st = glow_png_write_grid(path, pixels, total, cfg->in_h, cfg->in_w, cfg->in_c, cols, 2);
    }
    free(x);
    free(pixels);
    free(labels);
    return st;
}

glow_status app_set_labels(glow_model *m, const uint8_t *labels, int n)
{
    if (glow_model_get_config(m)->n_classes == 0)
        return GLOW_OK;
    int *v = malloc((size_t)n * sizeof *v);
    if (v == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%d labels", n);
    for (int i = 0; i < n; i++)
        v[i] = labels[i];
    glow_status st = glow_model_set_labels(m, v, n);
    free(v);
    return st;
}

int app_dataset_classes(const glow_dataset *a, const glow_dataset *b)
{
    int top = -1;
    for (int i = 0; a && i < a->count; i++)
        top = a->labels[i] > top ? a->labels[i] : top;
    for (int i = 0; b && i < b->count; i++)
        top = b->labels[i] > top ? b->labels[i] : top;
    return top + 1;
}

glow_status app_test_bpd(glow_model *m, const glow_dataset *test, int limit, int batch, uint64_t seed,
                         const volatile sig_atomic_t *stop, double *bpd, glow_class_stats *cls)
{
    const int classifier = glow_model_get_config(m)->class_weight > 0.0f;
    double class_sums[2] = {0.0, 0.0}; /* sum of bits_y, correct predictions (this rank's images) */
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
        st = app_set_labels(m, test->labels + first + lo, n); /* a conditional model: the true labels */
        if (st == GLOW_OK)
            st = glow_model_eval_bpd(m, test->pixels + (size_t)(first + lo) * image_bytes, n, rng, per_sample);
        glow_class_stats s;
        if (st == GLOW_OK && classifier && (st = glow_model_class_stats(m, &s)) == GLOW_OK) {
            class_sums[0] += s.bits_y * s.count;
            class_sums[1] += s.correct;
        }
        if (st != GLOW_OK)
            break;
        for (int i = 0; i < n; i++)
            all[first + lo + i] = per_sample[i];
    }
    /* x + 0 is exact: the sum over ranks assembles every image's value unchanged */
    if (st == GLOW_OK && ranks > 1)
        st = dist_sum_doubles(all, (size_t)total, "test bpd");
    if (st == GLOW_OK && ranks > 1 && classifier)
        st = dist_sum_doubles(class_sums, 2, "test class loss");
    if (cls != NULL)
        *cls = (glow_class_stats){classifier ? class_sums[0] / total : NAN, (int)class_sums[1],
                                  classifier ? total : 0};
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
