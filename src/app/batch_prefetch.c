#include "batch_prefetch.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct batch_prefetch {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    uint8_t *slots; /* depth x batch_bytes; step s lives in slot s % depth */
    size_t batch_bytes;
    int depth;
    int64_t consumed; /* steps released by the consumer: next to take */
    int64_t produced; /* steps whose batch is ready: [consumed, produced) */
    int64_t stop_step;
    int stopping;
    batch_fill_fn fill;
    void *ctx;
};

static void *producer(void *arg)
{
    batch_prefetch *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stopping && p->produced < p->stop_step && p->produced - p->consumed >= p->depth)
            pthread_cond_wait(&p->changed, &p->lock);
        if (p->stopping || p->produced >= p->stop_step)
            break;
        const int64_t step = p->produced;
        pthread_mutex_unlock(&p->lock);
        /* the slot of `step` is free: the consumer is more than depth steps behind no more */
        p->fill(p->ctx, step, p->slots + (size_t)(step % p->depth) * p->batch_bytes);
        pthread_mutex_lock(&p->lock);
        p->produced = step + 1;
        pthread_cond_broadcast(&p->changed);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

glow_status batch_prefetch_start(int depth, size_t batch_bytes, int64_t first_step, int64_t stop_step,
                                 batch_fill_fn fill, void *ctx, batch_prefetch **out)
{
    batch_prefetch *p = calloc(1, sizeof *p);
    if (p == NULL || (p->slots = malloc((size_t)depth * batch_bytes)) == NULL) {
        free(p);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "prefetch queue of %d batches of %zu bytes", depth, batch_bytes);
    }
    p->batch_bytes = batch_bytes;
    p->depth = depth;
    p->consumed = p->produced = first_step;
    p->stop_step = stop_step;
    p->fill = fill;
    p->ctx = ctx;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    if (pthread_create(&p->thread, NULL, producer, p) != 0) {
        pthread_cond_destroy(&p->changed);
        pthread_mutex_destroy(&p->lock);
        free(p->slots);
        free(p);
        return glow_error(GLOW_ERR_UNAVAILABLE, "cannot start the data prefetch thread");
    }
    *out = p;
    return GLOW_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const uint8_t *batch_prefetch_take(batch_prefetch *p, int64_t step, double *waited_s)
{
    const double t0 = now_s();
    pthread_mutex_lock(&p->lock);
    while (p->produced <= step)
        pthread_cond_wait(&p->changed, &p->lock);
    pthread_mutex_unlock(&p->lock);
    *waited_s = now_s() - t0;
    return p->slots + (size_t)(step % p->depth) * p->batch_bytes;
}

void batch_prefetch_release(batch_prefetch *p)
{
    pthread_mutex_lock(&p->lock);
    p->consumed++;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

void batch_prefetch_stop(batch_prefetch *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->changed);
    pthread_mutex_destroy(&p->lock);
    free(p->slots);
    free(p);
}
