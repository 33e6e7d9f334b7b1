/* The decoded-image cache file of a folder data set (layout in folder.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byte_order.h"
#include "folder_internal.h"

enum { HEADER_BYTES = 8 + 6 * 4 + 8 };

size_t image_cache_pixels_offset(int count)
{
    size_t end = IMAGE_CACHE_LABELS_OFFSET + (size_t)count;
    return (end + 4095) / 4096 * 4096;
}

size_t image_cache_file_bytes(int count, int size, int channels)
{
    return image_cache_pixels_offset(count) + (size_t)count * size * size * channels;
}

int image_cache_open(const char *path, uint64_t key, int size, int channels, image_cache *c)
{
    memset(c, 0, sizeof *c);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || (size_t)sb.st_size < IMAGE_CACHE_LABELS_OFFSET) {
        close(fd);
        return 0;
    }
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return 0;
    const uint8_t *p = map;
    uint64_t stored_key = le_get_u64(p + 32);
    c->count = (int)le_get_u32(p + 8);
    c->n_train = (int)le_get_u32(p + 12);
    c->size = (int)le_get_u32(p + 16);
    c->channels = (int)le_get_u32(p + 20);
    c->n_classes = (int)le_get_u32(p + 24);
    c->skipped = (int)le_get_u32(p + 28);
    if (memcmp(p, IMAGE_CACHE_MAGIC, 8) != 0 || stored_key != key || c->size != size || c->channels != channels ||
        c->count <= 0 || c->n_train < 0 || c->n_train > c->count || c->n_classes <= 0 ||
        c->n_classes > GLOW_FOLDER_MAX_CLASSES || (size_t)sb.st_size != image_cache_file_bytes(c->count, size, channels)) {
        munmap(map, (size_t)sb.st_size);
        return 0;
    }
    for (int i = 0; i < GLOW_FOLDER_NAMED_SKIPS; i++) {
        memcpy(c->first_skipped[i], p + HEADER_BYTES + 256 * i, 255);
        c->first_skipped[i][255] = '\0';
    }
    c->classes = (char (*)[64])(p + IMAGE_CACHE_NAMES_OFFSET);
    c->labels = p + IMAGE_CACHE_LABELS_OFFSET;
    c->pixels = p + image_cache_pixels_offset(c->count);
    c->key = key;
    c->map = map;
    c->map_bytes = (size_t)sb.st_size;
    return 1;
}

void image_cache_close(image_cache *c)
{
    if (c->map != NULL)
        munmap(c->map, c->map_bytes);
    memset(c, 0, sizeof *c);
}

static glow_status write_all(int fd, const void *buf, size_t len, const char *path)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return glow_error(GLOW_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return GLOW_OK;
}

glow_status image_cache_write(const char *path, const image_cache *c)
{
    const size_t pix_off = image_cache_pixels_offset(c->count);
    uint8_t *head = calloc(pix_off, 1);
    if (head == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: cache header", path);
    memcpy(head, IMAGE_CACHE_MAGIC, 8);
    le_put_u32(head + 8, (uint32_t)c->count);
    le_put_u32(head + 12, (uint32_t)c->n_train);
    le_put_u32(head + 16, (uint32_t)c->size);
    le_put_u32(head + 20, (uint32_t)c->channels);
    le_put_u32(head + 24, (uint32_t)c->n_classes);
    le_put_u32(head + 28, (uint32_t)c->skipped);
    le_put_u64(head + 32, c->key);
    for (int i = 0; i < GLOW_FOLDER_NAMED_SKIPS; i++)
        memcpy(head + HEADER_BYTES + 256 * i, c->first_skipped[i], 255);
    memcpy(head + IMAGE_CACHE_NAMES_OFFSET, c->classes, (size_t)c->n_classes * 64);
    memcpy(head + IMAGE_CACHE_LABELS_OFFSET, c->labels, (size_t)c->count);

    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        free(head);
        return glow_error(GLOW_ERR_IO, "%s: cannot create the image cache (the cache folder must exist and be "
                          "writable): %s", tmp, strerror(errno));
    }
    glow_status st = write_all(fd, head, pix_off, tmp);
    if (st == GLOW_OK)
        st = write_all(fd, c->pixels, (size_t)c->count * c->size * c->size * c->channels, tmp);
    if (close(fd) != 0 && st == GLOW_OK)
        st = glow_error(GLOW_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (st == GLOW_OK && rename(tmp, path) != 0)
        st = glow_error(GLOW_ERR_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (st != GLOW_OK)
        remove(tmp);
    free(head);
    return st;
}
