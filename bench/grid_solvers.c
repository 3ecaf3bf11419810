/* bench/grid_solvers.c -- the two sides of bench/grid-solvers that rmtmc
 * itself cannot run, linked against build/librmt.a.
 *
 * grid CONFIG OUT.bin   (under mpiexec -n P)
 *     Draw 0 of point 0 of CONFIG on a grid over all P ranks of
 *     MPI_COMM_WORLD, through the library's own rmt_draw_run_grid: the same
 *     fill, solver (CONFIG's "solver") and statistics as an rmtmc group.
 *     rmtmc runs ranks_per_draw 1 on plain LAPACK and never builds a 1x1
 *     grid; this mode does (P = 1). One BLAS thread per rank, as rmtmc.
 *     Prints: grid N P SOLVER SECONDS PEAK_RSS_MAX_BYTES LAMBDA_MAX
 *     SECONDS is the draw's own time (rmt_draw_figs.seconds: fill + solve +
 *     statistics, as rmtmc's draws/seconds); PEAK_RSS the largest
 *     getrusage ru_maxrss over the ranks. Rank 0 writes the n eigenvalues
 *     (doubles, ascending) to OUT.bin.
 *
 * lapack SEED N DRIVER OUT.bin
 *     The same matrix (Wigner, point 0, draw 0 of SEED: rmt_ensemble_fill
 *     on the lower triangle, as rmtmc fills it) diagonalized by threaded
 *     LAPACK, values only (JOBZ='N', UPLO='L'): DRIVER dsyevd (numpy's
 *     eigvalsh), dsyevr or dsyevd_2stage. Threads: OPENBLAS_NUM_THREADS
 *     (default 2). Workspace queried and allocated before the clock starts.
 *     Prints: lapack N DRIVER THREADS EIG_S FILL_S PEAK_RSS_BYTES LAMBDA_MAX
 *     and writes the eigenvalues to OUT.bin. The fill is timed apart (one
 *     thread, as the library generates).
 */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <lapacke.h>

#include "bench_clock.h"

#include "config.h"
#include "draw.h"
#include "ensemble.h"
#include "rng.h"
#include "solve.h"
#include "solve_grid.h"
#include "stats.h"


static int64_t peak_rss(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)ru.ru_maxrss * 1024; /* Linux reports KiB */
}

static int write_bin(const char *path, const double *w, int64_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(w, sizeof(double), (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "grid-solvers: cannot write %s\n", path);
        if (f) fclose(f);
        return 1;
    }
    return fclose(f) ? 1 : 0;
}

static int run_grid(const char *config, const char *out)
{
    int rank = 0, size = 1, rc = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    rmt_solve_init_threads(); /* one BLAS thread per rank, as rmtmc */
    rmt_plan *plan = NULL;
    if (rmt_config_load(config, &plan)) {
        if (rank == 0) fprintf(stderr, "grid-solvers: %s\n", rmt_err_message());
        return 1;
    }
    const rmt_point *pt = &plan->points[0];
    int64_t n = pt->ens.n;
    rmt_grid *g = rmt_grid_create(MPI_COMM_WORLD);
    rmt_draw_ctx *ctx = rmt_draw_create();
    double *eig = malloc(sizeof(double) * (size_t)n);
    uint64_t *counts = calloc((size_t)rmt_stats_ncounts(&pt->stat) + 1, sizeof(uint64_t));
    rmt_draw_figs f;
    memset(&f, 0, sizeof f);
    if (!g || !ctx || !eig || !counts) {
        fprintf(stderr, "grid-solvers: out of memory\n");
        goto out;
    }
    if (rmt_draw_run_grid(ctx, g, pt, 0, &f, counts, eig)) {
        fprintf(stderr, "grid-solvers: rank %d: %s\n", rank, rmt_err_message());
        goto out;
    }
    int64_t mine = peak_rss(), most = 0;
    MPI_Reduce(&mine, &most, 1, MPI_INT64_T, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        const char *name = f.solver == RMT_SOLVER_ELPA ? "elpa" : f.solver == RMT_SOLVER_PDSYEV ? "pdsyev"
                           : f.solver == RMT_SOLVER_PDSYEVR ? "pdsyevr" : "?";
        if (f.status != 0) fprintf(stderr, "grid-solvers: draw status %d\n", (int)f.status);
        printf("grid %lld %d %s %.6g %lld %.15g\n", (long long)n, size, name, f.seconds, (long long)most, eig[n - 1]);
        rc = f.status != 0 || write_bin(out, eig, n);
    } else {
        rc = 0;
    }
out:
    rmt_draw_destroy(ctx);
    rmt_grid_destroy(g);
    rmt_plan_destroy(plan);
    free(eig);
    free(counts);
    return rc;
}

static int run_lapack(uint32_t seed, lapack_int n, const char *driver, const char *out)
{
    const char *th = getenv("OPENBLAS_NUM_THREADS");
    int threads = th && atoi(th) > 0 ? atoi(th) : 2;
    openblas_set_num_threads(threads);
    int kind = !strcmp(driver, "dsyevd") ? 0 : !strcmp(driver, "dsyevr") ? 1 : !strcmp(driver, "dsyevd_2stage") ? 2 : -1;
    if (kind < 0) {
        fprintf(stderr, "grid-solvers: unknown driver %s (dsyevd, dsyevr, dsyevd_2stage)\n", driver);
        return 2;
    }
    rmt_ensemble e;
    memset(&e, 0, sizeof e);
    e.kind = RMT_ENS_WIGNER;
    e.n = n;
    e.mod.kind = RMT_FAC_WIGNER;
    e.mod.rows = e.mod.cols = n;

    double *a = malloc(sizeof(double) * (size_t)n * (size_t)n), *w = malloc(sizeof(double) * (size_t)n);
    lapack_int *isuppz = malloc(sizeof(lapack_int) * 2 * (size_t)n);
    if (!a || !w || !isuppz) return 1;
    /* the lower triangle only, column by column, as src/draw.c fills it */
    rmt_stream st = {seed, 0, 0};
    double t0 = now();
    for (lapack_int j = 0; j < n; j += 64) {
        lapack_int wd = n - j < 64 ? n - j : 64;
        rmt_ensemble_fill(&e, &st, j, n, j, j + wd, a + j + (size_t)j * (size_t)n, n);
    }
    double tfill = now() - t0;

    double wq = 0, zq = 0;
    lapack_int iq = 0, m = 0, info;
    if (kind == 0)
        info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'N', 'L', n, a, n, w, &wq, -1, &iq, -1);
    else if (kind == 1)
        info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'N', 'A', 'L', n, a, n, 0, 0, 0, 0, 0, &m, w, &zq, 1, isuppz,
                                   &wq, -1, &iq, -1);
    else
        info = LAPACKE_dsyevd_2stage_work(LAPACK_COL_MAJOR, 'N', 'L', n, a, n, w, &wq, -1, &iq, -1);
    if (info) return 1;
    lapack_int lwork = (lapack_int)wq + 1, liwork = iq > 0 ? iq : 1;
    double *work = malloc(sizeof(double) * (size_t)lwork);
    lapack_int *iwork = malloc(sizeof(lapack_int) * (size_t)liwork);
    if (!work || !iwork) return 1;

    t0 = now();
    if (kind == 0)
        info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'N', 'L', n, a, n, w, work, lwork, iwork, liwork);
    else if (kind == 1)
        info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'N', 'A', 'L', n, a, n, 0, 0, 0, 0, 0, &m, w, &zq, 1, isuppz,
                                   work, lwork, iwork, liwork);
    else
        info = LAPACKE_dsyevd_2stage_work(LAPACK_COL_MAJOR, 'N', 'L', n, a, n, w, work, lwork, iwork, liwork);
    double teig = now() - t0;
    if (info) {
        fprintf(stderr, "grid-solvers: %s: info %d\n", driver, (int)info);
        return 1;
    }
    printf("lapack %d %s %d %.6g %.6g %lld %.15g\n", (int)n, driver, threads, teig, tfill, (long long)peak_rss(),
           w[n - 1]);
    int rc = write_bin(out, w, n);
    free(a);
    free(w);
    free(isuppz);
    free(work);
    free(iwork);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "grid")) {
        MPI_Init(&argc, &argv);
        int rc = run_grid(argv[2], argv[3]);
        if (rc) MPI_Abort(MPI_COMM_WORLD, rc);
        MPI_Finalize();
        return rc;
    }
    if (argc == 6 && !strcmp(argv[1], "lapack"))
        return run_lapack((uint32_t)strtoul(argv[2], NULL, 10), atoi(argv[3]), argv[4], argv[5]);
    fprintf(stderr, "usage: grid-solvers grid CONFIG OUT.bin      (under mpiexec -n P)\n"
                    "       grid-solvers lapack SEED N DRIVER OUT.bin\n");
    return 2;
}
