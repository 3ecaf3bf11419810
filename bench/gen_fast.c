/* bench/gen_fast.c -- how fast could rmtmc's generator be? A prototype for
 * the report (results/BENCHMARKS.md), not used by rmtmc.
 *
 * Times nanoseconds per N(0, 1) value for:
 *   lib      rmt_rng_normal from build/librmt.a, one call per entry (what
 *            src/ensemble.c does today: one Philox4x32-10 block, two 53-bit
 *            uniforms, Box-Muller, the sine half thrown away);
 *   scalar   the same arithmetic inlined here (checked bit-identical to lib);
 *   simd     Philox on 16 counters at once in plain arrays (the compiler
 *            vectorises the 32x32->64 multiplies with AVX-512), then
 *            log/sqrt/cos through glibc's vector math (libmvec, enabled by
 *            -ffast-math for this file): the same counters and formula, one
 *            value per block; values agree with lib to a few ulps (not
 *            bit-identical: libmvec's log/cos differ in the last bits);
 *   simd2    as simd but keeping both Box-Muller outputs (cos and sin): two
 *            values per Philox block, i.e. half the blocks (a change of the
 *            counter -> entry map, so a new stream version).
 * Each over a column of a Wigner lower triangle: counter (j, i, draw, tag)
 * for i = j..n-1, as src/ensemble.c uses (min, max).
 *
 * Usage: gen-fast [N]   (default 1000: fills the n(n+1)/2 lower triangle)
 * Output: fast VARIANT NS_PER_VALUE MAX_ABS_DIFF_VS_LIB LOWER_TRIANGLE_FILL_S FULL_FILL_S
 * (FULL_FILL_S: n^2 values at this rate, what filling both triangles costs)
 * Build: see bench/gen-cost (compiled with -O3 -march=native -ffast-math).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define PM0 0xD2511F53u
#define PM1 0xCD9E8D57u
#define PW0 0x9E3779B9u
#define PW1 0xBB67AE85u

static inline double u53(uint32_t hi, uint32_t lo)
{
    uint64_t m = ((uint64_t)hi << 21) ^ (uint64_t)(lo >> 11);
    return ((double)m + 0.5) * 0x1p-53;
}

/* Philox4x32-10 of one counter (Random123's definition). */
static void philox(uint32_t c[4], uint32_t k0, uint32_t k1)
{
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PM0 * c[0], p1 = (uint64_t)PM1 * c[2];
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k0, n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k1, n3 = (uint32_t)p0;
        c[0] = n0, c[1] = n1, c[2] = n2, c[3] = n3;
        k0 += PW0, k1 += PW1;
    }
}

static double scalar_normal(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag)
{
    uint32_t c[4] = {i, j, s->draw, tag};
    philox(c, s->seed, s->point);
    double u1 = u53(c[0], c[1]), u2 = u53(c[2], c[3]);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

enum { L = 16 };

/* Values for counters (j, i0 + l, draw, tag), l = 0..L-1, into out[L] (two = 0)
 * or 2L values, cos then sin halves (two = 1). */
static void simd_block(const rmt_stream *s, uint32_t j, uint32_t i0, uint32_t tag, double *out, int two)
{
    uint32_t c0[L], c1[L], c2[L], c3[L];
    for (int l = 0; l < L; l++) c0[l] = j, c1[l] = i0 + (uint32_t)l, c2[l] = s->draw, c3[l] = tag;
    uint32_t k0 = s->seed, k1 = s->point;
    for (int r = 0; r < 10; r++) {
#pragma omp simd
        for (int l = 0; l < L; l++) {
            uint64_t p0 = (uint64_t)PM0 * c0[l], p1 = (uint64_t)PM1 * c2[l];
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0, n1 = (uint32_t)p1;
            uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1, n3 = (uint32_t)p0;
            c0[l] = n0, c1[l] = n1, c2[l] = n2, c3[l] = n3;
        }
        k0 += PW0, k1 += PW1;
    }
    double u1[L], u2[L];
#pragma omp simd
    for (int l = 0; l < L; l++) {
        u1[l] = u53(c0[l], c1[l]);
        u2[l] = u53(c2[l], c3[l]);
    }
    if (!two) {
#pragma omp simd
        for (int l = 0; l < L; l++) out[l] = sqrt(-2.0 * log(u1[l])) * cos(2.0 * M_PI * u2[l]);
    } else {
#pragma omp simd
        for (int l = 0; l < L; l++) {
            double r = sqrt(-2.0 * log(u1[l]));
            out[l] = r * cos(2.0 * M_PI * u2[l]);
            out[L + l] = r * sin(2.0 * M_PI * u2[l]);
        }
    }
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    rmt_stream s = {2020, 0, 7};
    size_t tri = (size_t)n * (size_t)(n + 1) / 2;
    double *ref = malloc(sizeof(double) * tri), *x = malloc(sizeof(double) * (tri + 2 * L));
    if (!ref || !x) return 1;
    const char *names[] = {"lib", "scalar", "simd", "simd2"};
    double sink = 0;
    for (int v = 0; v < 4; v++) {
        double best = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            double *out = v == 0 ? ref : x;
            double t0 = now();
            size_t k = 0;
            for (int j = 0; j < n; j++) {
                switch (v) {
                case 0:
                    for (int i = j; i < n; i++) out[k++] = rmt_rng_normal(&s, (uint32_t)j, (uint32_t)i, 0);
                    break;
                case 1:
                    for (int i = j; i < n; i++) out[k++] = scalar_normal(&s, (uint32_t)j, (uint32_t)i, 0);
                    break;
                case 2:
                    for (int i = j; i < n; i += L) {
                        double tmp[L];
                        simd_block(&s, (uint32_t)j, (uint32_t)i, 0, tmp, 0);
                        int m = n - i < L ? n - i : L;
                        memcpy(out + k, tmp, sizeof(double) * (size_t)m);
                        k += (size_t)m;
                    }
                    break;
                case 3:
                    /* two values per block: rows i, i + L from one block of counters */
                    for (int i = j; i < n; i += 2 * L) {
                        double tmp[2 * L];
                        simd_block(&s, (uint32_t)j, (uint32_t)(i / 2), 0, tmp, 1);
                        int m = n - i < 2 * L ? n - i : 2 * L;
                        memcpy(out + k, tmp, sizeof(double) * (size_t)m);
                        k += (size_t)m;
                    }
                    break;
                }
            }
            double t = now() - t0;
            if (t < best) best = t;
            sink += out[k / 2];
        }
        double diff = 0;
        if (v == 1 || v == 2)
            for (size_t k = 0; k < tri; k++) diff = fmax(diff, fabs(x[k] - ref[k]));
        double ns = best / (double)tri * 1e9;
        if (v == 1 || v == 2)
            printf("fast %s %.2f %.3g %.4g %.4g\n", names[v], ns, diff, best, ns * 1e-9 * (double)n * (double)n);
        else
            printf("fast %s %.2f - %.4g %.4g\n", names[v], ns, best, ns * 1e-9 * (double)n * (double)n);
    }
    if (sink == 12345.678) puts("");
    free(ref);
    free(x);
    return 0;
}
