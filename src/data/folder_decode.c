/* Decoding the files of a folder listing on worker threads (pthreads). Each
 * worker takes the next undecoded index under a mutex, decodes and resizes it
 * straight into its slot of the output array, and records a failure. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "folder_internal.h"
#include "glow/image.h"

typedef struct {
    const char *root;
    const folder_listing *l;
    int size, channels;
    uint8_t *pixels, *ok;
    folder_skips *skips;
    pthread_mutex_t lock;
    int next;
} decode_job;

static int has_prefix(const uint8_t *p, size_t n, const char *sig, size_t len)
{
    return n >= len && memcmp(p, sig, len) == 0;
}

glow_status glow_folder_decode_file(const char *path, int size, int channels, uint8_t *out)
{
    uint8_t sig[8] = {0};
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return glow_error(GLOW_ERR_IO, "%s: cannot open", path);
    size_t n = fread(sig, 1, sizeof sig, f);
    fclose(f);
    int w = 0, h = 0, c = 0;
    uint8_t *decoded = NULL;
    glow_status st;
    if (has_prefix(sig, n, "\x89PNG\r\n\x1a\n", 8))
        st = glow_png_read(path, &w, &h, &c, &decoded);
    else if (has_prefix(sig, n, "\xff\xd8\xff", 3))
        st = jpeg_read(path, &w, &h, &c, &decoded);
    else
        st = glow_error(GLOW_ERR_FORMAT, "%s: neither a PNG nor a JPEG file (%zu bytes read)", path, n);
    if (st == GLOW_OK)
        st = image_crop_resize(decoded, w, h, c, size, channels, out);
    free(decoded);
    return st;
}

static void record_failure(decode_job *job, int index, const char *reason)
{
    folder_skips *s = job->skips;
    s->count++;
    /* keep the GLOW_FOLDER_NAMED_SKIPS lowest indices, sorted */
    int pos = s->n_named;
    while (pos > 0 && s->index[pos - 1] > index)
        pos--;
    if (pos >= GLOW_FOLDER_NAMED_SKIPS)
        return;
    int last = s->n_named < GLOW_FOLDER_NAMED_SKIPS ? s->n_named : GLOW_FOLDER_NAMED_SKIPS - 1;
    for (int k = last; k > pos; k--) {
        s->index[k] = s->index[k - 1];
        memcpy(s->reason[k], s->reason[k - 1], 256);
    }
    s->index[pos] = index;
    snprintf(s->reason[pos], 256, "%s", reason);
    if (s->n_named < GLOW_FOLDER_NAMED_SKIPS)
        s->n_named++;
}

static void *decode_worker(void *arg)
{
    decode_job *job = arg;
    const size_t image_bytes = (size_t)job->size * job->size * job->channels;
    for (;;) {
        pthread_mutex_lock(&job->lock);
        int i = job->next < job->l->count ? job->next++ : -1;
        pthread_mutex_unlock(&job->lock);
        if (i < 0)
            return NULL;
        char path[8200];
        snprintf(path, sizeof path, "%s/%s", job->root, job->l->entries[i].path);
        glow_status st = glow_folder_decode_file(path, job->size, job->channels, job->pixels + (size_t)i * image_bytes);
        job->ok[i] = st == GLOW_OK;
        if (st != GLOW_OK) {
            /* glow_last_error is thread-local: this thread's message */
            char reason[256];
            snprintf(reason, sizeof reason, "%s", glow_last_error());
            pthread_mutex_lock(&job->lock);
            record_failure(job, i, reason);
            pthread_mutex_unlock(&job->lock);
        }
    }
}

glow_status folder_decode_all(const char *root, const folder_listing *l, int size, int channels, int threads,
                              uint8_t *pixels, uint8_t *ok, folder_skips *skips)
{
    memset(skips, 0, sizeof *skips);
    decode_job job = {root, l, size, channels, pixels, ok, skips, PTHREAD_MUTEX_INITIALIZER, 0};
    if (threads <= 0)
        threads = 2;
    if (threads > 64)
        threads = 64;
    pthread_t tid[64];
    int started = 0;
    for (; started < threads; started++)
        if (pthread_create(&tid[started], NULL, decode_worker, &job) != 0)
            break;
    if (started == 0)
        decode_worker(&job); /* no thread could start: decode here */
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    pthread_mutex_destroy(&job.lock);
    return GLOW_OK;
}
