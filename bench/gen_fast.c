/* bench/gen_fast.c -- nanoseconds per value of rmtmc's generators
 * (build/librmt.a), on the counters of a Wigner lower triangle, column by
 * column as src/ensemble.c fills it: counter (j, i, draw, tag) for
 * i = j..n-1, the second word running.
 *   scalar   rmt_rng_normal, one call per entry (the definition; what
 *            src/ensemble.c used before the batch functions);
 *   batch    rmt_rng_normals over each column (what rmt_ensemble_fill uses);
 *   uniform  rmt_rng_uniforms over each column (percolation masks).
 * batch and uniform are checked bit for bit against rmt_rng_normal and
 * rmt_rng_uniform. Times are the thread's CPU time (best of 3), so other
 * processes sharing the machine disturb them less than wall time.
 * (An earlier version of this file prototyped vector Box-Muller variants:
 * results/BENCHMARKS.md, section 3.)
 *
 * Usage: gen-fast [N]   (default 1000: the n(n+1)/2 lower triangle)
 * Output: fast VARIANT NS_PER_VALUE MISMATCHES LOWER_TRIANGLE_S
 * Build: see bench/gen-cost.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rng.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    rmt_stream s = {2020, 0, 7};
    size_t tri = (size_t)n * (size_t)(n + 1) / 2;
    double *ref = malloc(sizeof(double) * tri), *x = malloc(sizeof(double) * tri);
    if (!ref || !x) return 1;
    const char *names[] = {"scalar", "batch", "uniform"};
    for (int v = 0; v < 3; v++) {
        double best = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            double *out = v == 0 ? ref : x;
            double t0 = cpu_now();
            size_t k = 0;
            for (int j = 0; j < n; j++) {
                const uint32_t len = (uint32_t)(n - j);
                if (v == 0)
                    for (int i = j; i < n; i++) out[k + (size_t)(i - j)] = rmt_rng_normal(&s, (uint32_t)j, (uint32_t)i, 0);
                else if (v == 1)
                    rmt_rng_normals(&s, (uint32_t)j, (uint32_t)j, 0, RMT_RNG_ALONG_J, len, 1.0, out + k);
                else
                    rmt_rng_uniforms(&s, (uint32_t)j, (uint32_t)j, RMT_TAG_MASK, RMT_RNG_ALONG_J, len, out + k);
                k += len;
            }
            double t = cpu_now() - t0;
            if (t < best) best = t;
        }
        long bad = 0;
        if (v > 0) {
            size_t k = 0;
            for (int j = 0; j < n; j++)
                for (int i = j; i < n; i++, k++) {
                    double r = v == 1 ? ref[k] : rmt_rng_uniform(&s, (uint32_t)j, (uint32_t)i, RMT_TAG_MASK);
                    bad += memcmp(&r, &x[k], sizeof r) != 0;
                }
        }
        printf("fast %s %.2f %ld %.4g\n", names[v], best / (double)tri * 1e9, v ? bad : 0L, best);
    }
    free(ref);
    free(x);
    return 0;
}
