/* The fast CPU backend's persistent thread pool.
 *
 * threads - 1 workers are started when the backend opens; the thread that
 * calls cpu_pool_run takes parts too (as worker 0). Parts are claimed one at a
 * time from a shared ticket: the high 32 bits hold the run's generation, the
 * low 32 bits the next unclaimed part (CLOSED once the run is over). A part's
 * computation depends only on its index (its rows, its partial-sum slot),
 * never on which thread claims it, so results do not depend on timing; dynamic
 * claiming keeps a run going when a worker is descheduled (a shared or
 * oversubscribed machine) instead of waiting for it.
 *
 * Workers spin briefly on the ticket after a run (ops of a training step
 * follow each other within microseconds) and then sleep on a condition
 * variable. The caller returns once every part is done. */
#include "cpu_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* Spin iterations before a waiting worker sleeps (a few hundred microseconds). */
enum { SPIN_LIMIT = 20000 };
#define CLOSED 0xffffffffu

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
    int sleepers; /* under mu */
    int stop;     /* under mu */
    _Atomic uint64_t ticket;
    atomic_size_t done;
    /* the current run; written before its ticket is published */
    _Atomic(cpu_part_fn) fn;
    _Atomic(void *) ctx;
    atomic_size_t parts;
};

static inline uint32_t ticket_gen(uint64_t t)
{
    return (uint32_t)(t >> 32);
}

/* Claims and runs parts of generation gen until none is left; returns when the
 * run is exhausted, closed, or replaced. */
static void claim_parts(cpu_pool *p, uint32_t gen, int worker)
{
    uint64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
    for (;;) {
        if (ticket_gen(t) != gen)
            return;
        uint32_t idx = (uint32_t)t;
        if (idx == CLOSED || idx >= atomic_load_explicit(&p->parts, memory_order_relaxed))
            return;
        if (!atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        /* The run cannot close before this part is done, so fn and ctx are its own. */
        cpu_part_fn fn = atomic_load_explicit(&p->fn, memory_order_relaxed);
        fn(atomic_load_explicit(&p->ctx, memory_order_relaxed), idx, worker);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
        t = atomic_load_explicit(&p->ticket, memory_order_acquire);
    }
}

static void *worker_main(void *argp)
{
    worker_arg *a = argp;
    cpu_pool *p = a->pool;
    cpu_gemm_single_threaded();
    uint32_t seen = ticket_gen(atomic_load_explicit(&p->ticket, memory_order_acquire));
    for (;;) {
        uint64_t t;
        int spins = 0;
        while (ticket_gen(t = atomic_load_explicit(&p->ticket, memory_order_acquire)) == seen && spins < SPIN_LIMIT) {
            CPU_RELAX();
            spins++;
        }
        if (ticket_gen(t) == seen) {
            pthread_mutex_lock(&p->mu);
            p->sleepers++;
            while (ticket_gen(t = atomic_load_explicit(&p->ticket, memory_order_acquire)) == seen && !p->stop)
                pthread_cond_wait(&p->wake, &p->mu);
            p->sleepers--;
            int stop = p->stop;
            pthread_mutex_unlock(&p->mu);
            if (stop)
                return NULL;
        }
        seen = ticket_gen(t);
        claim_parts(p, seen, a->index);
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
    atomic_init(&p->ticket, (uint64_t)CLOSED);
    atomic_init(&p->done, 0);
    atomic_init(&p->fn, NULL);
    atomic_init(&p->ctx, NULL);
    atomic_init(&p->parts, 0);
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
    /* The previous run is closed, so no worker reads these while they change. */
    uint32_t gen = ticket_gen(atomic_load_explicit(&p->ticket, memory_order_relaxed)) + 1;
    atomic_store_explicit(&p->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&p->ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&p->parts, parts, memory_order_relaxed);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_store_explicit(&p->ticket, (uint64_t)gen << 32, memory_order_release);
    pthread_mutex_lock(&p->mu);
    if (p->sleepers > 0)
        pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    claim_parts(p, gen, 0);
    while (atomic_load_explicit(&p->done, memory_order_acquire) != parts)
        CPU_RELAX();
    atomic_store_explicit(&p->ticket, ((uint64_t)gen << 32) | CLOSED, memory_order_release);
}
