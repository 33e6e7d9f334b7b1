/* glow_folder_load: listing -> cache key -> mapped cache, or decoding on
 * threads, held-out split and a new cache file (folder.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "folder_internal.h"
#include "glow/rng.h"

#define CACHE_VERSION "glow-vk image cache 1"

const char *glow_folder_default_cache_dir(void)
{
    static _Thread_local char dir[1024];
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (xdg && xdg[0])
        snprintf(dir, sizeof dir, "%s/glow-vk", xdg);
    else
        snprintf(dir, sizeof dir, "%s/.cache/glow-vk", home && home[0] ? home : ".");
    return dir;
}

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t listing_key(const folder_listing *l, int size, int channels, double fraction)
{
    uint64_t h = fnv(0xcbf29ce484222325ull, CACHE_VERSION, sizeof CACHE_VERSION);
    for (int i = 0; i < l->count; i++) {
        const folder_entry *e = &l->entries[i];
        h = fnv(h, e->path, strlen(e->path) + 1);
        h = fnv(h, &e->bytes, sizeof e->bytes);
        h = fnv(h, &e->mtime_ns, sizeof e->mtime_ns);
    }
    int32_t shape[2] = {size, channels};
    h = fnv(h, shape, sizeof shape);
    return fnv(h, &fraction, sizeof fraction);
}

/* Which of the n decoded images are held out: round(fraction * n) of them
 * (at least 1 when fraction > 0), the first of a Fisher-Yates shuffle of
 * 0..n-1 drawn from Philox {GLOW_FOLDER_SPLIT_SEED, GLOW_STREAM_DATA_ORDER, 0}. */
static int mark_held_out(int n, double fraction, uint8_t *held)
{
    memset(held, 0, (size_t)n);
    if (fraction <= 0.0)
        return 0;
    int n_test = (int)floor(fraction * n + 0.5);
    if (n_test < 1)
        n_test = 1;
    uint32_t *perm = malloc((size_t)n * sizeof *perm);
    if (perm == NULL)
        return -1;
    for (int i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    glow_rng r = {GLOW_FOLDER_SPLIT_SEED, GLOW_STREAM_DATA_ORDER, 0, 0};
    for (int i = n - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(((uint64_t)glow_rng_bits(r, (uint64_t)i) * (uint64_t)(i + 1)) >> 32);
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < n_test && i < n; i++)
        held[perm[i]] = 1;
    free(perm);
    return n_test;
}

/* Cache miss: decode everything, drop the failures, put the training images
 * first (both parts in listing order) and write the cache file. */
static glow_status build_cache(const char *dir, const folder_listing *l, const glow_folder_options *o, double fraction,
                               uint64_t key, const char *path)
{
    const size_t image_bytes = (size_t)o->size * o->size * o->channels;
    uint8_t *pixels = malloc((size_t)l->count * image_bytes);
    uint8_t *ok = calloc((size_t)l->count, 1);
    uint8_t *held = malloc((size_t)l->count);
    uint8_t *out_pixels = malloc((size_t)l->count * image_bytes);
    uint8_t *labels = malloc((size_t)l->count);
    image_cache c;
    memset(&c, 0, sizeof c);
    folder_skips skips;
    glow_status st = GLOW_OK;
    if (pixels == NULL || ok == NULL || held == NULL || out_pixels == NULL || labels == NULL)
        st = glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: %d images of %zu bytes", dir, l->count, image_bytes);
    if (st == GLOW_OK)
        st = folder_decode_all(dir, l, o->size, o->channels, o->threads, pixels, ok, &skips);
    int n_ok = 0;
    for (int i = 0; st == GLOW_OK && i < l->count; i++)
        n_ok += ok[i];
    if (st == GLOW_OK && n_ok == 0)
        st = glow_error(GLOW_ERR_FORMAT, "%s: none of the %d image files could be decoded; the first: %s", dir,
                        l->count, skips.reason[0]);
    int n_test = 0;
    if (st == GLOW_OK && (n_test = mark_held_out(n_ok, fraction, held)) < 0)
        st = glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: split of %d images", dir, n_ok);
    if (st == GLOW_OK && n_ok - n_test < 1)
        st = glow_error(GLOW_ERR_INVALID_ARG, "%s: %d images leave none for training after holding out %d", dir,
                        n_ok, n_test);
    if (st == GLOW_OK) {
        /* ok images in listing order are 0..n_ok-1; train ones first, then held-out ones */
        int k = 0, train_pos = 0, test_pos = n_ok - n_test;
        for (int i = 0; i < l->count; i++) {
            if (!ok[i])
                continue;
            int dst = held[k++] ? test_pos++ : train_pos++;
            memcpy(out_pixels + (size_t)dst * image_bytes, pixels + (size_t)i * image_bytes, image_bytes);
            labels[dst] = (uint8_t)l->entries[i].label;
        }
        c.count = n_ok;
        c.n_train = n_ok - n_test;
        c.size = o->size;
        c.channels = o->channels;
        c.n_classes = l->n_classes;
        c.skipped = skips.count;
        c.key = key;
        for (int i = 0; i < skips.n_named; i++)
            snprintf(c.first_skipped[i], 256, "%s", skips.reason[i]);
        c.classes = l->classes;
        c.labels = labels;
        c.pixels = out_pixels;
        st = image_cache_write(path, &c);
    }
    free(pixels);
    free(ok);
    free(held);
    free(out_pixels);
    free(labels);
    return st;
}

/* Lists dir and maps its cache (building it first when missing). */
static glow_status open_folder(const char *dir, const glow_folder_options *o, double fraction, image_cache *c,
                               glow_folder_report *rep)
{
    folder_listing l;
    GLOW_TRY(folder_list(dir, &l));
    const char *cache_dir = o->cache_dir ? o->cache_dir : glow_folder_default_cache_dir();
    const uint64_t key = listing_key(&l, o->size, o->channels, fraction);
    char path[1024];
    int n = snprintf(path, sizeof path, "%s/folder-%016llx-%dx%dx%d.u8", cache_dir, (unsigned long long)key, o->size,
                     o->size, o->channels);
    glow_status st = GLOW_OK;
    if (n < 0 || (size_t)n >= sizeof path)
        st = glow_error(GLOW_ERR_INVALID_ARG, "cache folder '%s': path too long", cache_dir);
    rep->listed += l.count;
    int hit = st == GLOW_OK && image_cache_open(path, key, o->size, o->channels, c);
    if (st == GLOW_OK && !hit) {
        st = build_cache(dir, &l, o, fraction, key, path);
        if (st == GLOW_OK && !image_cache_open(path, key, o->size, o->channels, c))
            st = glow_error(GLOW_ERR_IO, "%s: the image cache just written cannot be mapped back", path);
    }
    folder_listing_free(&l);
    if (st != GLOW_OK)
        return st;
    rep->cache_hit = hit;
    snprintf(rep->cache_path, sizeof rep->cache_path, "%s", path);
    for (int i = 0; i < GLOW_FOLDER_NAMED_SKIPS && c->first_skipped[i][0]; i++) {
        int slot = 0;
        while (slot < GLOW_FOLDER_NAMED_SKIPS && rep->first_skipped[slot][0])
            slot++;
        if (slot < GLOW_FOLDER_NAMED_SKIPS)
            snprintf(rep->first_skipped[slot], 256, "%s", c->first_skipped[i]);
    }
    rep->skipped += c->skipped;
    if (o->strict && c->skipped > 0) {
        st = glow_error(GLOW_ERR_FORMAT, "--strict-data: %s (%d of the files in %s cannot be decoded)",
                        c->first_skipped[0], c->skipped, dir);
        image_cache_close(c);
    }
    return st;
}

/* images [first, first + count) of the mapped cache as a dataset that owns
 * the mapping; labels mapped through remap (NULL: as stored). */
static glow_status take_part(image_cache *c, int first, int count, const int *remap, glow_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    snprintf(ds->name, sizeof ds->name, "folder");
    ds->labels = malloc(count > 0 ? (size_t)count : 1);
    if (ds->labels == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "folder labels: %d", count);
    for (int i = 0; i < count; i++) {
        int lab = c->labels[first + i];
        ds->labels[i] = (uint8_t)(remap ? remap[lab] : lab);
    }
    const size_t image_bytes = (size_t)c->size * c->size * c->channels;
    ds->count = count;
    ds->h = ds->w = c->size;
    ds->c = c->channels;
    ds->pixels = (uint8_t *)c->pixels + (size_t)first * image_bytes;
    ds->mapping = c->map;
    ds->mapping_bytes = c->map_bytes;
    c->map = NULL; /* now the dataset's */
    return GLOW_OK;
}

static glow_status check_options(const glow_folder_options *o)
{
    if (o == NULL || o->dir == NULL || o->dir[0] == '\0')
        return glow_error(GLOW_ERR_INVALID_ARG, "folder data set: no folder given (--data-dir)");
    if (o->size < 8 || o->size > 256 || (o->size & (o->size - 1)) != 0)
        return glow_error(GLOW_ERR_INVALID_ARG, "folder data set: size %d is not a power of two in 8..256", o->size);
    if (o->channels != 1 && o->channels != 3)
        return glow_error(GLOW_ERR_INVALID_ARG, "folder data set: channels %d (expected 1 or 3)", o->channels);
    if (o->test_dir == NULL && !(o->test_fraction > 0.0 && o->test_fraction < 1.0))
        return glow_error(GLOW_ERR_INVALID_ARG,
                          "folder data set: test fraction %g must be in (0, 1) when no test folder is given",
                          o->test_fraction);
    return GLOW_OK;
}

glow_status glow_folder_load(const glow_folder_options *o, glow_dataset *train, glow_dataset *test,
                             glow_folder_report *rep)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    memset(rep, 0, sizeof *rep);
    GLOW_TRY(check_options(o));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    image_cache c, ct;
    memset(&ct, 0, sizeof ct);
    const double fraction = o->test_dir ? 0.0 : o->test_fraction;
    glow_status st = open_folder(o->dir, o, fraction, &c, rep);
    if (st != GLOW_OK)
        return st;
    if (o->test_dir == NULL) {
        st = take_part(&c, 0, c.n_train, NULL, train);
        /* the same file mapped a second time for the test part */
        if (st == GLOW_OK && !image_cache_open(rep->cache_path, c.key, o->size, o->channels, &ct))
            st = glow_error(GLOW_ERR_IO, "%s: cannot map the image cache again", rep->cache_path);
        if (st == GLOW_OK)
            st = take_part(&ct, c.n_train, c.count - c.n_train, NULL, test);
    } else {
        glow_folder_report test_rep;
        memset(&test_rep, 0, sizeof test_rep);
        st = open_folder(o->test_dir, o, 0.0, &ct, &test_rep);
        int remap[GLOW_FOLDER_MAX_CLASSES];
        for (int k = 0; st == GLOW_OK && k < ct.n_classes; k++) {
            remap[k] = -1;
            for (int j = 0; j < c.n_classes; j++)
                if (strncmp(ct.classes[k], c.classes[j], 64) == 0)
                    remap[k] = j;
            if (remap[k] < 0)
                st = glow_error(GLOW_ERR_INVALID_ARG, "%s: class folder '%.64s' does not exist in the training folder %s",
                                o->test_dir, ct.classes[k], o->dir);
        }
        if (st == GLOW_OK) {
            rep->listed += test_rep.listed;
            rep->skipped += test_rep.skipped;
            st = take_part(&c, 0, c.count, NULL, train);
        }
        if (st == GLOW_OK)
            st = take_part(&ct, 0, ct.count, remap, test);
    }
    image_cache_close(&c);
    image_cache_close(&ct);
    if (st != GLOW_OK) {
        glow_dataset_free(train);
        glow_dataset_free(test);
        return st;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rep->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    return GLOW_OK;
}
