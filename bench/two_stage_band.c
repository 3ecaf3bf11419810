/* bench/two_stage_band.c -- the band half-width kd of the two-stage
 * symmetric eigenvalue reduction, values only, one BLAS thread.
 *
 * For one n, times on the same matrix (uniform entries, symmetric):
 *   one-stage: dsytrd + dsterf (what dsyevr and dsyevd do for values only);
 *   kd = K:    dsytrd_sy2sb (full to band) + dsytrd_sb2st (band to
 *              tridiagonal) + dsterf, i.e. dsyevd_2stage's values-only path
 *              with band K; LAPACK's own choice is ilaenv2stage's, printed.
 * Best of REPS calls each (after the matrix is copied back), and the
 * largest difference of the spectrum from the one-stage one, relative to
 * the spectral norm.
 *
 * Usage: two-stage-band N REPS KD ...     (BAND_THREADS=T: T BLAS threads)
 * Output: "band N KD SECONDS MAXRELDIFF" (KD 0 = one-stage) and
 *         "lapack-kd N KD".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"

void dsytrd_sy2sb_(const char *, const int *, const int *, double *, const int *, double *, const int *, double *,
                   double *, const int *, int *, size_t);
void dsytrd_sb2st_(const char *, const char *, const char *, const int *, const int *, double *, const int *, double *,
                   double *, double *, const int *, double *, const int *, int *, size_t, size_t, size_t);
void dsytrd_(const char *, const int *, double *, const int *, double *, double *, double *, double *, const int *,
             int *, size_t);
void dsterf_(const int *, double *, double *, int *);
int ilaenv2stage_(const int *, const char *, const char *, const int *, const int *, const int *, const int *, size_t,
                  size_t);

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: two-stage-band N REPS KD ...\n");
        return 2;
    }
    /* one BLAS thread, as rmtmc's ranks use; BAND_THREADS=T for T */
    const char *th = getenv("BAND_THREADS");
    openblas_set_num_threads(th && atoi(th) > 0 ? atoi(th) : 1);
    int n = atoi(argv[1]), reps = atoi(argv[2]), info = 0, m1 = -1, ispec = 1;
    size_t nn = (size_t)n * (size_t)n;
    double *a0 = malloc(sizeof(double) * nn), *a = malloc(sizeof(double) * nn);
    double *ref = malloc(sizeof(double) * (size_t)n), *d = malloc(sizeof(double) * (size_t)n);
    double *e = malloc(sizeof(double) * (size_t)n), *tau = malloc(sizeof(double) * (size_t)n);
    if (!a0 || !a || !ref || !d || !e || !tau) return 1;
    srand(1);
    for (size_t k = 0; k < nn; k++) a0[k] = rand() / (double)RAND_MAX - 0.5;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < j; i++) a0[i + (size_t)j * n] = a0[j + (size_t)i * n];
    printf("lapack-kd %d %d\n", n, ilaenv2stage_(&ispec, "DSYTRD_2STAGE", "N", &n, &m1, &m1, &m1, 13, 1));
    {
        double wq;
        int lw = -1;
        dsytrd_("L", &n, a, &n, d, e, tau, &wq, &lw, &info, 1);
        lw = (int)wq;
        double *w = malloc(sizeof(double) * (size_t)lw), best = INFINITY;
        for (int r = 0; r < reps; r++) {
            memcpy(a, a0, sizeof(double) * nn);
            double t = now();
            dsytrd_("L", &n, a, &n, ref, e, tau, w, &lw, &info, 1);
            dsterf_(&n, ref, e, &info);
            t = now() - t;
            if (t < best) best = t;
        }
        printf("band %d 0 %.4f 0\n", n, best);
        fflush(stdout);
        free(w);
    }
    double norm = fmax(fabs(ref[0]), fabs(ref[n - 1]));
    for (int k = 3; k < argc; k++) {
        int kd = atoi(argv[k]), ldab = kd + 1, q = -1, lh, lw1, lw2;
        double wq, hq, wq2;
        double *ab = calloc((size_t)ldab * (size_t)n, sizeof(double));
        dsytrd_sy2sb_("L", &n, &kd, a, &n, ab, &ldab, tau, &wq, &q, &info, 1);
        dsytrd_sb2st_("Y", "N", "L", &n, &kd, ab, &ldab, d, e, &hq, &q, &wq2, &q, &info, 1, 1, 1);
        lw1 = (int)wq;
        lw2 = (int)wq2;
        lh = (int)hq > 1 ? (int)hq : 1;
        double *w = malloc(sizeof(double) * (size_t)(lw1 > lw2 ? lw1 : lw2)), *h = malloc(sizeof(double) * (size_t)lh);
        double best = INFINITY, diff = 0;
        for (int r = 0; r < reps; r++) {
            memcpy(a, a0, sizeof(double) * nn);
            double t = now();
            dsytrd_sy2sb_("L", &n, &kd, a, &n, ab, &ldab, tau, w, &lw1, &info, 1);
            dsytrd_sb2st_("Y", "N", "L", &n, &kd, ab, &ldab, d, e, h, &lh, w, &lw2, &info, 1, 1, 1);
            dsterf_(&n, d, e, &info);
            t = now() - t;
            if (t < best) best = t;
        }
        for (int i = 0; i < n; i++) diff = fmax(diff, fabs(d[i] - ref[i]) / norm);
        printf("band %d %d %.4f %.2g\n", n, kd, best, diff);
        fflush(stdout);
        free(ab);
        free(w);
        free(h);
    }
    return 0;
}
