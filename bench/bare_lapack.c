/* bench/bare_lapack.c -- the "bare C loop" a user could write instead of
 * rmtmc: generate a Wigner matrix, call LAPACK for its eigenvalues,
 * nothing else (no statistics, no MPI, no output file).
 *
 * The matrix of draw d is the one rmtmc computes for draw d of point 0 of
 * a config with the same seed: it is filled with the project's own
 * generator (rmt_ensemble_fill from build/librmt.a: Philox4x32-10 and
 * ziggurat normals, H = (G + G^T)/sqrt(2n)), so both sides do the same
 * arithmetic. The driver is the one rmtmc picks at this n (src/solve.c):
 * dsyevr (JOBZ='N', RANGE='A', UPLO='L') below n = 2250, dsyevd_2stage
 * (JOBZ='N', UPLO='L') from there; RMT_EIG_2STAGE_MIN moves the switch as
 * it does for rmtmc. Workspace is queried and allocated once. One OpenBLAS
 * thread.
 *
 * Usage: bare-lapack SEED N DRAWS
 * Output: bare N DRIVER DRAWS SECONDS DRAWS_PER_S FILL_S EIG_S LMAX_MEAN
 * SECONDS is the whole loop (fill + eig of every draw); FILL_S and EIG_S its
 * parts; LMAX_MEAN the mean largest eigenvalue (compare with rmtmc's
 * lambda_max_mean: the same draws give the same value).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lapacke.h>

#include "bench_clock.h"

#include "config.h"
#include "ensemble.h"
#include "rng.h"


int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bare-lapack SEED N DRAWS\n");
        return 2;
    }
    openblas_set_num_threads(1);
    uint32_t seed = (uint32_t)strtoul(argv[1], NULL, 10);
    lapack_int n = atoi(argv[2]);
    int draws = atoi(argv[3]);
    int64_t two_stage_min = 2250;
    const char *mn = getenv("RMT_EIG_2STAGE_MIN");
    if (mn && atoll(mn) > 0) two_stage_min = atoll(mn);
    int two = n >= two_stage_min;

    rmt_ensemble e;
    memset(&e, 0, sizeof e);
    e.kind = RMT_ENS_WIGNER;
    e.n = n;
    e.mod.kind = RMT_FAC_WIGNER;
    e.mod.rows = e.mod.cols = n;

    double *a = malloc(sizeof(double) * (size_t)n * (size_t)n), *w = malloc(sizeof(double) * (size_t)n);
    lapack_int *isuppz = malloc(sizeof(lapack_int) * 2 * (size_t)n);
    double wq = 0, zq = 0;
    lapack_int iq = 0, m = 0, info;
    if (two)
        info = LAPACKE_dsyevd_2stage_work(LAPACK_COL_MAJOR, 'N', 'L', n, a, n, w, &wq, -1, &iq, -1);
    else
        info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'N', 'A', 'L', n, a, n, 0, 0, 0, 0, 0, &m, w, &zq, 1, isuppz,
                                   &wq, -1, &iq, -1);
    if (info) return 1;
    lapack_int lwork = (lapack_int)wq + 1, liwork = iq > 0 ? iq : 1;
    double *work = malloc(sizeof(double) * (size_t)lwork);
    lapack_int *iwork = malloc(sizeof(lapack_int) * (size_t)liwork);
    if (!a || !w || !isuppz || !work || !iwork) return 1;

    double tfill = 0, teig = 0, lmax = 0, t0 = now();
    for (int d = 0; d < draws; d++) {
        rmt_stream st = {seed, 0, (uint32_t)d};
        double t1 = now();
        rmt_ensemble_fill(&e, &st, 0, n, 0, n, a, n);
        double t2 = now();
        if (two)
            info = LAPACKE_dsyevd_2stage_work(LAPACK_COL_MAJOR, 'N', 'L', n, a, n, w, work, lwork, iwork, liwork);
        else
            info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'N', 'A', 'L', n, a, n, 0, 0, 0, 0, 0, &m, w, &zq, 1,
                                       isuppz, work, lwork, iwork, liwork);
        double t3 = now();
        if (info) {
            fprintf(stderr, "bare-lapack: draw %d: info %d\n", d, (int)info);
            return 1;
        }
        tfill += t2 - t1;
        teig += t3 - t2;
        lmax += w[n - 1];
    }
    double t = now() - t0;
    printf("bare %d %s %d %.6g %.6g %.6g %.6g %.12g\n", (int)n, two ? "dsyevd_2stage" : "dsyevr", draws, t,
           draws / t, tfill, teig, lmax / draws);
    return 0;
}
