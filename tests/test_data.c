/* Data loaders: IDX (plain and gzipped), CIFAR-10 batches (plain and inside a
 * .tar.gz), every documented failure with its message, and the real
 * Fashion-MNIST when Debian's dataset-fashion-mnist is installed.
 * Every expectation is exact: loaders copy bytes, so no tolerance applies. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "glow/data.h"

/* ---- helpers writing small data sets -------------------------------------- */

static void path_in_dir(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", tu_temp_dir, name);
}

/* Writes bytes to dir/name, gzipped when the name ends in ".gz". */
static void write_file(const char *name, const uint8_t *data, size_t len)
{
    char path[512];
    path_in_dir(path, sizeof path, name);
    size_t nl = strlen(name);
    if (nl > 3 && strcmp(name + nl - 3, ".gz") == 0) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, data, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
}

static void remove_file(const char *name)
{
    char path[512];
    path_in_dir(path, sizeof path, name);
    unlink(path);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Pixel (y, x) of image i in the test IDX files: distinct, never zero. */
static uint8_t idx_pixel(int i, int y, int x)
{
    return (uint8_t)(1 + (i * 31 + y * 7 + x * 3) % 255);
}

/* IDX image file bytes: magic, count, rows, cols, pixels. *len gets the size. */
static uint8_t *idx_images(uint32_t magic, int count, int rows, int cols, size_t *len)
{
    *len = 16 + (size_t)count * rows * cols;
    uint8_t *b = malloc(*len);
    put_be32(b, magic);
    put_be32(b + 4, (uint32_t)count);
    put_be32(b + 8, (uint32_t)rows);
    put_be32(b + 12, (uint32_t)cols);
    for (int i = 0; i < count; i++)
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < cols; x++)
                b[16 + ((size_t)i * rows + y) * cols + x] = idx_pixel(i, y, x);
    return b;
}

static uint8_t *idx_labels(int count, size_t *len)
{
    *len = 8 + (size_t)count;
    uint8_t *b = malloc(*len);
    put_be32(b, 0x00000801u);
    put_be32(b + 4, (uint32_t)count);
    for (int i = 0; i < count; i++)
        b[8 + i] = (uint8_t)((i * 3) % 10);
    return b;
}

/* Writes train (or t10k) images/labels of `count` 28x28 images; suffix "" or ".gz". */
static void write_mnist_split(const char *split, int count, const char *suffix)
{
    char name[128];
    size_t len;
    uint8_t *img = idx_images(0x00000803u, count, 28, 28, &len);
    snprintf(name, sizeof name, "%s-images-idx3-ubyte%s", split, suffix);
    write_file(name, img, len);
    free(img);
    uint8_t *lab = idx_labels(count, &len);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte%s", split, suffix);
    write_file(name, lab, len);
    free(lab);
}

static void remove_mnist_files(void)
{
    const char *names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                           "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++) {
        char gz[128];
        snprintf(gz, sizeof gz, "%s.gz", names[i]);
        remove_file(names[i]);
        remove_file(gz);
    }
}

/* The loaded set equals the written one: 28x28 at rows/cols 2..29 of 32x32, zero border. */
/* glow_dataset_image_shape promises the shape before any file is read. */
static void check_promised_shape(const glow_dataset *ds)
{
    int h = 0, w = 0, c = 0;
    assert_int_equal(glow_dataset_image_shape(ds->name, &h, &w, &c), 0);
    assert_int_equal(ds->h, h);
    assert_int_equal(ds->w, w);
    assert_int_equal(ds->c, c);
}

static void check_padded_mnist(const glow_dataset *ds, int count)
{
    check_promised_shape(ds);
    assert_int_equal(ds->count, count);
    assert_int_equal(ds->h, 32);
    assert_int_equal(ds->w, 32);
    assert_int_equal(ds->c, 1);
    assert_int_equal(ds->padded, 2);
    for (int i = 0; i < count; i++) {
        assert_int_equal(ds->labels[i], (i * 3) % 10);
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++) {
                int inside = y >= 2 && y < 30 && x >= 2 && x < 30;
                uint8_t want = inside ? idx_pixel(i, y - 2, x - 2) : 0;
                assert_int_equal(ds->pixels[((size_t)i * 32 + y) * 32 + x], want);
            }
    }
}

/* Fails unless st is `code` and the message contains `needle`. */
static void expect_error(glow_status st, glow_status code, const char *needle)
{
    if (st != code || strstr(glow_last_error(), needle) == NULL)
        fail_msg("expected %s with \"%s\", got %s: %s", glow_status_name(code), needle, glow_status_name(st),
                 glow_last_error());
}

/* ---- IDX ------------------------------------------------------------------ */

static void test_idx_plain(void **state)
{
    (void)state;
    remove_mnist_files();
    write_mnist_split("train", 5, "");
    write_mnist_split("t10k", 3, "");
    glow_dataset ds;
    TU_OK(glow_dataset_load("mnist", tu_temp_dir, 1, &ds));
    assert_string_equal(ds.name, "mnist");
    check_padded_mnist(&ds, 5);
    glow_dataset_free(&ds);
    TU_OK(glow_dataset_load("mnist", tu_temp_dir, 0, &ds));
    check_padded_mnist(&ds, 3);
    glow_dataset_free(&ds);
    assert_null(ds.pixels);
}

static void test_idx_gzipped(void **state)
{
    (void)state;
    remove_mnist_files();
    write_mnist_split("train", 4, ".gz");
    glow_dataset ds;
    TU_OK(glow_dataset_load("fashion-mnist", tu_temp_dir, 1, &ds));
    assert_string_equal(ds.name, "fashion-mnist");
    check_padded_mnist(&ds, 4);
    glow_dataset_free(&ds);
}

static void test_idx_truncated(void **state)
{
    (void)state;
    remove_mnist_files();
    write_mnist_split("train", 3, "");
    size_t len;
    uint8_t *img = idx_images(0x00000803u, 3, 28, 28, &len);
    write_file("train-images-idx3-ubyte", img, len - 100);
    free(img);
    glow_dataset ds;
    glow_status st = glow_dataset_load("mnist", tu_temp_dir, 1, &ds);
    expect_error(st, GLOW_ERR_FORMAT, "train-images-idx3-ubyte: truncated at byte 2268: expected 2368 bytes");
    assert_null(ds.pixels);
}

static void test_idx_truncated_gzip_stream(void **state)
{
    (void)state;
    remove_mnist_files();
    write_mnist_split("train", 3, ".gz");
    /* Cut the compressed file in half: zlib must report the broken stream. */
    char path[512];
    path_in_dir(path, sizeof path, "train-images-idx3-ubyte.gz");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 40);
    /* Written raw (write_file would gzip a ".gz" name again). */
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n / 2, f), n / 2);
    assert_int_equal(fclose(f), 0);
    glow_dataset ds;
    glow_status st = glow_dataset_load("mnist", tu_temp_dir, 1, &ds);
    expect_error(st, GLOW_ERR_FORMAT, "train-images-idx3-ubyte.gz");
}

static void test_idx_wrong_magic(void **state)
{
    (void)state;
    remove_mnist_files();
    write_mnist_split("train", 2, ".gz");
    size_t len;
    uint8_t *img = idx_images(0x00000801u, 2, 28, 28, &len);
    write_file("train-images-idx3-ubyte.gz", img, len);
    free(img);
    glow_dataset ds;
    glow_status st = glow_dataset_load("mnist", tu_temp_dir, 1, &ds);
    expect_error(st, GLOW_ERR_FORMAT,
                 "train-images-idx3-ubyte.gz: byte 0: wrong magic 0x00000801, expected 0x00000803 (an IDX image file)");
}

static void test_idx_wrong_image_size(void **state)
{
    (void)state;
    remove_mnist_files();
    write_mnist_split("train", 2, "");
    size_t len;
    uint8_t *img = idx_images(0x00000803u, 2, 27, 28, &len);
    write_file("train-images-idx3-ubyte", img, len);
    free(img);
    glow_dataset ds;
    glow_status st = glow_dataset_load("mnist", tu_temp_dir, 1, &ds);
    expect_error(st, GLOW_ERR_FORMAT, "byte 8: images are 27x28, expected 28x28");
}

static void test_idx_count_mismatch(void **state)
{
    (void)state;
    remove_mnist_files();
    write_mnist_split("train", 3, "");
    size_t len;
    uint8_t *lab = idx_labels(2, &len);
    write_file("train-labels-idx1-ubyte", lab, len);
    free(lab);
    glow_dataset ds;
    glow_status st = glow_dataset_load("mnist", tu_temp_dir, 1, &ds);
    expect_error(st, GLOW_ERR_FORMAT, "3 images but");
}

static void test_idx_trailing_bytes(void **state)
{
    (void)state;
    remove_mnist_files();
    write_mnist_split("train", 2, "");
    size_t len;
    uint8_t *lab = idx_labels(2, &len);
    uint8_t longer[32] = {0};
    memcpy(longer, lab, len);
    write_file("train-labels-idx1-ubyte", longer, len + 3);
    free(lab);
    glow_dataset ds;
    glow_status st = glow_dataset_load("mnist", tu_temp_dir, 1, &ds);
    expect_error(st, GLOW_ERR_FORMAT, "train-labels-idx1-ubyte: byte 10: 3 unexpected bytes");
}

static void test_missing_dataset_says_how_to_get_it(void **state)
{
    (void)state;
    glow_dataset ds;
    expect_error(glow_dataset_load("mnist", "/nonexistent/glow", 1, &ds), GLOW_ERR_IO, "tools/fetch-data mnist");
    expect_error(glow_dataset_load("fashion-mnist", "/nonexistent/glow", 0, &ds), GLOW_ERR_IO,
                 "apt-get install dataset-fashion-mnist");
    expect_error(glow_dataset_load("cifar10", "/nonexistent/glow", 1, &ds), GLOW_ERR_IO, "tools/fetch-data cifar10");
    expect_error(glow_dataset_load("svhn", tu_temp_dir, 1, &ds), GLOW_ERR_INVALID_ARG, "unknown data set 'svhn'");
}

static void test_default_dirs(void **state)
{
    (void)state;
    setenv("XDG_DATA_HOME", "/xdg/data", 1);
    if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) == 0)
        assert_string_equal(glow_dataset_default_dir("fashion-mnist"), "/usr/share/datasets/fashion-mnist");
    else
        assert_string_equal(glow_dataset_default_dir("fashion-mnist"), "/xdg/data/glow-vk/fashion-mnist");
    assert_string_equal(glow_dataset_default_dir("mnist"), "/xdg/data/glow-vk/mnist");
    assert_string_equal(glow_dataset_default_dir("cifar10"), "/xdg/data/glow-vk/cifar10");
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/someone", 1);
    assert_string_equal(glow_dataset_default_dir("mnist"), "/home/someone/.local/share/glow-vk/mnist");
    assert_null(glow_dataset_default_dir("svhn"));
    assert_true(glow_dataset_known("cifar10"));
    assert_false(glow_dataset_known("cifar100"));
    int h, w, c;
    assert_int_equal(glow_dataset_image_shape("cifar100", &h, &w, &c), -1);
}

/* FNV-1a 64 over pixels then labels, against a hand-run of the formula, and
 * sensitive to a single pixel, a single label and the count. */
static void test_fingerprint(void **state)
{
    (void)state;
    uint8_t pixels[] = {1, 2, 3, 4}, labels[] = {7, 9};
    glow_dataset ds = {.pixels = pixels, .labels = labels, .count = 2, .h = 1, .w = 1, .c = 2};
    const uint8_t order[] = {1, 2, 3, 4, 7, 9};
    uint64_t want = 0xcbf29ce484222325ull;
    for (int i = 0; i < 6; i++)
        want = (want ^ order[i]) * 0x100000001b3ull;
    assert_true(glow_dataset_fingerprint(&ds, 2) == want);
    uint64_t first = 0xcbf29ce484222325ull;
    const uint8_t one[] = {1, 2, 7};
    for (int i = 0; i < 3; i++)
        first = (first ^ one[i]) * 0x100000001b3ull;
    assert_true(glow_dataset_fingerprint(&ds, 1) == first);
    pixels[3] = 5;
    assert_true(glow_dataset_fingerprint(&ds, 2) != want);
    pixels[3] = 4;
    labels[1] = 8;
    assert_true(glow_dataset_fingerprint(&ds, 2) != want);
}

/* ---- CIFAR-10 ------------------------------------------------------------- */

/* Channel ch of pixel p (0..1023) of record r of batch b, and its label. */
static uint8_t cifar_value(int b, int r, int ch, int p)
{
    return (uint8_t)((b * 101 + r * 37 + ch * 71 + p * 5) % 256);
}

static uint8_t cifar_label(int b, int r)
{
    return (uint8_t)((b + r * 7) % 10);
}

/* `records` CHW records of batch b; *len gets the size. */
static uint8_t *cifar_batch(int b, int records, size_t *len)
{
    *len = (size_t)records * 3073;
    uint8_t *buf = malloc(*len);
    for (int r = 0; r < records; r++) {
        uint8_t *rec = buf + (size_t)r * 3073;
        rec[0] = cifar_label(b, r);
        for (int ch = 0; ch < 3; ch++)
            for (int p = 0; p < 1024; p++)
                rec[1 + ch * 1024 + p] = cifar_value(b, r, ch, p);
    }
    return buf;
}

/* Images in batch order, converted to HWC. */
static void check_cifar(const glow_dataset *ds, int first_batch, int batches, int records)
{
    check_promised_shape(ds);
    assert_int_equal(ds->count, batches * records);
    assert_int_equal(ds->h, 32);
    assert_int_equal(ds->w, 32);
    assert_int_equal(ds->c, 3);
    assert_int_equal(ds->padded, 0);
    for (int b = 0; b < batches; b++)
        for (int r = 0; r < records; r++) {
            int i = b * records + r;
            assert_int_equal(ds->labels[i], cifar_label(first_batch + b, r));
            for (int p = 0; p < 1024; p++)
                for (int ch = 0; ch < 3; ch++)
                    assert_int_equal(ds->pixels[((size_t)i * 1024 + p) * 3 + ch],
                                     cifar_value(first_batch + b, r, ch, p));
        }
}

static void write_cifar_batches(const char *subdir, int records)
{
    char name[128];
    size_t len;
    for (int b = 1; b <= 6; b++) {
        uint8_t *buf = cifar_batch(b, records, &len);
        if (b <= 5)
            snprintf(name, sizeof name, "%s%sdata_batch_%d.bin", subdir, subdir[0] ? "/" : "", b);
        else
            snprintf(name, sizeof name, "%s%stest_batch.bin", subdir, subdir[0] ? "/" : "");
        write_file(name, buf, len);
        free(buf);
    }
}

static void test_cifar_batches(void **state)
{
    (void)state;
    char sub[512];
    path_in_dir(sub, sizeof sub, "cifar-10-batches-bin");
    mkdir(sub, 0755);
    write_cifar_batches("cifar-10-batches-bin", 2);
    glow_dataset ds;
    TU_OK(glow_dataset_load("cifar10", tu_temp_dir, 1, &ds));
    assert_string_equal(ds.name, "cifar10");
    check_cifar(&ds, 1, 5, 2);
    glow_dataset_free(&ds);
    TU_OK(glow_dataset_load("cifar10", tu_temp_dir, 0, &ds));
    check_cifar(&ds, 6, 1, 2);
    glow_dataset_free(&ds);

    /* A batch cut short by 10 bytes. */
    size_t len;
    uint8_t *buf = cifar_batch(3, 2, &len);
    write_file("cifar-10-batches-bin/data_batch_3.bin", buf, len - 10);
    free(buf);
    expect_error(glow_dataset_load("cifar10", tu_temp_dir, 1, &ds), GLOW_ERR_FORMAT,
                 "data_batch_3.bin: truncated at byte 6136: expected a multiple of 3073 bytes");
    /* A missing batch names the file. */
    remove_file("cifar-10-batches-bin/data_batch_4.bin");
    expect_error(glow_dataset_load("cifar10", tu_temp_dir, 1, &ds), GLOW_ERR_IO, "data_batch_4.bin not found");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", sub);
    assert_int_equal(system(cmd), 0);
}

/* A ustar header block for a regular file. */
static void tar_header(uint8_t h[512], const char *name, size_t size)
{
    memset(h, 0, 512);
    snprintf((char *)h, 100, "%s", name);
    snprintf((char *)h + 100, 8, "%07o", 0644);
    snprintf((char *)h + 108, 8, "%07o", 0);
    snprintf((char *)h + 116, 8, "%07o", 0);
    snprintf((char *)h + 124, 12, "%011zo", size);
    snprintf((char *)h + 136, 12, "%011o", 0);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
}

/* Appends a member (header + data padded to 512) to a growing buffer. */
static void tar_append(uint8_t **tar, size_t *len, const char *name, const uint8_t *data, size_t n)
{
    size_t padded = (n + 511) / 512 * 512;
    *tar = realloc(*tar, *len + 512 + padded);
    tar_header(*tar + *len, name, n);
    memset(*tar + *len + 512, 0, padded);
    memcpy(*tar + *len + 512, data, n);
    *len += 512 + padded;
}

static void test_cifar_tar_gz(void **state)
{
    (void)state;
    uint8_t *tar = NULL;
    size_t tar_len = 0, len;
    const char *meta = "airplane\nautomobile\n";
    tar_append(&tar, &tar_len, "cifar-10-batches-bin/batches.meta.txt", (const uint8_t *)meta, strlen(meta));
    for (int b = 6; b >= 1; b--) { /* members in a different order than read */
        char name[128];
        if (b <= 5)
            snprintf(name, sizeof name, "cifar-10-batches-bin/data_batch_%d.bin", b);
        else
            snprintf(name, sizeof name, "cifar-10-batches-bin/test_batch.bin");
        uint8_t *buf = cifar_batch(b, 3, &len);
        tar_append(&tar, &tar_len, name, buf, len);
        free(buf);
    }
    tar = realloc(tar, tar_len + 1024);
    memset(tar + tar_len, 0, 1024); /* end-of-archive blocks */
    write_file("cifar-10-binary.tar.gz", tar, tar_len + 1024);

    glow_dataset ds;
    TU_OK(glow_dataset_load("cifar10", tu_temp_dir, 1, &ds));
    check_cifar(&ds, 1, 5, 3);
    glow_dataset_free(&ds);
    TU_OK(glow_dataset_load("cifar10", tu_temp_dir, 0, &ds));
    check_cifar(&ds, 6, 1, 3);
    glow_dataset_free(&ds);

    /* An archive cut inside the last member's data. */
    write_file("cifar-10-binary.tar.gz", tar, tar_len - 2000);
    expect_error(glow_dataset_load("cifar10", tu_temp_dir, 1, &ds), GLOW_ERR_FORMAT, "cifar-10-binary.tar.gz: truncated");
    free(tar);
    remove_file("cifar-10-binary.tar.gz");
}

/* ---- the real Fashion-MNIST ----------------------------------------------- */

static void check_real_split(int train, int want_count)
{
    const char *dir = glow_dataset_default_dir("fashion-mnist");
    glow_dataset ds;
    TU_OK(glow_dataset_load("fashion-mnist", dir, train, &ds));
    assert_int_equal(ds.count, want_count);
    assert_int_equal(ds.h, 32);
    assert_int_equal(ds.w, 32);
    assert_int_equal(ds.c, 1);
    int class_count[10] = {0};
    size_t nonzero = 0;
    for (int i = 0; i < ds.count; i++) {
        assert_true(ds.labels[i] < 10);
        class_count[ds.labels[i]]++;
        const uint8_t *img = ds.pixels + (size_t)i * 1024;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++) {
                if (y < 2 || y >= 30 || x < 2 || x >= 30)
                    assert_int_equal(img[y * 32 + x], 0);
                else
                    nonzero += img[y * 32 + x] != 0;
            }
    }
    /* Fashion-MNIST is balanced: exactly count/10 images per class. */
    for (int k = 0; k < 10; k++)
        assert_int_equal(class_count[k], want_count / 10);
    /* Real images, not zeros: about half of the pixels are non-zero in Fashion-MNIST. */
    assert_true(nonzero > (size_t)ds.count * 784 / 4);
    glow_dataset_free(&ds);
}

static void test_real_fashion_mnist(void **state)
{
    (void)state;
    tu_require(access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) == 0,
               "Debian's dataset-fashion-mnist");
    check_real_split(1, 60000);
    check_real_split(0, 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_idx_plain),
        cmocka_unit_test(test_idx_gzipped),
        cmocka_unit_test(test_idx_truncated),
        cmocka_unit_test(test_idx_truncated_gzip_stream),
        cmocka_unit_test(test_idx_wrong_magic),
        cmocka_unit_test(test_idx_wrong_image_size),
        cmocka_unit_test(test_idx_count_mismatch),
        cmocka_unit_test(test_idx_trailing_bytes),
        cmocka_unit_test(test_missing_dataset_says_how_to_get_it),
        cmocka_unit_test(test_default_dirs),
        cmocka_unit_test(test_cifar_batches),
        cmocka_unit_test(test_cifar_tar_gz),
        cmocka_unit_test(test_real_fashion_mnist),
    };
    return tu_exit_status(cmocka_run_group_tests(tests, tu_make_temp_dir, tu_remove_temp_dir));
}
