/* Human-readable tables of one device's bench record on stdout. */
#ifndef GLOW_APP_BENCH_PRINT_H
#define GLOW_APP_BENCH_PRINT_H

#include "bench_result.h"

void bench_print_peak(const bench_peak *p);
void bench_print_header(const bench_record *r);
void bench_print_gemm(const bench_record *r);
void bench_print_ops(const bench_record *r);
void bench_print_train(const bench_record *r);
void bench_print_sample(const bench_record *r);

#endif
