/* bench/bench_clock.h -- what the C benchmarks share: the monotonic clock
 * they time with (the one rmtmc times its draws with, rmt_draw_now) and
 * OpenBLAS's thread control, which its cblas.h variants may not declare. */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <time.h>

void openblas_set_num_threads(int num_threads);

static inline double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
