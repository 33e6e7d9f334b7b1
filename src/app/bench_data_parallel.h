/* glow-vk bench under mpirun: data-parallel scaling (1 rank against N ranks). */
#ifndef GLOW_APP_BENCH_DATA_PARALLEL_H
#define GLOW_APP_BENCH_DATA_PARALLEL_H

/* The whole command when dist_size() > 1; returns the exit status. */
int bench_data_parallel(int argc, char **argv);

#endif
