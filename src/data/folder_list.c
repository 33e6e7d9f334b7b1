/* Recursive listing of an image folder: PNG/JPEG files by extension, sorted
 * by relative path, labelled by their first path component (folder.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "folder_internal.h"

#define MAX_DEPTH 32

static int has_image_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
                           strcasecmp(dot, ".jpeg") == 0);
}

static glow_status add_entry(folder_listing *l, const char *rel, const struct stat *sb)
{
    if (l->count == l->capacity) {
        int cap = l->capacity ? 2 * l->capacity : 256;
        folder_entry *e = realloc(l->entries, (size_t)cap * sizeof *e);
        if (e == NULL)
            return glow_error(GLOW_ERR_OUT_OF_MEMORY, "listing: %d entries", cap);
        l->entries = e;
        l->capacity = cap;
    }
    folder_entry *e = &l->entries[l->count];
    e->path = strdup(rel);
    if (e->path == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "listing: path '%s'", rel);
    e->bytes = (int64_t)sb->st_size;
    e->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
    e->label = -1;
    l->count++;
    return GLOW_OK;
}

/* Walks root/rel (rel "" for the root itself). */
static glow_status walk(const char *root, const char *rel, int depth, folder_listing *l)
{
    char dir_path[4096];
    int n = snprintf(dir_path, sizeof dir_path, "%s%s%s", root, rel[0] ? "/" : "", rel);
    if (n < 0 || (size_t)n >= sizeof dir_path)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s/%s: path too long", root, rel);
    if (depth > MAX_DEPTH)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s: folders nested more than %d deep", dir_path, MAX_DEPTH);
    DIR *d = opendir(dir_path);
    if (d == NULL)
        return glow_error(GLOW_ERR_IO, "%s: cannot open the folder: %s", dir_path, strerror(errno));
    glow_status st = GLOW_OK;
    struct dirent *de;
    while (st == GLOW_OK && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char child_rel[4096], child_path[8200];
        n = snprintf(child_rel, sizeof child_rel, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        if (n < 0 || (size_t)n >= sizeof child_rel) {
            st = glow_error(GLOW_ERR_INVALID_ARG, "%s/%s: path too long", dir_path, de->d_name);
            break;
        }
        snprintf(child_path, sizeof child_path, "%s/%s", root, child_rel);
        struct stat sb;
        if (stat(child_path, &sb) != 0)
            continue; /* a dangling link: not an image we could read */
        if (S_ISDIR(sb.st_mode))
            st = walk(root, child_rel, depth + 1, l);
        else if (S_ISREG(sb.st_mode) && has_image_extension(de->d_name))
            st = add_entry(l, child_rel, &sb);
    }
    closedir(d);
    return st;
}

static int compare_entries(const void *a, const void *b)
{
    return strcmp(((const folder_entry *)a)->path, ((const folder_entry *)b)->path);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* The class of a relative path: its first component, or "." at the root. */
static void class_of(const char *rel, char name[64])
{
    const char *slash = strchr(rel, '/');
    size_t len = slash ? (size_t)(slash - rel) : 1;
    if (slash == NULL)
        rel = ".";
    if (len > 63)
        len = 63;
    memcpy(name, rel, len);
    name[len] = '\0';
}

int folder_class_index(const folder_listing *l, const char *name)
{
    for (int i = 0; i < l->n_classes; i++)
        if (strcmp(l->classes[i], name) == 0)
            return i;
    return -1;
}

glow_status folder_list(const char *root, folder_listing *out)
{
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(root, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return glow_error(GLOW_ERR_IO, "%s: not a folder", root);
    glow_status st = walk(root, "", 0, out);
    if (st == GLOW_OK && out->count == 0)
        st = glow_error(GLOW_ERR_INVALID_ARG, "%s: no image files (.png, .jpg, .jpeg) in the folder or below it",
                        root);
    if (st != GLOW_OK) {
        folder_listing_free(out);
        return st;
    }
    qsort(out->entries, (size_t)out->count, sizeof *out->entries, compare_entries);
    out->classes = calloc(GLOW_FOLDER_MAX_CLASSES, sizeof *out->classes);
    if (out->classes == NULL) {
        folder_listing_free(out);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "listing classes");
    }
    for (int i = 0; i < out->count; i++) {
        char name[64];
        class_of(out->entries[i].path, name);
        if (folder_class_index(out, name) >= 0)
            continue;
        if (out->n_classes == GLOW_FOLDER_MAX_CLASSES) {
            folder_listing_free(out);
            return glow_error(GLOW_ERR_INVALID_ARG, "%s: more than %d class subfolders", root,
                              GLOW_FOLDER_MAX_CLASSES);
        }
        memcpy(out->classes[out->n_classes++], name, 64);
    }
    qsort(out->classes, (size_t)out->n_classes, sizeof *out->classes, compare_names);
    for (int i = 0; i < out->count; i++) {
        char name[64];
        class_of(out->entries[i].path, name);
        out->entries[i].label = folder_class_index(out, name);
    }
    return GLOW_OK;
}

void folder_listing_free(folder_listing *l)
{
    for (int i = 0; i < l->count; i++)
        free(l->entries[i].path);
    free(l->entries);
    free(l->classes);
    memset(l, 0, sizeof *l);
}
