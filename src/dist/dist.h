/* Data-parallel processes over MPI (Open MPI from Debian), optional at build time.
 *
 * A run started by mpirun (or another MPI launcher) is one of `size` ranks; a run
 * started directly, or a build without MPI (-Dmpi=disabled), is rank 0 of 1 and never
 * touches MPI. Every exchange is a collective that all ranks call in the same order.
 *
 * Sums are deterministic: rank 0 receives every rank's vector, adds them in rank order
 *   v = ((v_0 + v_1) + v_2) + ... + v_{size-1}
 * and sends the result back, so every rank holds the same bits whatever the arrival
 * order (MPI_Allreduce does not promise a fixed order). Bytes moved per sum of n
 * elements of e bytes: rank 0 receives and sends (size-1) n e, every other rank n e each way.
 *
 * Waiting polls with a short sleep (no busy spin: ranks sharing cores keep them), and
 * stops when the flag given to dist_watch_stop becomes non-zero (mpirun sends SIGTERM to
 * the survivors when a rank dies), naming the ranks that had not answered. */
#ifndef GLOW_DIST_H
#define GLOW_DIST_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "glow/status.h"

/* MPI_Init when launched by an MPI launcher (OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_RANK
 * in the environment); otherwise nothing. */
glow_status dist_init(int *argc, char ***argv);
/* Ends MPI normally (exit_code 0) or aborts the whole job (MPI_Abort) so that no rank
 * waits for one that has stopped. No-op without MPI. */
void dist_finalize(int exit_code);

int dist_rank(void);
int dist_size(void);
int dist_local_rank(void); /* rank among the ranks of this machine: picks the default device */
const char *dist_host(void);
/* "rank R/N: " when size > 1, else "" (for log lines). */
const char *dist_prefix(void);

/* Deterministic sums over ranks (see above), result on every rank. */
glow_status dist_sum_floats(float *v, size_t n, const char *what);
glow_status dist_sum_doubles(double *v, size_t n, const char *what);
/* Rank 0's `bytes` bytes at v onto every rank. */
glow_status dist_broadcast(void *v, size_t bytes, const char *what);
/* Every rank's `each`-byte record `mine` into all (size x each bytes, rank order). */
glow_status dist_gather_all(const void *mine, void *all, size_t each, const char *what);

/* The flag polled while waiting (NULL: none). dist_sum_floats also carries it: after a
 * sum, dist_stop_requested() tells whether any rank's flag was set, so every rank stops
 * after the same step. */
void dist_watch_stop(const volatile sig_atomic_t *flag);
int dist_stop_requested(void);

/* Bytes this rank has sent plus received through dist_* since start. */
uint64_t dist_bytes_moved(void);

#endif
