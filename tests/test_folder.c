/* Image folders as data sets (include/glow/folder.h): listing and classes,
 * crop + area resize against an independent double-precision reference at
 * every size 8..256, PNG and JPEG decoding, corrupt files skipped / --strict,
 * the held-out split, a separate test folder, and the cache (a second load
 * opens no image file). */
#include "test_util.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h> /* after stdio.h: it needs FILE and size_t */

#include "glow/data.h"
#include "glow/folder.h"
#include "glow/image.h"

static void make_dirs(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", tu_temp_dir, rel);
    for (char *p = path + strlen(tu_temp_dir) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0777);
            *p = '/';
        }
    mkdir(path, 0777);
}

static void full_path(char *out, size_t n, const char *rel)
{
    snprintf(out, n, "%s/%s", tu_temp_dir, rel);
}

/* A deterministic w x h x c image; seed varies it. */
static uint8_t *pattern(int w, int h, int c, int seed)
{
    uint8_t *p = malloc((size_t)w * h * c);
    assert_non_null(p);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                p[((size_t)y * w + x) * c + k] = (uint8_t)((x * 7 + y * 13 + k * 50 + seed * 29 + (x * y) % 11) & 255);
    return p;
}

static void write_png(const char *rel, const uint8_t *pixels, int w, int h, int c)
{
    char path[1024];
    full_path(path, sizeof path, rel);
    TU_OK(glow_png_write_grid(path, pixels, 1, h, w, c, 1, 0));
}

static void write_jpeg(const char *rel, const uint8_t *pixels, int w, int h, int c, int quality)
{
    char path[1024];
    full_path(path, sizeof path, rel);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = c;
    cinfo.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * w * c);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    assert_int_equal(fclose(f), 0);
}

static void write_bytes(const char *rel, const void *data, size_t len)
{
    char path[1024];
    full_path(path, sizeof path, rel);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len > 0)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Copies the first `keep` bytes of rel_src to rel_dst. */
static void write_truncated(const char *rel_src, const char *rel_dst, size_t keep)
{
    char path[1024];
    full_path(path, sizeof path, rel_src);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(keep);
    assert_int_equal(fread(buf, 1, keep, f), keep);
    fclose(f);
    write_bytes(rel_dst, buf, keep);
    free(buf);
}

/* Independent reference of folder.h's crop + area resize, in double:
 * output (oy, ox) = mean over the source square of the pixels weighted by
 * the overlap of [i, i+1) with [o s/size, (o+1) s/size), per axis. */
static uint8_t reference_pixel(const uint8_t *src, int w, int h, int c, int size, int oy, int ox, int k)
{
    const int s = w < h ? w : h, x0 = (w - s) / 2, y0 = (h - s) / 2;
    const double r = (double)s / size;
    double acc = 0.0;
    for (int y = 0; y < s; y++) {
        double wy = fmin(y + 1, (oy + 1) * r) - fmax(y, oy * r);
        if (wy <= 0)
            continue;
        for (int x = 0; x < s; x++) {
            double wx = fmin(x + 1, (ox + 1) * r) - fmax(x, ox * r);
            if (wx > 0)
                acc += wy * wx * src[((size_t)(y0 + y) * w + x0 + x) * c + k];
        }
    }
    return (uint8_t)floor(acc / (r * r) + 0.5);
}

static glow_folder_options options(const char *dir, const char *cache, int size, int channels)
{
    static char dir_path[1024], cache_path[1024];
    full_path(dir_path, sizeof dir_path, dir);
    full_path(cache_path, sizeof cache_path, cache);
    make_dirs(cache); /* the loader needs an existing cache folder */
    glow_folder_options o = {dir_path, NULL, 0.25, size, channels, 0, 2, cache_path};
    return o;
}

/* ---- tests -------------------------------------------------------------- */

static void test_resize_every_size(void **state)
{
    (void)state;
    /* 300 x 200 RGB PNG: crop 200x200 at x 50, then every power of two 8..256
     * (down- and up-scaling, integer and fractional ratios). */
    make_dirs("resize/only");
    const int w = 300, h = 200;
    uint8_t *src = pattern(w, h, 3, 1);
    write_png("resize/only/a.png", src, w, h, 3);
    char path[1024];
    full_path(path, sizeof path, "resize/only/a.png");
    for (int size = 8; size <= 256; size *= 2) {
        uint8_t *out = malloc((size_t)size * size * 3);
        TU_OK(glow_folder_decode_file(path, size, 3, out));
        for (int oy = 0; oy < size; oy++)
            for (int ox = 0; ox < size; ox++)
                for (int k = 0; k < 3; k++) {
                    int got = out[((size_t)oy * size + ox) * 3 + k];
                    int want = reference_pixel(src, w, h, 3, size, oy, ox, k);
                    /* s = 200: every box edge o * 200 / size is a binary fraction, so the
                     * reference's double sums are exact and rounding must agree exactly */
                    if (got != want)
                        fail_msg("size %d pixel (%d,%d,%d): %d, reference %d", size, oy, ox, k, got, want);
                }
        free(out);
    }
    /* A square image at its own size is copied exactly; gray from RGB is luma. */
    uint8_t *sq = pattern(32, 32, 3, 2);
    write_png("resize/only/b.png", sq, 32, 32, 3);
    full_path(path, sizeof path, "resize/only/b.png");
    uint8_t out[32 * 32 * 3];
    TU_OK(glow_folder_decode_file(path, 32, 3, out));
    assert_memory_equal(out, sq, sizeof out);
    TU_OK(glow_folder_decode_file(path, 32, 1, out));
    for (int i = 0; i < 32 * 32; i++)
        assert_int_equal(out[i], (299 * sq[3 * i] + 587 * sq[3 * i + 1] + 114 * sq[3 * i + 2] + 500) / 1000);
    free(sq);
    free(src);
}

static void test_png_folder_split_and_labels(void **state)
{
    (void)state;
    /* classes cat (5 images, one nested) and dog (3); a text file, a hidden
     * file and a hidden folder are ignored. */
    make_dirs("pngs/cat/deep");
    make_dirs("pngs/dog");
    make_dirs("pngs/.hidden");
    const char *names[] = {"pngs/cat/1.png", "pngs/cat/2.png", "pngs/cat/3.PNG", "pngs/cat/4.png",
                           "pngs/cat/deep/5.png", "pngs/dog/1.png", "pngs/dog/2.png", "pngs/dog/3.png"};
    uint8_t *img[8];
    for (int i = 0; i < 8; i++) {
        img[i] = pattern(16, 16, 1, 10 + i);
        write_png(names[i], img[i], 16, 16, 1);
    }
    write_png("pngs/.hidden/x.png", img[0], 16, 16, 1);
    write_png("pngs/dog/.y.png", img[0], 16, 16, 1);
    write_bytes("pngs/dog/notes.txt", "hello", 5);

    glow_folder_options o = options("pngs", "cache-pngs", 16, 1);
    glow_dataset train, test;
    glow_folder_report rep;
    TU_OK(glow_folder_load(&o, &train, &test, &rep));
    assert_int_equal(rep.listed, 8);
    assert_int_equal(rep.skipped, 0);
    assert_int_equal(rep.cache_hit, 0);
    assert_int_equal(train.count + test.count, 8);
    assert_int_equal(test.count, 2); /* round(0.25 * 8) */
    assert_int_equal(train.h, 16);
    assert_int_equal(train.c, 1);
    /* every image appears once, with its class (cat 0, dog 1), each part in listing order */
    int seen[8] = {0}, last_train = -1, last_test = -1;
    for (int part = 0; part < 2; part++) {
        const glow_dataset *ds = part ? &test : &train;
        int *last = part ? &last_test : &last_train;
        for (int i = 0; i < ds->count; i++) {
            int found = -1;
            for (int k = 0; k < 8; k++)
                if (memcmp(ds->pixels + (size_t)i * 256, img[k], 256) == 0)
                    found = k;
            assert_true(found >= 0);
            assert_true(found > *last);
            *last = found;
            seen[found]++;
            assert_int_equal(ds->labels[i], found < 5 ? 0 : 1);
        }
    }
    for (int k = 0; k < 8; k++)
        assert_int_equal(seen[k], 1);
    /* the same split again (fixed seed), now from the cache */
    glow_dataset train2, test2;
    TU_OK(glow_folder_load(&o, &train2, &test2, &rep));
    assert_int_equal(rep.cache_hit, 1);
    assert_int_equal(test2.count, test.count);
    assert_memory_equal(test2.pixels, test.pixels, (size_t)test.count * 256);
    assert_memory_equal(train2.labels, train.labels, (size_t)train.count);
    glow_dataset_free(&train2);
    glow_dataset_free(&test2);
    /* 3 channels: gray replicated */
    glow_folder_options o3 = options("pngs", "cache-pngs", 16, 3);
    TU_OK(glow_folder_load(&o3, &train2, &test2, &rep));
    assert_int_equal(train2.c, 3);
    for (int i = 0; i < 256; i++)
        for (int k = 0; k < 3; k++)
            assert_int_equal(train2.pixels[3 * i + k], train.pixels[i]);
    glow_dataset_free(&train2);
    glow_dataset_free(&test2);
    glow_dataset_free(&train);
    glow_dataset_free(&test);
    for (int i = 0; i < 8; i++)
        free(img[i]);
}

static void test_cache_opens_no_image(void **state)
{
    (void)state;
    make_dirs("cached/a");
    make_dirs("cached/b");
    uint8_t *x = pattern(8, 8, 1, 3), *y = pattern(8, 8, 1, 4), *w = pattern(8, 8, 1, 5);
    write_png("cached/a/x.png", x, 8, 8, 1);
    write_png("cached/b/y.png", y, 8, 8, 1);
    write_png("cached/b/w.png", w, 8, 8, 1);
    glow_folder_options o = options("cached", "cache-cached", 8, 1);
    o.test_fraction = 0.34; /* 3 images: 1 held out; 2 images: 1 held out */
    glow_dataset train, test;
    glow_folder_report rep;
    TU_OK(glow_folder_load(&o, &train, &test, &rep));
    assert_int_equal(rep.cache_hit, 0);
    assert_int_equal(train.count, 2);
    assert_int_equal(test.count, 1);
    uint8_t first[192];
    memcpy(first, train.pixels, 128);
    memcpy(first + 128, test.pixels, 64);
    glow_dataset_free(&train);
    glow_dataset_free(&test);

    /* Overwrite x.png with bytes that are not an image, keeping its size and
     * mtime: the listing is unchanged, so the load must come from the cache. */
    char path[1024];
    full_path(path, sizeof path, "cached/a/x.png");
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    uint8_t *junk = malloc((size_t)sb.st_size);
    memset(junk, 0x5a, (size_t)sb.st_size);
    write_bytes("cached/a/x.png", junk, (size_t)sb.st_size);
    struct timespec times[2] = {sb.st_atim, sb.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    TU_OK(glow_folder_load(&o, &train, &test, &rep));
    assert_int_equal(rep.cache_hit, 1);
    assert_int_equal(rep.skipped, 0);
    assert_memory_equal(train.pixels, first, 128);
    assert_memory_equal(test.pixels, first + 128, 64);
    glow_dataset_free(&train);
    glow_dataset_free(&test);

    /* A changed mtime alone is a new listing: decoded again, and now x.png is bad. */
    struct timespec later[2] = {sb.st_atim, {sb.st_mtim.tv_sec + 10, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, later, 0), 0);
    TU_OK(glow_folder_load(&o, &train, &test, &rep));
    assert_int_equal(rep.cache_hit, 0);
    assert_int_equal(rep.skipped, 1);
    assert_int_equal(train.count + test.count, 2);
    assert_non_null(strstr(rep.first_skipped[0], "x.png"));
    glow_dataset_free(&train);
    glow_dataset_free(&test);
    free(junk);
    free(x);
    free(y);
    free(w);
}

static void test_jpeg_and_corrupt_files(void **state)
{
    (void)state;
    make_dirs("mixed/a");
    make_dirs("mixed/b");
    /* a flat gray JPEG decodes to (nearly) its value; an RGB one gets through */
    uint8_t flat[24 * 24];
    memset(flat, 100, sizeof flat);
    write_jpeg("mixed/a/flat.jpg", flat, 24, 24, 1, 95);
    /* smooth gradients: JPEG keeps them within a few levels */
    uint8_t *rgb = malloc(40 * 30 * 3);
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++)
            for (int k = 0; k < 3; k++)
                rgb[(y * 40 + x) * 3 + k] = (uint8_t)(20 + 3 * x + 2 * y + 30 * k) /* <= 255 */;
    write_jpeg("mixed/b/rgb.JPEG", rgb, 40, 30, 3, 90);
    uint8_t *png = pattern(20, 20, 3, 6);
    write_png("mixed/b/ok.png", png, 20, 20, 3);
    /* bad files: truncated JPEG and PNG, garbage with each extension, empty */
    /* cut inside the entropy-coded data: libjpeg only warns and pads with gray */
    char rgb_path[1024];
    full_path(rgb_path, sizeof rgb_path, "mixed/b/rgb.JPEG");
    struct stat jsb;
    assert_int_equal(stat(rgb_path, &jsb), 0);
    write_truncated("mixed/b/rgb.JPEG", "mixed/a/bad1_truncated.jpg", (size_t)jsb.st_size - 40);
    write_truncated("mixed/b/ok.png", "mixed/a/bad2_truncated.png", 60);
    static const char png_garbage[] = "\x89PNG\r\n\x1a\nnot really a png at all";
    static const char jpg_garbage[] = "\xff\xd8\xff\xe0 garbage garbage garbage";
    write_bytes("mixed/a/bad3_garbage.png", png_garbage, sizeof png_garbage - 1);
    write_bytes("mixed/a/bad4_garbage.jpg", jpg_garbage, sizeof jpg_garbage - 1);
    write_bytes("mixed/b/bad5_empty.jpeg", "", 0);

    glow_folder_options o = options("mixed", "cache-mixed", 8, 1);
    o.test_fraction = 0.34;
    glow_dataset train, test;
    glow_folder_report rep;
    TU_OK(glow_folder_load(&o, &train, &test, &rep));
    assert_int_equal(rep.listed, 8);
    assert_int_equal(rep.skipped, 5);
    assert_int_equal(train.count + test.count, 3);
    /* the first GLOW_FOLDER_NAMED_SKIPS in listing order are named */
    assert_non_null(strstr(rep.first_skipped[0], "bad1_truncated.jpg"));
    assert_non_null(strstr(rep.first_skipped[1], "bad2_truncated.png"));
    assert_non_null(strstr(rep.first_skipped[2], "bad3_garbage.png"));
    assert_non_null(strstr(rep.first_skipped[3], "bad4_garbage.jpg"));
    glow_dataset_free(&train);
    glow_dataset_free(&test);

    char path[1024];
    full_path(path, sizeof path, "mixed/a/flat.jpg");
    uint8_t out[64];
    TU_OK(glow_folder_decode_file(path, 8, 1, out));
    for (int i = 0; i < 64; i++)
        assert_in_range(out[i], 98, 102);
    full_path(path, sizeof path, "mixed/b/rgb.JPEG");
    uint8_t out3[16 * 16 * 3];
    TU_OK(glow_folder_decode_file(path, 16, 3, out3));
    for (int oy = 0; oy < 16; oy++)
        for (int ox = 0; ox < 16; ox++)
            for (int k = 0; k < 3; k++) {
                int want = reference_pixel(rgb, 40, 30, 3, 16, oy, ox, k);
                assert_in_range(out3[(oy * 16 + ox) * 3 + k], want > 12 ? want - 12 : 0, want + 12);
            }

    /* --strict-data: the first bad file is the error, named (cached or not) */
    o.strict = 1;
    glow_status st = glow_folder_load(&o, &train, &test, &rep);
    assert_int_equal(st, GLOW_ERR_FORMAT);
    assert_non_null(strstr(glow_last_error(), "bad1_truncated.jpg"));
    assert_null(train.pixels);
    glow_folder_options fresh = options("mixed", "cache-mixed-strict", 8, 1);
    fresh.strict = 1;
    st = glow_folder_load(&fresh, &train, &test, &rep);
    assert_int_equal(st, GLOW_ERR_FORMAT);
    assert_non_null(strstr(glow_last_error(), "bad1_truncated.jpg"));
    free(rgb);
    free(png);
}

static void test_errors(void **state)
{
    (void)state;
    glow_dataset train, test;
    glow_folder_report rep;
    make_dirs("empty/sub");
    write_bytes("empty/sub/readme.txt", "x", 1);
    glow_folder_options o = options("empty", "cache-empty", 32, 1);
    assert_int_equal(glow_folder_load(&o, &train, &test, &rep), GLOW_ERR_INVALID_ARG);
    assert_non_null(strstr(glow_last_error(), "no image files"));

    make_dirs("allbad/a");
    write_bytes("allbad/a/x.png", "nope", 4);
    o = options("allbad", "cache-allbad", 32, 1);
    assert_int_equal(glow_folder_load(&o, &train, &test, &rep), GLOW_ERR_FORMAT);
    assert_non_null(strstr(glow_last_error(), "x.png"));

    o = options("missing-folder", "cache-x", 32, 1);
    assert_int_equal(glow_folder_load(&o, &train, &test, &rep), GLOW_ERR_IO);
    o = options("empty", "cache-x", 48, 1);
    assert_int_equal(glow_folder_load(&o, &train, &test, &rep), GLOW_ERR_INVALID_ARG);
    o = options("empty", "cache-x", 512, 1);
    assert_int_equal(glow_folder_load(&o, &train, &test, &rep), GLOW_ERR_INVALID_ARG);
    o = options("empty", "cache-x", 32, 2);
    assert_int_equal(glow_folder_load(&o, &train, &test, &rep), GLOW_ERR_INVALID_ARG);
}

static void test_separate_test_folder(void **state)
{
    (void)state;
    make_dirs("tr/ant");
    make_dirs("tr/bee");
    make_dirs("tr/cow");
    make_dirs("te/cow");
    make_dirs("te/ant");
    uint8_t *p = pattern(8, 8, 1, 7);
    write_png("tr/ant/1.png", p, 8, 8, 1);
    write_png("tr/bee/1.png", p, 8, 8, 1);
    write_png("tr/cow/1.png", p, 8, 8, 1);
    write_png("te/ant/1.png", p, 8, 8, 1);
    write_png("te/cow/1.png", p, 8, 8, 1);
    glow_folder_options o = options("tr", "cache-tr", 8, 1);
    char te[1024];
    full_path(te, sizeof te, "te");
    o.test_dir = te;
    glow_dataset train, test;
    glow_folder_report rep;
    TU_OK(glow_folder_load(&o, &train, &test, &rep));
    assert_int_equal(train.count, 3);
    assert_int_equal(test.count, 2);
    /* test classes by name: ant 0, cow 2 in the training folder's numbering */
    assert_int_equal(test.labels[0], 0);
    assert_int_equal(test.labels[1], 2);
    glow_dataset_free(&train);
    glow_dataset_free(&test);
    make_dirs("te/dog");
    write_png("te/dog/1.png", p, 8, 8, 1);
    assert_int_equal(glow_folder_load(&o, &train, &test, &rep), GLOW_ERR_INVALID_ARG);
    assert_non_null(strstr(glow_last_error(), "dog"));
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resize_every_size),
        cmocka_unit_test(test_png_folder_split_and_labels),
        cmocka_unit_test(test_cache_opens_no_image),
        cmocka_unit_test(test_jpeg_and_corrupt_files),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_separate_test_folder),
    };
    return cmocka_run_group_tests(tests, tu_make_temp_dir, tu_remove_temp_dir);
}
