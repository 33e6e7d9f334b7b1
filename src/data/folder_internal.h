/* Internal parts of the image-folder loader (include/glow/folder.h):
 * listing (folder_list.c), JPEG decoding (jpeg_decode.c), crop/resize
 * (image_resize.c), the cache file (image_cache.c) and parallel decoding
 * (folder_decode.c). */
#ifndef GLOW_FOLDER_INTERNAL_H
#define GLOW_FOLDER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "glow/folder.h"

typedef struct {
    char *path;      /* relative to the listed root */
    int64_t bytes;   /* st_size */
    int64_t mtime_ns;
    int label;       /* index into the listing's classes */
} folder_entry;

typedef struct {
    folder_entry *entries;
    int count, capacity;
    char (*classes)[64];
    int n_classes;
} folder_listing;

/* Lists root recursively (see folder.h). No image: GLOW_ERR_INVALID_ARG. */
glow_status folder_list(const char *root, folder_listing *out);
void folder_listing_free(folder_listing *l);
/* Index of class `name` in l, or -1. */
int folder_class_index(const folder_listing *l, const char *name);

/* JPEG (libjpeg-turbo) from a file: 8-bit gray or RGB (*channels 1 or 3),
 * height x width x channels bytes, malloc'ed. CMYK and other colour spaces
 * libjpeg cannot turn into RGB are GLOW_ERR_FORMAT. Images over
 * GLOW_PNG_READ_MAX_BYTES decoded bytes are refused before allocation. */
glow_status jpeg_read(const char *path, int *width, int *height, int *channels, uint8_t **pixels);

/* src (h x w x src_c, src_c 1..4) -> dst (size x size x dst_c, dst_c 1 or 3):
 * centre crop, area resize, channel conversion (formulas in folder.h). */
glow_status image_crop_resize(const uint8_t *src, int w, int h, int src_c, int size, int dst_c, uint8_t *dst);

#define IMAGE_CACHE_MAGIC "GLOWIMC1"
#define IMAGE_CACHE_NAMES_OFFSET 4096u
#define IMAGE_CACHE_LABELS_OFFSET (4096u + 16384u)

typedef struct {
    int count, n_train, size, channels, n_classes, skipped;
    uint64_t key;
    char first_skipped[GLOW_FOLDER_NAMED_SKIPS][256];
    char (*classes)[64]; /* n_classes names */
    const uint8_t *labels;
    const uint8_t *pixels;
    void *map;
    size_t map_bytes;
} image_cache;

size_t image_cache_pixels_offset(int count);
size_t image_cache_file_bytes(int count, int size, int channels);
/* Maps path if it exists with this key, size and channels: 1 found (c filled,
 * c->map owned by the caller), 0 absent or stale (nothing mapped). */
int image_cache_open(const char *path, uint64_t key, int size, int channels, image_cache *c);
/* Writes c's fields (labels, pixels from c->labels/c->pixels) to path via a
 * temporary and rename. */
glow_status image_cache_write(const char *path, const image_cache *c);
void image_cache_close(image_cache *c);

/* The failed entries with the lowest indices, each with its reason. */
typedef struct {
    int count; /* failures in all */
    int n_named;
    int index[GLOW_FOLDER_NAMED_SKIPS];
    char reason[GLOW_FOLDER_NAMED_SKIPS][256];
} folder_skips;

/* Decodes the entries of l (paths under root) on `threads` threads: entry i
 * into pixels + i * size*size*channels; ok[i] = 1 when it decoded. */
glow_status folder_decode_all(const char *root, const folder_listing *l, int size, int channels, int threads,
                              uint8_t *pixels, uint8_t *ok, folder_skips *skips);

#endif
