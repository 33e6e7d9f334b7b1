/* glow-vk interpolate: the lab report's section 6. The classes that have at
 * least two test images, in label order, are c_0 .. c_{n-1} (n = 10 for the
 * MNIST-class data sets and CIFAR-10; an image folder may have fewer). For
 * pair i, two test images of class c_{i mod n} (the (2q)-th and (2q+1)-th of
 * that class, q = i / n) are encoded to latents z1, z2 (every level concatenated, D floats each);
 * for a_k = (k + 1) / (S + 1), k < S, the latent (1 - a_k) z1 + a_k z2 is
 * decoded. Row i of the grid: real image 1, the S interpolants, real image 2.
 * A class-conditional model encodes the pair with their class (their labels are
 * the same): the class enters only the top prior, so the latents, and hence the
 * interpolants, are those of the flow; with the same class at both ends, the line
 * between z1 and z2 is also the line between their standardised top latents. */
#include <stdio.h>
#include <stdlib.h>

#include "app_common.h"
#include "app_data.h"
#include "cli_args.h"
#include "commands.h"
#include "glow/data.h"
#include "glow/image.h"

/* The labels that at least two test images carry, ascending, into classes
 * (256 entries); returns how many. */
static int classes_with_pairs(const glow_dataset *ds, int *classes)
{
    int count[256] = {0}, n = 0;
    for (int i = 0; i < ds->count; i++)
        count[ds->labels[i]]++;
    for (int label = 0; label < 256; label++)
        if (count[label] >= 2)
            classes[n++] = label;
    return n;
}

/* Index of the occurrence-th test image of class `label`, or -1. */
static int find_of_class(const glow_dataset *ds, int label, int occurrence)
{
    for (int i = 0; i < ds->count; i++)
        if (ds->labels[i] == label && occurrence-- == 0)
            return i;
    return -1;
}

/* Fills one grid row (S + 2 images of d bytes) for real images a and b. */
static glow_status interpolate_pair(glow_model *m, const glow_dataset *ds, int a, int b, int steps, float *x,
                                    float *z, uint8_t *row)
{
    const size_t d = glow_model_latent_size(m);
    const int n_bits = glow_model_get_config(m)->n_bits;
    const uint8_t *pa = ds->pixels + (size_t)a * d, *pb = ds->pixels + (size_t)b * d;
    app_from_pixels(n_bits, pa, d, x);
    app_from_pixels(n_bits, pb, d, x + d);
    const uint8_t labels[2] = {ds->labels[a], ds->labels[b]};
    GLOW_TRY(app_set_labels(m, labels, 2)); /* a conditional model: the pair's class */
    GLOW_TRY(glow_model_encode(m, x, 2, z, NULL));
    const float *z1 = z, *z2 = z + d;
    float *zi = z + 2 * d; /* steps x d interpolated latents */
    for (int k = 0; k < steps; k++) {
        float alpha = (float)(k + 1) / (float)(steps + 1);
        for (size_t j = 0; j < d; j++)
            zi[(size_t)k * d + j] = (1.0f - alpha) * z1[j] + alpha * z2[j];
    }
    GLOW_TRY(glow_model_decode(m, zi, steps, x));
    for (size_t j = 0; j < d; j++) {
        row[j] = pa[j];
        row[(size_t)(steps + 1) * d + j] = pb[j];
    }
    app_to_pixels(m, x, (size_t)steps, row + d);
    return GLOW_OK;
}

int cmd_interpolate(int argc, char **argv)
{
    static const char usage[] = "glow-vk interpolate --checkpoint F [--dataset D] [--data-dir DIR] [--pairs P] "
                                "[--steps S] [-o interp.png]";
    const char *checkpoint = NULL, *dataset = NULL, *data_dir = NULL, *output = "interpolation.png",
               *backend = "auto";
    int pairs = 10, steps = 8, device = -1;
    app_folder_flags folder = APP_FOLDER_FLAGS_DEFAULT;
    cli_flag flags[] = {
        {"checkpoint", 'c', CLI_STRING, &checkpoint, 0, 0, NULL, "F", "checkpoint (required)", NULL, 0},
        {"dataset", 0, CLI_CHOICE, &dataset, 0, 0, APP_DATASET_CHOICES, "D", "data set of the test images",
         "the checkpoint's", 0},
        {"data-dir", 0, CLI_STRING, &data_dir, 0, 0, NULL, "DIR", "where the data set's files are",
         "the data set's default directory", 0},
        APP_FOLDER_TEST_FLAGS(folder),
        {"pairs", 0, CLI_INT, &pairs, 1, 1000, NULL, "P",
         "rows: pair i uses two test images of class i mod n (the n classes with two or more test images)", NULL,
         0},
        {"steps", 0, CLI_INT, &steps, 1, 256, NULL, "S", "interpolated images between the two real ones", NULL, 0},
        {"output", 'o', CLI_STRING, &output, 0, 0, NULL, "FILE", "PNG grid to write", NULL, 0},
        {"backend", 0, CLI_CHOICE, &backend, 0, 0, "auto|ref|cpu|vulkan|cuda", "B", "compute backend", NULL, 0},
        APP_THREADS_FLAG,
        APP_PRECISION_FLAG,
        {"device", 0, CLI_INT, &device, -1, 63, NULL, "N", "device index (-1: preferred)", NULL, 0},
    };
    const int nflags = (int)(sizeof flags / sizeof flags[0]);
    char err[512];
    int code;
    cli_result r = cli_parse(flags, nflags, argc, argv, err, sizeof err);
    if (!cli_handle(r, "interpolate", usage,
                    "Linear interpolation in latent space between pairs of same-class test images; each row\n"
                    "starts and ends with the real images.",
                    flags, nflags, err, &code))
        return code;
    if (!cli_require(flags, nflags, "checkpoint", "interpolate", usage, &code))
        return code;

    glow_backend *be = NULL;
    glow_model *model = NULL;
    glow_dataset test = {0};
    glow_checkpoint_state state;
    float *x = NULL, *z = NULL;
    uint8_t *grid = NULL;
    const int max_batch = steps > 2 ? steps : 2;
    /* The checkpoint and the test images are checked before a backend starts. */
    glow_status st = app_check_checkpoint(checkpoint, &state);
    if (st == GLOW_OK) {
        if (dataset == NULL)
            dataset = state.dataset;
        folder.size = state.config.in_h; /* a folder is decoded at the model's size */
        folder.channels = state.config.in_c;
        st = app_load_data(dataset, data_dir, &folder, NULL, &test);
    }
    if (st == GLOW_OK && (test.c != state.config.in_c || test.h != state.config.in_h ||
                          test.w != state.config.in_w))
        st = glow_error(GLOW_ERR_INVALID_ARG, "%s: the model takes %dx%dx%d images but %s has %dx%dx%d", checkpoint,
                        state.config.in_h, state.config.in_w, state.config.in_c, dataset, test.h, test.w, test.c);
    if (st == GLOW_OK)
        st = app_open_backend(backend, device, &be);
    if (st == GLOW_OK)
        st = app_load_model(checkpoint, be, max_batch, 0, &state, &model);
    const glow_model_config *cfg = model ? glow_model_get_config(model) : NULL;
    const size_t d = model ? glow_model_latent_size(model) : 0;
    const int cols = steps + 2;
    int classes[256], n_classes = 0;
    if (st == GLOW_OK && (n_classes = classes_with_pairs(&test, classes)) == 0)
        st = glow_error(GLOW_ERR_INVALID_ARG, "no class of the %d test images of %s has two images to interpolate "
                        "between", test.count, dataset);
    if (st == GLOW_OK) {
        x = malloc((size_t)max_batch * d * sizeof *x);
        z = malloc((size_t)(steps + 2) * d * sizeof *z);
        grid = malloc((size_t)pairs * cols * d);
        if (x == NULL || z == NULL || grid == NULL)
            st = glow_error(GLOW_ERR_OUT_OF_MEMORY, "interpolation buffers for %d x %d images", pairs, cols);
    }
    for (int i = 0; i < pairs && st == GLOW_OK; i++) {
        int label = classes[i % n_classes], q = i / n_classes;
        int a = find_of_class(&test, label, 2 * q), b = find_of_class(&test, label, 2 * q + 1);
        if (a < 0 || b < 0) {
            st = glow_error(GLOW_ERR_INVALID_ARG, "pair %d: the test set of %s has fewer than %d images of class %d "
                            "(the pairs cycle over the %d class%s that have two or more; use a smaller --pairs)",
                            i, dataset, 2 * q + 2, label, n_classes, n_classes == 1 ? "" : "es");
            break;
        }
        st = interpolate_pair(model, &test, a, b, steps, x, z, grid + (size_t)i * cols * d);
    }
    if (st == GLOW_OK)
        st = glow_png_write_grid(output, grid, pairs * cols, cfg->in_h, cfg->in_w, cfg->in_c, cols, 2);
    if (st == GLOW_OK)
        printf("wrote %d interpolation rows of %d images (%d steps between real test images) to %s\n", pairs, cols,
               steps, output);
    free(x);
    free(z);
    free(grid);
    if (model)
        glow_model_destroy(model);
    if (be)
        glow_backend_close(be);
    glow_dataset_free(&test);
    return st == GLOW_OK ? CLI_EXIT_OK : app_report_error("interpolate", st);
}
