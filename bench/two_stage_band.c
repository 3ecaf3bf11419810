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
 * With OWN=1 it also times, at each kd, a full-to-band reduction written
 * here on BLAS (dsytrd_sy2sb's algorithm, with the panel's QR by the
 * recursive dgeqrt3 instead of dgeqrf's unblocked dgeqr2 at these widths):
 * what rewriting LAPACK's first stage could gain.
 *
 * Usage: two-stage-band N REPS KD ...     (BAND_THREADS=T: T BLAS threads;
 *                                         REF=0: without the one-stage reference)
 * Output: "band N KD SECONDS MAXRELDIFF" (KD 0 = one-stage),
 *         "stages N KD SY2SB SB2ST STERF" (seconds of each stage, best of REPS),
 *         "own N KD SECONDS SY2SB MAXRELDIFF" (OWN=1) and "lapack-kd N KD".
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
void dgeqrt3_(const int *, const int *, double *, const int *, double *, const int *, int *);
void dgeqrf_(const int *, const int *, double *, const int *, double *, double *, const int *, int *);
void dlarft_(const char *, const char *, const int *, const int *, double *, const int *, const double *, double *,
             const int *, size_t, size_t);
void cblas_dgemm(int, int, int, int, int, int, double, const double *, int, const double *, int, double, double *,
                 int);
void cblas_dsymm(int, int, int, int, int, double, const double *, int, const double *, int, double, double *, int);
void cblas_dsyr2k(int, int, int, int, int, double, const double *, int, const double *, int, double, double *, int);
enum { COLMAJ = 102, NOTR = 111, TR = 112, LOWER = 122, LEFT = 141 };

/* The lower triangle of a (n x n) to a band of half-width kd in ab (ldab =
 * kd + 1), as dsytrd_sy2sb: for each panel, a QR of the kd columns below
 * the band (dgeqrt3 gives V and T at once; dgeqrf + dlarft for the last,
 * short one), then A22 -= V Z^T + Z V^T with W = A22 V T and
 * Z = W - V (T^T V^T W) / 2. work: 3 n kd + 2 kd^2 doubles, tau n. */
static void own_sy2sb(int n, int kd, double *a, double *ab, int ldab, double *work, double *tau, int lwq)
{
    double *t = work, *s1 = t + (size_t)kd * kd, *s2 = s1 + (size_t)kd * kd, *w = s2 + (size_t)n * kd,
           *wq = w + (size_t)n * kd;
    memset(t, 0, sizeof(double) * (size_t)kd * kd); /* dgeqrt3 and dlarft set only T's upper triangle */
    for (int i = 0; i < n - kd; i += kd) {
        int pn = n - i - kd, pk = pn < kd ? pn : kd, info;
        double *p = a + (i + kd) + (size_t)i * n, *a22 = a + (i + kd) + (size_t)(i + kd) * n;
        if (pn >= kd)
            dgeqrt3_(&pn, &kd, p, &n, t, &kd, &info);
        else {
            dgeqrf_(&pn, &kd, p, &n, tau, wq, &lwq, &info);
            dlarft_("F", "C", &pn, &pk, p, &n, tau, t, &kd, 1, 1);
        }
        for (int j = i; j < i + pk; j++)
            memcpy(ab + (size_t)j * ldab, a + j + (size_t)j * n, sizeof(double) * (size_t)((kd < n - 1 - j ? kd : n - 1 - j) + 1));
        for (int c = 0; c < pk; c++) {
            for (int r = 0; r < c; r++) p[r + (size_t)c * n] = 0;
            p[c + (size_t)c * n] = 1;
        }
        cblas_dgemm(COLMAJ, NOTR, NOTR, pn, pk, pk, 1, p, n, t, kd, 0, s2, n);
        cblas_dsymm(COLMAJ, LEFT, LOWER, pn, pk, 1, a22, n, s2, n, 0, w, n);
        cblas_dgemm(COLMAJ, TR, NOTR, pk, pk, pn, 1, s2, n, w, n, 0, s1, kd);
        cblas_dgemm(COLMAJ, NOTR, NOTR, pn, pk, pk, -0.5, p, n, s1, kd, 1, w, n);
        cblas_dsyr2k(COLMAJ, LOWER, NOTR, pn, pk, -1, p, n, w, n, 1, a22, n);
    }
    for (int j = n - kd > 0 ? n - kd : 0; j < n; j++) memcpy(ab + (size_t)j * ldab, a + j + (size_t)j * n, sizeof(double) * (size_t)(n - j));
}
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
    /* REF=0: no one-stage reference (to profile the two-stage path alone; differences print nan) */
    const int with_ref = !(getenv("REF") && atoi(getenv("REF")) == 0);
    printf("lapack-kd %d %d\n", n, ilaenv2stage_(&ispec, "DSYTRD_2STAGE", "N", &n, &m1, &m1, &m1, 13, 1));
    {
        double wq;
        int lw = -1;
        dsytrd_("L", &n, a, &n, d, e, tau, &wq, &lw, &info, 1);
        lw = (int)wq;
        double *w = malloc(sizeof(double) * (size_t)lw), best = INFINITY;
        for (int i = 0; i < n; i++) ref[i] = NAN;
        for (int r = 0; r < (with_ref ? reps : 0); r++) {
            memcpy(a, a0, sizeof(double) * nn);
            double t = now();
            dsytrd_("L", &n, a, &n, ref, e, tau, w, &lw, &info, 1);
            dsterf_(&n, ref, e, &info);
            t = now() - t;
            if (t < best) best = t;
        }
        if (with_ref) printf("band %d 0 %.4f 0\n", n, best);
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
        double best = INFINITY, diff = 0, st[3] = {INFINITY, INFINITY, INFINITY};
        for (int r = 0; r < reps; r++) {
            memcpy(a, a0, sizeof(double) * nn);
            double t0 = now();
            dsytrd_sy2sb_("L", &n, &kd, a, &n, ab, &ldab, tau, w, &lw1, &info, 1);
            double t1 = now();
            dsytrd_sb2st_("Y", "N", "L", &n, &kd, ab, &ldab, d, e, h, &lh, w, &lw2, &info, 1, 1, 1);
            double t2 = now();
            dsterf_(&n, d, e, &info);
            double t3 = now();
            best = fmin(best, t3 - t0);
            st[0] = fmin(st[0], t1 - t0);
            st[1] = fmin(st[1], t2 - t1);
            st[2] = fmin(st[2], t3 - t2);
        }
        for (int i = 0; i < n; i++) diff = with_ref ? fmax(diff, fabs(d[i] - ref[i]) / norm) : NAN;
        printf("band %d %d %.4f %.2g\n", n, kd, best, diff);
        printf("stages %d %d %.4f %.4f %.4f\n", n, kd, st[0], st[1], st[2]);
        fflush(stdout);
        if (getenv("OWN") && atoi(getenv("OWN")) > 0) {
            size_t lo = 3 * (size_t)n * kd + 2 * (size_t)kd * kd + (size_t)lw1;
            double *ow = malloc(sizeof(double) * lo), obest = INFINITY, o1 = INFINITY, odiff = 0;
            if (!ow) return 1;
            for (int r = 0; r < reps; r++) {
                memcpy(a, a0, sizeof(double) * nn);
                double t0 = now();
                own_sy2sb(n, kd, a, ab, ldab, ow, tau, lw1);
                double t1 = now();
                dsytrd_sb2st_("Y", "N", "L", &n, &kd, ab, &ldab, d, e, h, &lh, w, &lw2, &info, 1, 1, 1);
                dsterf_(&n, d, e, &info);
                obest = fmin(obest, now() - t0);
                o1 = fmin(o1, t1 - t0);
            }
            for (int i = 0; i < n; i++) odiff = with_ref ? fmax(odiff, fabs(d[i] - ref[i]) / norm) : NAN;
            printf("own %d %d %.4f %.4f %.2g\n", n, kd, obest, o1, odiff);
            fflush(stdout);
            free(ow);
        }
        free(ab);
        free(w);
        free(h);
    }
    return 0;
}
