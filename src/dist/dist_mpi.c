/* dist.h over MPI: point-to-point messages to and from rank 0, polled with a short sleep. */
#include "dist.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
    int active; /* MPI_Init was called */
    int rank, size, local_rank;
    char host[MPI_MAX_PROCESSOR_NAME + 1];
    char prefix[48];
    const volatile sig_atomic_t *stop;
    int peer_stop; /* a rank's stop flag came with the last dist_sum_floats */
    uint64_t bytes;
} g = {0, 0, 1, 0, "localhost", "", NULL, 0, 0};

static int launched_by_mpi(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMIX_RANK") != NULL || getenv("PMI_RANK") != NULL;
}

glow_status dist_init(int *argc, char ***argv)
{
    if (!launched_by_mpi())
        return GLOW_OK;
    if (MPI_Init(argc, argv) != MPI_SUCCESS)
        return glow_error(GLOW_ERR_UNAVAILABLE, "MPI_Init failed");
    g.active = 1;
    /* Errors come back as codes, so a lost peer is reported by name instead of aborting here. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g.size);
    MPI_Comm local;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g.rank, MPI_INFO_NULL, &local) == MPI_SUCCESS) {
        MPI_Comm_rank(local, &g.local_rank);
        MPI_Comm_free(&local);
    }
    int len = 0;
    MPI_Get_processor_name(g.host, &len);
    if (g.size > 1)
        snprintf(g.prefix, sizeof g.prefix, "rank %d/%d: ", g.rank, g.size);
    return GLOW_OK;
}

void dist_finalize(int exit_code)
{
    if (!g.active)
        return;
    fflush(stdout);
    fflush(stderr);
    if (exit_code != 0 && g.size > 1)
        MPI_Abort(MPI_COMM_WORLD, exit_code); /* the others may be waiting for this rank */
    MPI_Finalize();
}

int dist_rank(void)
{
    return g.rank;
}

int dist_size(void)
{
    return g.size;
}

int dist_local_rank(void)
{
    return g.local_rank;
}

const char *dist_host(void)
{
    return g.host;
}

const char *dist_prefix(void)
{
    return g.prefix;
}

void dist_watch_stop(const volatile sig_atomic_t *flag)
{
    g.stop = flag;
}

int dist_stop_requested(void)
{
    return (g.stop != NULL && *g.stop) || g.peer_stop;
}

uint64_t dist_bytes_moved(void)
{
    return g.bytes;
}

/* Waits for `count` requests, request i exchanging with rank peer[i]. */
static glow_status wait_all(MPI_Request *req, const int *peer, int count, const char *what)
{
    int pending = count;
    char done[1024] = {0};
    if (count > (int)sizeof done)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s exchange: %d ranks (at most %zu)", what, count, sizeof done);
    int idx[1024];
    for (;;) {
        int out = 0;
        int rc = MPI_Testsome(count, req, &out, idx, MPI_STATUSES_IGNORE);
        if (rc == MPI_SUCCESS && out != MPI_UNDEFINED)
            for (int i = 0; i < out; i++) {
                done[idx[i]] = 1;
                pending--;
            }
        if (rc == MPI_SUCCESS && (out == MPI_UNDEFINED || pending == 0))
            return GLOW_OK;
        int stopped = g.stop != NULL && *g.stop;
        if (rc != MPI_SUCCESS || stopped) {
            char names[256] = "";
            size_t used = 0;
            for (int i = 0; i < count && used < sizeof names - 16; i++)
                if (!done[i])
                    used += (size_t)snprintf(names + used, sizeof names - used, "%s%d", used ? ", " : "", peer[i]);
            char reason[MPI_MAX_ERROR_STRING] = "";
            int rlen = 0;
            if (rc != MPI_SUCCESS)
                MPI_Error_string(rc, reason, &rlen);
            return glow_error(GLOW_ERR_INTERRUPTED,
                              "%s while waiting for rank %s in the %s exchange: that rank has stopped or died",
                              rc != MPI_SUCCESS ? reason : "stopped by a signal", names, what);
        }
        struct timespec ts = {0, 100000}; /* 0.1 ms */
        nanosleep(&ts, NULL);
    }
}

static glow_status check_count(size_t n, const char *what)
{
    if (n > (size_t)INT_MAX)
        return glow_error(GLOW_ERR_INVALID_ARG, "%s exchange: %zu elements exceed one MPI message", what, n);
    return GLOW_OK;
}

/* One message between this rank and rank 0 (send: from buf, else into buf), waited for. */
static glow_status with_root(int send, void *buf, int count, MPI_Datatype type, size_t elem, int tag,
                             const char *what)
{
    MPI_Request req;
    int peer = 0;
    if (send)
        MPI_Isend(buf, count, type, 0, tag, MPI_COMM_WORLD, &req);
    else
        MPI_Irecv(buf, count, type, 0, tag, MPI_COMM_WORLD, &req);
    GLOW_TRY(wait_all(&req, &peer, 1, what));
    g.bytes += (uint64_t)count * elem;
    return GLOW_OK;
}

/* On rank 0: one message with every other rank r, all in flight at once, waited for.
 * send: the same buf to every rank; receive: rank r's message into buf + (r-1)*stride bytes. */
static glow_status with_others(int send, void *buf, size_t stride, int count, MPI_Datatype type, size_t elem,
                               int tag, const char *what)
{
    const int others = g.size - 1;
    MPI_Request *req = calloc((size_t)others, sizeof *req);
    int *peer = calloc((size_t)others, sizeof *peer);
    glow_status st = GLOW_OK;
    if (req == NULL || peer == NULL)
        st = glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s exchange with %d ranks", what, others);
    for (int r = 1; st == GLOW_OK && r <= others; r++) {
        peer[r - 1] = r;
        if (send)
            MPI_Isend(buf, count, type, r, tag, MPI_COMM_WORLD, &req[r - 1]);
        else
            MPI_Irecv((char *)buf + (size_t)(r - 1) * stride, count, type, r, tag, MPI_COMM_WORLD, &req[r - 1]);
    }
    if (st == GLOW_OK)
        st = wait_all(req, peer, others, what);
    if (st == GLOW_OK)
        g.bytes += (uint64_t)others * (uint64_t)count * elem;
    free(req);
    free(peer);
    return st;
}

enum { TAG_SUM_IN = 1, TAG_SUM_OUT = 2, TAG_BROADCAST = 3, TAG_GATHER = 4 };

/* Rank-ordered sum of n elements of `type` (float or double, elem bytes each) at v. */
static glow_status sum_ordered(void *v, size_t n, MPI_Datatype type, size_t elem, const char *what)
{
    if (g.size <= 1)
        return GLOW_OK;
    GLOW_TRY(check_count(n, what));
    const int count = (int)n;
    if (g.rank != 0) {
        /* send, then receive into the same v (MPI forbids overlapping pending buffers) */
        GLOW_TRY(with_root(1, v, count, type, elem, TAG_SUM_IN, what));
        return with_root(0, v, count, type, elem, TAG_SUM_OUT, what);
    }
    const int others = g.size - 1;
    char *in = malloc((size_t)others * n * elem);
    if (in == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s exchange: %d x %zu elements", what, others, n);
    glow_status st = with_others(0, in, n * elem, count, type, elem, TAG_SUM_IN, what);
    for (int r = 1; st == GLOW_OK && r <= others; r++) {
        if (type == MPI_FLOAT) {
            float *acc = v;
            const float *x = (const float *)(in + (size_t)(r - 1) * n * elem);
            for (size_t i = 0; i < n; i++)
                acc[i] += x[i];
        } else {
            double *acc = v;
            const double *x = (const double *)(in + (size_t)(r - 1) * n * elem);
            for (size_t i = 0; i < n; i++)
                acc[i] += x[i];
        }
    }
    if (st == GLOW_OK)
        st = with_others(1, v, 0, count, type, elem, TAG_SUM_OUT, what);
    free(in);
    return st;
}

glow_status dist_sum_floats(float *v, size_t n, const char *what)
{
    if (g.size <= 1)
        return GLOW_OK;
    /* one more float carries this rank's stop flag; its sum tells whether any rank stops */
    float *buf = malloc((n + 1) * sizeof *buf);
    if (buf == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s exchange: %zu floats", what, n + 1);
    memcpy(buf, v, n * sizeof *buf);
    buf[n] = (g.stop != NULL && *g.stop) ? 1.0f : 0.0f;
    glow_status st = sum_ordered(buf, n + 1, MPI_FLOAT, sizeof(float), what);
    if (st == GLOW_OK) {
        memcpy(v, buf, n * sizeof *buf);
        g.peer_stop = buf[n] != 0.0f;
    }
    free(buf);
    return st;
}

glow_status dist_sum_doubles(double *v, size_t n, const char *what)
{
    return sum_ordered(v, n, MPI_DOUBLE, sizeof(double), what);
}

glow_status dist_broadcast(void *v, size_t bytes, const char *what)
{
    if (g.size <= 1)
        return GLOW_OK;
    GLOW_TRY(check_count(bytes, what));
    if (g.rank != 0)
        return with_root(0, v, (int)bytes, MPI_BYTE, 1, TAG_BROADCAST, what);
    return with_others(1, v, 0, (int)bytes, MPI_BYTE, 1, TAG_BROADCAST, what);
}

glow_status dist_gather_all(const void *mine, void *all, size_t each, const char *what)
{
    memcpy((char *)all + (size_t)g.rank * each, mine, each);
    if (g.size <= 1)
        return GLOW_OK;
    GLOW_TRY(check_count(each * (size_t)g.size, what));
    /* rank 0 collects, then broadcasts the table */
    if (g.rank != 0)
        GLOW_TRY(with_root(1, (char *)all + (size_t)g.rank * each, (int)each, MPI_BYTE, 1, TAG_GATHER, what));
    else
        GLOW_TRY(with_others(0, (char *)all + each, each, (int)each, MPI_BYTE, 1, TAG_GATHER, what));
    return dist_broadcast(all, each * (size_t)g.size, what);
}
