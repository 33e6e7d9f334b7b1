/* The fast CPU backend's persistent thread pool.
 *
 * threads - 1 workers are started when the backend opens; the thread that
 * calls cpu_pool_run is worker 0. A run publishes (fn, ctx, parts) and bumps a
 * generation counter; workers spin briefly on that counter (an op launch then
 * costs well under a microsecond while a training step streams ops) and
 * otherwise sleep on a condition variable. Part blocks are assigned
 * statically (worker w gets parts [parts*w/T, parts*(w+1)/T)), so which thread
 * computes what never depends on timing. */
#include "cpu_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* Spin iterations before a waiting thread sleeps (~20-50 us). */
enum { SPIN_LIMIT = 20000 };

typedef struct {
    cpu_pool *pool;
    int index;
} worker_arg;

struct cpu_pool {
    int threads;
    pthread_t *tids;
    worker_arg *args;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_cond_t done;
    atomic_uint generation;
    atomic_int pending; /* workers still running the current generation */
    int stop;
    /* the current run */
    cpu_part_fn fn;
    void *ctx;
    size_t parts;
    int active; /* T = min(threads, parts) */
};

static void run_block(cpu_pool *p, int w)
{
    if (w >= p->active)
        return;
    size_t begin = p->parts * (size_t)w / (size_t)p->active;
    size_t end = p->parts * (size_t)(w + 1) / (size_t)p->active;
    for (size_t i = begin; i < end; i++)
        p->fn(p->ctx, i, w);
}

static void *worker_main(void *argp)
{
    worker_arg *a = argp;
    cpu_pool *p = a->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned gen;
        int spins = 0;
        while ((gen = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen && spins < SPIN_LIMIT) {
            CPU_RELAX();
            spins++;
        }
        if (gen == seen) {
            pthread_mutex_lock(&p->mu);
            while ((gen = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen && !p->stop)
                pthread_cond_wait(&p->wake, &p->mu);
            int stop = p->stop;
            pthread_mutex_unlock(&p->mu);
            if (stop)
                return NULL;
        }
        seen = gen;
        run_block(p, a->index);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

glow_status cpu_pool_create(int threads, cpu_pool **out)
{
    *out = NULL;
    if (threads < 1)
        threads = 1;
    cpu_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "cpu: no memory for a pool of %d threads", threads);
    p->threads = threads;
    p->tids = calloc((size_t)threads, sizeof *p->tids);
    p->args = calloc((size_t)threads, sizeof *p->args);
    if (p->tids == NULL || p->args == NULL) {
        free(p->tids);
        free(p->args);
        free(p);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "cpu: no memory for a pool of %d threads", threads);
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->generation, 0u);
    atomic_init(&p->pending, 0);
    for (int w = 1; w < threads; w++) {
        p->args[w] = (worker_arg){p, w};
        int rc = pthread_create(&p->tids[w], NULL, worker_main, &p->args[w]);
        if (rc != 0) {
            p->threads = w; /* the workers started so far */
            cpu_pool_destroy(p);
            return glow_error(GLOW_ERR_UNAVAILABLE, "cpu: pthread_create failed for worker %d of %d (error %d)", w,
                              threads, rc);
        }
    }
    *out = p;
    return GLOW_OK;
}

void cpu_pool_destroy(cpu_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int w = 1; w < p->threads; w++)
        pthread_join(p->tids[w], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->tids);
    free(p->args);
    free(p);
}

int cpu_pool_threads(const cpu_pool *p)
{
    return p->threads;
}

void cpu_pool_run(cpu_pool *p, size_t parts, cpu_part_fn fn, void *ctx)
{
    if (parts == 0)
        return;
    if (p->threads == 1 || parts == 1) {
        for (size_t i = 0; i < parts; i++)
            fn(ctx, i, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->parts = parts;
    p->active = parts < (size_t)p->threads ? (int)parts : p->threads;
    atomic_store_explicit(&p->pending, p->threads - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->generation, 1u, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    run_block(p, 0);

    int spins = 0;
    while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0 && spins < SPIN_LIMIT) {
        CPU_RELAX();
        spins++;
    }
    if (atomic_load_explicit(&p->pending, memory_order_acquire) != 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0)
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
