/* bench/eig-drivers.c -- which LAPACK eigenvalue-only driver for real
 * symmetric matrices?
 *
 * For each n, builds a deterministic GOE-like matrix (LCG + Box-Muller,
 * symmetric, scaled by 1/sqrt(2n)) and times JOBZ='N' for
 *   dsyev, dsyevd, dsyevr (RANGE='A'),
 *   dsyev_2stage, dsyevd_2stage, dsyevr_2stage
 * through the LAPACKE *_work interface (column major, workspace queried and
 * allocated once per n and driver, reused across calls). The matrix is
 * copied fresh before each call; the copy is not timed. DGEMM (n x n x n) is
 * timed as the machine's roof. All drivers' eigenvalues must agree with
 * dsyev's to max|dw| / ||A||_2 < 1e-10, else the program exits 1.
 *
 * Usage: eig-drivers [-u L|U] [-t SECONDS] [-d DRIVER,...] [n ...]
 *   -u  triangle passed to LAPACK (default L)
 *   -t  target wall time per measurement (default 1.5 s); reps =
 *       max(2, ceil(t / t_first_call)), 1 if a single call takes > 5 s
 *   -d  comma separated subset of drivers (default all six)
 *   n   sizes (default 250 500 1000 2000 4000)
 *
 * Output: '#' comment lines, then whitespace separated records
 *   dgemm N SECONDS GFLOPS REPS
 *   eig   N DRIVER SECONDS GFLOPS FRAC_OF_DGEMM REPS RELDIFF
 * where SECONDS is the median per call, GFLOPS = 4/3 n^3 / SECONDS for the
 * eigensolvers (2 n^3 / SECONDS for DGEMM) and RELDIFF = max|w - w_dsyev| /
 * max|w_dsyev|.
 *
 * Build: cc -O2 -march=native bench/eig-drivers.c -llapacke -lopenblas -lm
 */
#define _DEFAULT_SOURCE /* M_PI, M_SQRT2, clock_gettime */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <lapacke.h>

#include "bench_clock.h"

enum kind { EV, EVD, EVR };

typedef struct {
    const char *name;
    enum kind kind;
    int two_stage;
} driver;

static const driver DRIVERS[] = {
    {"dsyev", EV, 0},         {"dsyevd", EVD, 0},
    {"dsyevr", EVR, 0},       {"dsyev_2stage", EV, 1},
    {"dsyevd_2stage", EVD, 1}, {"dsyevr_2stage", EVR, 1},
};
enum { NDRIVERS = sizeof DRIVERS / sizeof DRIVERS[0] };

typedef struct {
    double *work;
    lapack_int lwork;
    lapack_int *iwork;
    lapack_int liwork;
    lapack_int *isuppz; /* dsyevr only; not referenced for JOBZ='N' */
    double z[1];        /* dsyevr only; not referenced for JOBZ='N' */
} workspace;

static char uplo = 'L';


static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "eig-drivers: out of memory (%zu bytes)\n", bytes);
        exit(2);
    }
    return p;
}

/* 64-bit LCG (Knuth MMIX constants); top 53 bits -> uniform in (0,1). */
static uint64_t lcg_state;
static double lcg_uniform(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((double)(lcg_state >> 11) + 0.5) * 0x1.0p-53;
}

static double gauss(void)
{
    static int have;
    static double spare;
    if (have) {
        have = 0;
        return spare;
    }
    double u1 = lcg_uniform(), u2 = lcg_uniform();
    double r = sqrt(-2.0 * log(u1));
    spare = r * sin(2.0 * M_PI * u2);
    have = 1;
    return r * cos(2.0 * M_PI * u2);
}

/* GOE-like: off-diagonal N(0,1), diagonal N(0,2), times 1/sqrt(2n). */
static void fill_goe(double *a, int n, uint64_t seed)
{
    lcg_state = seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)n);
    double s = 1.0 / sqrt(2.0 * n);
    for (int j = 0; j < n; j++) {
        a[(size_t)j * n + j] = M_SQRT2 * gauss() * s;
        for (int i = j + 1; i < n; i++) {
            double g = gauss() * s;
            a[(size_t)j * n + i] = g;
            a[(size_t)i * n + j] = g;
        }
    }
}

static lapack_int call(const driver *d, int n, double *a, double *w,
                       workspace *ws)
{
    const int L = LAPACK_COL_MAJOR;
    lapack_int m;
    switch (d->kind) {
    case EV:
        return d->two_stage
                   ? LAPACKE_dsyev_2stage_work(L, 'N', uplo, n, a, n, w,
                                               ws->work, ws->lwork)
                   : LAPACKE_dsyev_work(L, 'N', uplo, n, a, n, w, ws->work,
                                        ws->lwork);
    case EVD:
        return d->two_stage
                   ? LAPACKE_dsyevd_2stage_work(L, 'N', uplo, n, a, n, w,
                                                ws->work, ws->lwork,
                                                ws->iwork, ws->liwork)
                   : LAPACKE_dsyevd_work(L, 'N', uplo, n, a, n, w, ws->work,
                                         ws->lwork, ws->iwork, ws->liwork);
    case EVR:
        return d->two_stage
                   ? LAPACKE_dsyevr_2stage_work(
                         L, 'N', 'A', uplo, n, a, n, 0.0, 0.0, 0, 0, 0.0, &m,
                         w, ws->z, 1, ws->isuppz, ws->work, ws->lwork,
                         ws->iwork, ws->liwork)
                   : LAPACKE_dsyevr_work(L, 'N', 'A', uplo, n, a, n, 0.0, 0.0,
                                         0, 0, 0.0, &m, w, ws->z, 1,
                                         ws->isuppz, ws->work, ws->lwork,
                                         ws->iwork, ws->liwork);
    }
    return -999;
}

/* Workspace query (lwork = liwork = -1), then allocate. */
static void ws_alloc(const driver *d, int n, double *a, double *w,
                     workspace *ws)
{
    double wq = 0;
    lapack_int iq = 0;
    ws->work = &wq;
    ws->iwork = &iq;
    ws->lwork = -1;
    ws->liwork = -1;
    ws->isuppz = xmalloc(2 * (size_t)(n > 0 ? n : 1) * sizeof(lapack_int));
    lapack_int info = call(d, n, a, w, ws);
    if (info != 0) {
        fprintf(stderr, "eig-drivers: %s workspace query failed, info=%d\n",
                d->name, (int)info);
        exit(1);
    }
    ws->lwork = (lapack_int)wq;
    ws->liwork = d->kind == EV ? 1 : iq;
    if (ws->lwork < 1)
        ws->lwork = 1;
    if (ws->liwork < 1)
        ws->liwork = 1;
    ws->work = xmalloc((size_t)ws->lwork * sizeof(double));
    ws->iwork = xmalloc((size_t)ws->liwork * sizeof(lapack_int));
    memset(ws->work, 0, (size_t)ws->lwork * sizeof(double));
    memset(ws->iwork, 0, (size_t)ws->liwork * sizeof(lapack_int));
}

static void ws_free(workspace *ws)
{
    free(ws->work);
    free(ws->iwork);
    free(ws->isuppz);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *t, int k)
{
    qsort(t, (size_t)k, sizeof *t, cmp_double);
    return k % 2 ? t[k / 2] : 0.5 * (t[k / 2 - 1] + t[k / 2]);
}

static int choose_reps(double t_first, double target)
{
    if (t_first > 5.0)
        return 1;
    double r = ceil(target / (t_first > 1e-9 ? t_first : 1e-9));
    if (r < 2)
        r = 2;
    if (r > 1000)
        r = 1000;
    return (int)r;
}

static void usage(void)
{
    fprintf(stderr, "usage: eig-drivers [-u L|U] [-t SECONDS] "
                    "[-d DRIVER,...] [n ...]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    double target = 1.5;
    int use[NDRIVERS];
    for (int k = 0; k < NDRIVERS; k++)
        use[k] = 1;
    int ns[64], nn = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-u") && i + 1 < argc) {
            uplo = argv[++i][0];
            if (uplo != 'L' && uplo != 'U')
                usage();
        } else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
            target = atof(argv[++i]);
            if (!(target > 0))
                usage();
        } else if (!strcmp(argv[i], "-d") && i + 1 < argc) {
            char *list = argv[++i];
            for (int k = 0; k < NDRIVERS; k++)
                use[k] = 0;
            for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
                int found = 0;
                for (int k = 0; k < NDRIVERS; k++)
                    if (!strcmp(tok, DRIVERS[k].name))
                        use[k] = found = 1;
                if (!found) {
                    fprintf(stderr, "eig-drivers: unknown driver %s\n", tok);
                    usage();
                }
            }
        } else if (argv[i][0] >= '0' && argv[i][0] <= '9' && nn < 64) {
            ns[nn] = atoi(argv[i]);
            if (ns[nn] < 1)
                usage();
            nn++;
        } else {
            usage();
        }
    }
    if (nn == 0) {
        static const int def[] = {250, 500, 1000, 2000, 4000};
        for (nn = 0; nn < 5; nn++)
            ns[nn] = def[nn];
    }

    printf("# openblas: %s\n", openblas_get_config());
    printf("# openblas core: %s, threads: %d\n", openblas_get_corename(),
           openblas_get_num_threads());
    printf("# uplo: %c, target: %.2f s per measurement\n", uplo, target);
    fflush(stdout);

    int status = 0;
    for (int in = 0; in < nn; in++) {
        int n = ns[in];
        size_t nsq = (size_t)n * n;
        double flops_eig = 4.0 / 3.0 * (double)n * n * n;
        double flops_mm = 2.0 * (double)n * n * n;
        double *a0 = xmalloc(nsq * sizeof(double));
        double *a = xmalloc(nsq * sizeof(double));
        double *c = xmalloc(nsq * sizeof(double));
        double *wref = xmalloc((size_t)n * sizeof(double));
        double *w = xmalloc((size_t)n * sizeof(double));
        double *times = xmalloc(1000 * sizeof(double));
        fill_goe(a0, n, 20240601u);
        memcpy(a, a0, nsq * sizeof(double));

        /* DGEMM roof: C = A0 * A. */
        double t0 = now();
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0,
                    a0, n, a, n, 0.0, c, n);
        int reps = choose_reps(now() - t0, target);
        for (int r = 0; r < reps; r++) {
            t0 = now();
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n,
                        1.0, a0, n, a, n, 0.0, c, n);
            times[r] = now() - t0;
        }
        double t_mm = median(times, reps);
        double roof = flops_mm / t_mm * 1e-9;
        printf("dgemm %d %.6g %.4g %d\n", n, t_mm, roof, reps);
        fflush(stdout);
        free(c);

        /* Reference eigenvalues: dsyev (always computed, for the check). */
        {
            workspace ws;
            memcpy(a, a0, nsq * sizeof(double));
            ws_alloc(&DRIVERS[0], n, a, wref, &ws);
            memcpy(a, a0, nsq * sizeof(double));
            lapack_int info = call(&DRIVERS[0], n, a, wref, &ws);
            ws_free(&ws);
            if (info != 0) {
                fprintf(stderr, "eig-drivers: dsyev n=%d info=%d\n", n,
                        (int)info);
                return 1;
            }
        }
        double norm = fmax(fabs(wref[0]), fabs(wref[n - 1]));

        for (int k = 0; k < NDRIVERS; k++) {
            if (!use[k])
                continue;
            const driver *d = &DRIVERS[k];
            workspace ws;
            memcpy(a, a0, nsq * sizeof(double));
            ws_alloc(d, n, a, w, &ws);

            /* First call: warm-up, rep estimate, and correctness check. */
            memcpy(a, a0, nsq * sizeof(double));
            t0 = now();
            lapack_int info = call(d, n, a, w, &ws);
            double t_first = now() - t0;
            if (info != 0) {
                fprintf(stderr, "eig-drivers: ERROR %s n=%d info=%d\n",
                        d->name, n, (int)info);
                return 1;
            }
            double diff = 0;
            for (int i = 0; i < n; i++)
                diff = fmax(diff, fabs(w[i] - wref[i]));
            double rel = diff / norm;

            reps = choose_reps(t_first, target);
            for (int r = 0; r < reps; r++) {
                memcpy(a, a0, nsq * sizeof(double));
                t0 = now();
                info = call(d, n, a, w, &ws);
                times[r] = now() - t0;
                if (info != 0) {
                    fprintf(stderr, "eig-drivers: ERROR %s n=%d info=%d\n",
                            d->name, n, (int)info);
                    return 1;
                }
            }
            double t = median(times, reps);
            double gf = flops_eig / t * 1e-9;
            printf("eig %d %s %.6g %.4g %.4f %d %.3g\n", n, d->name, t, gf,
                   gf / roof, reps, rel);
            fflush(stdout);
            if (!(rel < 1e-10)) {
                fprintf(stderr,
                        "eig-drivers: ERROR %s n=%d eigenvalues differ from "
                        "dsyev: max|dw|/||A||_2 = %.3g >= 1e-10\n",
                        d->name, n, rel);
                status = 1;
            }
            ws_free(&ws);
        }
        free(a0);
        free(a);
        free(wref);
        free(w);
        free(times);
        if (status)
            return status;
    }
    return status;
}
