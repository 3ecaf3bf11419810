#include "solve.h"

#include "config.h"

#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS's thread control; declared here to avoid depending on its cblas.h variant. */
void openblas_set_num_threads(int num_threads);

/* The two stages of LAPACK's dsytrd_2stage (full to band of half-width kd,
 * band to tridiagonal), called directly to choose kd: lapack.h does not
 * declare them. Trailing arguments: Fortran's hidden string lengths. */
void dsytrd_sy2sb_(const char *uplo, const lapack_int *n, const lapack_int *kd, double *a, const lapack_int *lda,
                   double *ab, const lapack_int *ldab, double *tau, double *work, const lapack_int *lwork,
                   lapack_int *info, size_t luplo);
void dsytrd_sb2st_(const char *stage1, const char *vect, const char *uplo, const lapack_int *n, const lapack_int *kd,
                   double *ab, const lapack_int *ldab, double *d, double *e, double *hous, const lapack_int *lhous,
                   double *work, const lapack_int *lwork, lapack_int *info, size_t lstage1, size_t lvect, size_t luplo);

/* Below this n the one-stage drivers are fastest; from it the two-stage
 * reduction wins (measured: results/eig-drivers.md, one BLAS thread per
 * rank: dsyevr 0.87 s vs dsyevd_2stage 0.80 s at n = 2500, 4.59 vs 2.97 s at
 * n = 4000; the one-stage drivers slow down once the matrix leaves L3). */
#define TWO_STAGE_MIN_DEFAULT 2250

struct rmt_solver {
    int driver;          /* rmt_driver in use for the current n */
    int fixed;           /* 1: driver chosen by caller or RMT_EIG_DRIVER; 0: by n */
    int64_t two_stage_min; /* automatic choice: two-stage from this n */
    int64_t work_n;      /* n the workspaces were sized for */
    double *work;        /* LAPACK real workspace */
    lapack_int lwork;
    lapack_int *iwork;   /* LAPACK integer workspace */
    lapack_int liwork;
    double *gram;        /* Gram matrix for rmt_solve_gram */
    size_t gram_cap;     /* doubles allocated in gram */
    double *z;           /* dsyevr needs a (unused) Z argument */
    lapack_int *isuppz;
    lapack_int kd;       /* dsyevd_2stage's band half-width; 0: LAPACK's own choice */
    int kd_env;          /* RMT_EIG_2STAGE_KD: -1 unset, else the kd it names (0: LAPACK's) */
    double *band, *tau, *e, *hous; /* the two-stage reduction's arrays, for kd > 0 */
    lapack_int lhous, lwork2;
};

/* dsyevd_2stage's band half-width for values only at n, one BLAS thread.
 * LAPACK's ilaenv2stage gives 32 at every n; a wider band makes the first
 * stage (BLAS-3) faster and the bulge chasing slower. Measured on the
 * reference machine (results/BENCHMARKS.md, section 4c; both ranks busy at
 * n = 4000): best kd 48 at n = 4000 (5-7 % faster than 32; 64 within 1 %),
 * 96 at n = 8000 (15 %; 64 within 4 %); n / 80 rounded down to a multiple
 * of 16, clamped to [32, 96], follows that. */
static lapack_int band_for(int64_t n)
{
    int64_t kd = n / 80 / 16 * 16;
    return (lapack_int)(kd < 32 ? 32 : kd > 96 ? 96 : kd);
}

static const char *const driver_names[RMT_DRIVER_COUNT] = {"dsyevd", "dsyevr", "dsyev", "dsyevd_2stage",
                                                          "dsyev_2stage"};

/* The driver RMT_EIG_DRIVER names (with or without the leading d), -1
 * when it names none. */
static int driver_by_name(const char *name)
{
    for (int d = 0; d < RMT_DRIVER_COUNT; d++)
        if (!strcmp(name, driver_names[d] + 1) || !strcmp(name, driver_names[d])) return d;
    return -1;
}

/* The n from which the automatic choice takes the two-stage driver: 2250,
 * RMT_EIG_2STAGE_MIN's n, or never with several BLAS threads per rank (the
 * two-stage reduction is erratic with threads: BENCHMARKS.md, section 4c). */
static int64_t two_stage_from(void)
{
    const char *th = getenv("RMT_BLAS_THREADS"), *mn = getenv("RMT_EIG_2STAGE_MIN");
    if (mn && atoll(mn) > 0) return atoll(mn);
    return th && atoi(th) > 1 ? INT64_MAX : TWO_STAGE_MIN_DEFAULT;
}

/* RMT_EIG_2STAGE_KD: the band it names (0: LAPACK's driver), -1 when unset. */
static int band_env(void)
{
    const char *kd = getenv("RMT_EIG_2STAGE_KD");
    int v = kd && *kd ? atoi(kd) : -1;
    return v < -1 ? -1 : v;
}

double rmt_solve_work_doubles(int64_t n)
{
    /* dsyevr: 26 n + 10 n integers; the two-stage path with band kd: the
     * band, e, tau, 4 n of Householder data and ~2 kd n of work (queried:
     * 104 n at n = 2250, 152 n at 4000, 297 n at 8000; LAPACK's own driver,
     * kd 32: 104 n); a margin on both. The environment's choices as
     * rmt_solve_create reads them. */
    if (n < two_stage_from()) return 64.0 * (double)n;
    int64_t band = band_env() >= 0 ? band_env() : band_for(n);
    if (band == 0) band = 32; /* LAPACK's driver and its band */
    if (band > n - 1) band = n > 1 ? n - 1 : 1;
    return (3.0 * (double)band + 16.0) * (double)n;
}

rmt_solver *rmt_solve_create(int driver)
{
    rmt_solver *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->driver = RMT_DRIVER_SYEVR;
    const char *env = getenv("RMT_EIG_DRIVER");
    if (driver >= 0 && driver < RMT_DRIVER_COUNT) {
        s->driver = driver;
        s->fixed = 1;
    } else if (env && driver_by_name(env) >= 0) {
        s->driver = driver_by_name(env);
        s->fixed = 1;
    }
    s->two_stage_min = two_stage_from();
    s->kd_env = band_env();
    return s;
}

void rmt_solve_destroy(rmt_solver *s)
{
    if (!s) return;
    free(s->work);
    free(s->iwork);
    free(s->gram);
    free(s->z);
    free(s->isuppz);
    free(s->band);
    free(s->tau);
    free(s->e);
    free(s->hous);
    free(s);
}

int rmt_solve_last_driver(const rmt_solver *s) { return s->driver; }

int rmt_solve_last_band(const rmt_solver *s) { return s->driver == RMT_DRIVER_SYEVD_2STAGE ? (int)s->kd : 0; }

const char *rmt_solve_describe(const rmt_solver *s, char *buf, size_t len)
{
    if (s->fixed || s->two_stage_min == INT64_MAX)
        snprintf(buf, len, "%s", s->fixed ? driver_names[s->driver] : "dsyevr");
    else
        snprintf(buf, len, "dsyevr for n < %lld, dsyevd_2stage for n >= %lld", (long long)s->two_stage_min,
                 (long long)s->two_stage_min);
    return buf;
}

/* An environment variable that must hold an integer in [lo, hi]. */
static rmt_status env_int(const char *name, long lo, long hi)
{
    const char *v = getenv(name);
    if (!v) return RMT_OK;
    char *end = NULL;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < lo || x > hi)
        return RMT_ERR(RMT_EUSAGE, "%s: expected an integer from %ld to %ld, found '%s'", name, lo, hi, v);
    return RMT_OK;
}

rmt_status rmt_solve_check_env(void)
{
    const char *d = getenv("RMT_EIG_DRIVER");
    if (d && *d && strcmp(d, "auto") && driver_by_name(d) < 0)
        return RMT_ERR(RMT_EUSAGE, "RMT_EIG_DRIVER: '%s' is not a LAPACK driver (auto, syevr, syevd, syev, "
                       "syevd_2stage, syev_2stage)", d);
    rmt_status s = env_int("RMT_BLAS_THREADS", 1, 1024);
    if (!s) s = env_int("RMT_EIG_2STAGE_MIN", 1, INT32_MAX);
    if (!s) s = env_int("RMT_EIG_2STAGE_KD", 0, 4096);
    return s;
}

rmt_status rmt_solve_check_threads_env(void)
{
    return env_int("RMT_BLAS_THREADS", 1, 1024);
}

int rmt_solve_init_threads(void)
{
    const char *env = getenv("RMT_BLAS_THREADS");
    int t = env ? atoi(env) : 1;
    if (t < 1) t = 1;
    openblas_set_num_threads(t);
    return t;
}

static rmt_status to_lapack_int(int64_t v, lapack_int *out)
{
    if (v < 0 || v > INT_MAX) return RMT_ERR(RMT_ERUNTIME, "dimension %lld is beyond LAPACK's integer range", (long long)v);
    *out = (lapack_int)v;
    return RMT_OK;
}

/* Size the workspaces for n by a workspace query (once per n). */
static rmt_status ensure_work(rmt_solver *s, lapack_int n, double *a, lapack_int lda, double *w)
{
    if (s->work_n == n && s->work) return RMT_OK;
    s->work_n = 0; /* until the workspaces below are in place */
    double wq = 0;
    lapack_int iq = 0, info = 0, m = 0;
    free(s->band);
    free(s->tau);
    free(s->e);
    free(s->hous);
    s->band = s->tau = s->e = s->hous = NULL;
    s->kd = 0;
    if (s->driver == RMT_DRIVER_SYEVD_2STAGE && s->kd_env != 0 && n > 1) {
        /* the two stages with rmtmc's band (or RMT_EIG_2STAGE_KD's) */
        lapack_int kd = s->kd_env > 0 ? s->kd_env : band_for(n), ldab = 0, q = -1, one = 1;
        if (kd > n - 1) kd = n - 1;
        ldab = kd + 1;
        double hq = 0, wq2 = 0;
        dsytrd_sy2sb_("L", &n, &kd, a, &lda, NULL, &ldab, NULL, &wq, &q, &info, 1);
        if (info == 0) dsytrd_sb2st_("Y", "N", "L", &n, &kd, NULL, &ldab, NULL, NULL, &hq, &q, &wq2, &q, &info, 1, 1, 1);
        if (info != 0) return RMT_ERR(RMT_ERUNTIME, "LAPACK workspace query failed (info %d)", (int)info);
        s->kd = kd;
        s->lhous = (lapack_int)hq > one ? (lapack_int)hq : one;
        s->lwork2 = (lapack_int)wq2 + 1;
        if ((lapack_int)wq < s->lwork2) wq = s->lwork2;
        s->band = malloc(sizeof(double) * (size_t)ldab * (size_t)n);
        s->tau = malloc(sizeof(double) * (size_t)n);
        s->e = malloc(sizeof(double) * (size_t)n);
        s->hous = malloc(sizeof(double) * (size_t)s->lhous);
        if (!s->band || !s->tau || !s->e || !s->hous) {
            s->work_n = 0;
            return RMT_ERR(RMT_ERUNTIME, "out of memory for the LAPACK workspace (n = %d)", (int)n);
        }
    } else switch (s->driver) {
    case RMT_DRIVER_SYEVD:
        info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'N', 'L', n, a, lda, w, &wq, -1, &iq, -1);
        break;
    case RMT_DRIVER_SYEVD_2STAGE:
        info = LAPACKE_dsyevd_2stage_work(LAPACK_COL_MAJOR, 'N', 'L', n, a, lda, w, &wq, -1, &iq, -1);
        break;
    case RMT_DRIVER_SYEV:
        info = LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'N', 'L', n, a, lda, w, &wq, -1);
        break;
    case RMT_DRIVER_SYEV_2STAGE:
        info = LAPACKE_dsyev_2stage_work(LAPACK_COL_MAJOR, 'N', 'L', n, a, lda, w, &wq, -1);
        break;
    case RMT_DRIVER_SYEVR: {
        double zq = 0;
        lapack_int sq[2];
        info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'N', 'A', 'L', n, a, lda, 0, 0, 0, 0, 0, &m, w, &zq, 1, sq,
                                   &wq, -1, &iq, -1);
        break;
    }
    }
    if (info != 0) return RMT_ERR(RMT_ERUNTIME, "LAPACK workspace query failed (info %d)", (int)info);
    free(s->work);
    free(s->iwork);
    free(s->isuppz);
    s->lwork = (lapack_int)wq + 1;
    s->liwork = iq > 0 ? iq : 1;
    s->work = malloc(sizeof(double) * (size_t)s->lwork);
    s->iwork = malloc(sizeof(lapack_int) * (size_t)s->liwork);
    s->isuppz = malloc(sizeof(lapack_int) * 2 * (size_t)(n > 0 ? n : 1));
    if (!s->work || !s->iwork || !s->isuppz) {
        s->work_n = 0;
        return RMT_ERR(RMT_ERUNTIME, "out of memory for the LAPACK workspace (n = %d)", (int)n);
    }
    s->work_n = n;
    return RMT_OK;
}

rmt_status rmt_solve_symmetric(rmt_solver *s, int64_t n64, double *a, int64_t lda64, double *w, int *info)
{
    lapack_int n = 0, lda = 0, m = 0, r = 0;
    RMT_TRY(to_lapack_int(n64, &n));
    RMT_TRY(to_lapack_int(lda64 > 1 ? lda64 : 1, &lda));
    *info = 0;
    if (n == 0) return RMT_OK;
    if (!s->fixed) {
        int d = n64 >= s->two_stage_min ? RMT_DRIVER_SYEVD_2STAGE : RMT_DRIVER_SYEVR;
        if (d != s->driver) s->work_n = 0; /* workspace sizes differ between drivers */
        s->driver = d;
    }
    RMT_TRY(ensure_work(s, n, a, lda, w));
    switch (s->driver) {
    case RMT_DRIVER_SYEVD:
        r = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'N', 'L', n, a, lda, w, s->work, s->lwork, s->iwork, s->liwork);
        break;
    case RMT_DRIVER_SYEVD_2STAGE:
        if (s->kd > 0) {
            /* what dsyevd_2stage does for values only (dsytrd_2stage, then
             * dsterf), with the band chosen above */
            lapack_int ldab = s->kd + 1;
            /* the driver's scaling of a matrix whose norm is near under- or
             * overflow, as dsyevd_2stage does */
            double safmin = LAPACKE_dlamch('S'), eps = LAPACKE_dlamch('P');
            double rmin = sqrt(safmin / eps), rmax = sqrt(eps / safmin);
            double anrm = LAPACKE_dlansy_work(LAPACK_COL_MAJOR, 'M', 'L', n, a, lda, NULL), sigma = 1.0;
            if (anrm > 0.0 && anrm < rmin) sigma = rmin / anrm;
            else if (anrm > rmax) sigma = rmax / anrm;
            if (sigma != 1.0) LAPACKE_dlascl_work(LAPACK_COL_MAJOR, 'L', 0, 0, 1.0, sigma, n, n, a, lda);
            dsytrd_sy2sb_("L", &n, &s->kd, a, &lda, s->band, &ldab, s->tau, s->work, &s->lwork, &r, 1);
            if (r == 0)
                dsytrd_sb2st_("Y", "N", "L", &n, &s->kd, s->band, &ldab, w, s->e, s->hous, &s->lhous, s->work,
                              &s->lwork2, &r, 1, 1, 1);
            if (r == 0) r = LAPACKE_dsterf_work(n, w, s->e);
            if (sigma != 1.0 && r >= 0) cblas_dscal(n, 1.0 / sigma, w, 1); /* all of W, as the driver does */
            break;
        }
        r = LAPACKE_dsyevd_2stage_work(LAPACK_COL_MAJOR, 'N', 'L', n, a, lda, w, s->work, s->lwork, s->iwork,
                                       s->liwork);
        break;
    case RMT_DRIVER_SYEV:
        r = LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'N', 'L', n, a, lda, w, s->work, s->lwork);
        break;
    case RMT_DRIVER_SYEV_2STAGE:
        r = LAPACKE_dsyev_2stage_work(LAPACK_COL_MAJOR, 'N', 'L', n, a, lda, w, s->work, s->lwork);
        break;
    case RMT_DRIVER_SYEVR: {
        double zdummy = 0;
        r = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'N', 'A', 'L', n, a, lda, 0, 0, 0, 0, 0, &m, w, &zdummy, 1,
                                s->isuppz, s->work, s->lwork, s->iwork, s->liwork);
        break;
    }
    }
    /* INFO < 0 is an argument error: a bug here, not a property of the draw */
    if (r < 0) return RMT_ERR(RMT_ERUNTIME, "%s: argument %d had an illegal value (bug)", driver_names[s->driver], (int)-r);
    *info = (int)r;
    return RMT_OK;
}

int rmt_solve_lstsq(int64_t m, int64_t k, double *a, double *b)
{
    if (m <= 0 || k <= 0 || m > INT_MAX || k > m) return -1;
    return (int)LAPACKE_dgels(LAPACK_COL_MAJOR, 'N', (lapack_int)m, (lapack_int)k, 1, a, (lapack_int)m, b,
                              (lapack_int)m);
}

rmt_status rmt_solve_gram(rmt_solver *s, int64_t rows, int64_t cols, const double *z, int64_t ldz, double *w,
                          int64_t *structural, int *info)
{
    int64_t m = rows < cols ? rows : cols;
    lapack_int li_rows = 0, li_cols = 0, li_ldz = 0, li_m = 0;
    RMT_TRY(to_lapack_int(rows, &li_rows));
    RMT_TRY(to_lapack_int(cols, &li_cols));
    RMT_TRY(to_lapack_int(ldz, &li_ldz));
    RMT_TRY(to_lapack_int(m, &li_m));
    size_t need = (size_t)m * (size_t)m;
    if (need > s->gram_cap) {
        free(s->gram);
        s->gram = malloc(sizeof(double) * need);
        s->gram_cap = s->gram ? need : 0;
        if (!s->gram) return RMT_ERR(RMT_ERUNTIME, "out of memory for a %lld x %lld Gram matrix", (long long)m, (long long)m);
    }
    /* Z Z^T and Z^T Z share their nonzero eigenvalues: form the smaller one,
     * so a thin factor costs the small dimension's cube. */
    if (cols < rows)
        cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, li_m, li_rows, 1.0, z, li_ldz, 0.0, s->gram, li_m);
    else
        cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, li_m, li_cols, 1.0, z, li_ldz, 0.0, s->gram, li_m);
    int64_t zeros = rows - m;
    RMT_TRY(rmt_solve_symmetric(s, m, s->gram, m, w + zeros, info));
    rmt_solve_add_zeros(w, zeros, m);
    *structural = zeros;
    return RMT_OK;
}

/* ------------------------------------------------------------- products */

/* An elementary map of a product's chain: a stored matrix or its transpose. */
typedef struct {
    const double *a;
    lapack_int lda;
    lapack_int rows, cols; /* of the map (after transposition) */
    int trans;             /* 1: the map is a^T */
} emap;

void rmt_solve_add_zeros(double *w, int64_t zeros, int64_t m)
{
    int64_t neg = 0;
    while (neg < m && w[zeros + neg] < 0.0) neg++;
    if (zeros > 0 && neg > 0) memmove(w, w + zeros, sizeof(double) * (size_t)neg);
    for (int64_t i = neg; i < neg + zeros; i++) w[i] = 0.0;
}

/* Apply maps[i0..i1) in order to x (maps[i0].cols x nc, leading dimension
 * ldx), or, when x is NULL, to the identity (nc = maps[i0].cols). The
 * result (maps[i1-1].rows x nc, leading dimension its rows) is left in
 * buf[0] or buf[1]; returns it (x itself when the range is empty). */
static const double *apply_chain(const emap *m, int i0, int i1, const double *x, lapack_int ldx, lapack_int nc,
                                 double *buf[2])
{
    int cur = 0;
    const double *in = x;
    lapack_int ld = ldx;
    for (int i = i0; i < i1; i++) {
        double *out = buf[cur];
        if (!in) {
            for (lapack_int j = 0; j < nc; j++)
                for (lapack_int r = 0; r < m[i].rows; r++)
                    out[r + (size_t)j * (size_t)m[i].rows] =
                        m[i].trans ? m[i].a[j + (size_t)r * (size_t)m[i].lda] : m[i].a[r + (size_t)j * (size_t)m[i].lda];
        } else {
            cblas_dgemm(CblasColMajor, m[i].trans ? CblasTrans : CblasNoTrans, CblasNoTrans, m[i].rows, nc, m[i].cols,
                        1.0, m[i].a, m[i].lda, in, ld, 0.0, out, m[i].rows);
        }
        in = out;
        ld = m[i].rows;
        cur ^= 1;
    }
    return in;
}

/* L (r x r, lower triangular, leading dimension r) of the LQ factorisation
 * A = L Q of a (r x c, r <= c, leading dimension lda; destroyed). */
static rmt_status lq_factor(lapack_int r, lapack_int c, double *a, lapack_int lda, double *l)
{
    double *tau = malloc(sizeof(double) * (size_t)(r > 0 ? r : 1));
    if (!tau) return RMT_ERR(RMT_ERUNTIME, "out of memory for an LQ factorisation");
    lapack_int info = LAPACKE_dgelqf(LAPACK_COL_MAJOR, r, c, a, lda, tau);
    free(tau);
    if (info < 0) return RMT_ERR(RMT_ERUNTIME, "dgelqf: argument %d had an illegal value (bug)", (int)-info);
    if (info > 0) return RMT_ERR(RMT_ERUNTIME, "dgelqf failed (info %d)", (int)info);
    for (lapack_int j = 0; j < r; j++)
        for (lapack_int i = 0; i < r; i++) l[i + (size_t)j * (size_t)r] = i >= j ? a[i + (size_t)j * (size_t)lda] : 0.0;
    return RMT_OK;
}

/* Eigenvalues of X^T X for X (r x c, leading dimension ldx) into
 * w[0 .. c): through the smaller of X^T X and X X^T, with c - r exact
 * zeros when r < c. g holds min(r, c)^2 doubles. */
static rmt_status gram_of(rmt_solver *s, lapack_int r, lapack_int c, const double *x, lapack_int ldx, double *g,
                          double *w, int64_t *zeros, int *info)
{
    lapack_int m = r < c ? r : c;
    if (r < c)
        cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, m, c, 1.0, x, ldx, 0.0, g, m);
    else
        cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, m, r, 1.0, x, ldx, 0.0, g, m);
    *zeros = (int64_t)c - m;
    RMT_TRY(rmt_solve_symmetric(s, m, g, m, w + *zeros, info));
    rmt_solve_add_zeros(w, *zeros, m);
    return RMT_OK;
}

static rmt_status product_gram(rmt_solver *s, const emap *m, int nm, double *buf[2], double *l, double *g, double *w,
                               int64_t *structural, int *info)
{
    lapack_int n0 = m[0].cols;
    int ri = 0;
    for (int i = 1; i < nm; i++)
        if (m[i].rows < m[ri].rows) ri = i;
    lapack_int r = m[ri].rows;
    if (r >= n0) {
        const double *p = apply_chain(m, 0, nm, NULL, 0, n0, buf);
        return gram_of(s, m[nm - 1].rows, n0, p, m[nm - 1].rows, g, w, structural, info);
    }
    /* P = B A through the thin dimension r: A = L Q, and P^T P = Q^T (B L)^T (B L) Q */
    double *a = (double *)apply_chain(m, 0, ri + 1, NULL, 0, n0, buf);
    RMT_TRY(lq_factor(r, n0, a, r, l));
    const double *x = apply_chain(m, ri + 1, nm, l, r, r, buf);
    int64_t inner = 0;
    RMT_TRY(gram_of(s, m[nm - 1].rows, r, x, m[nm - 1].rows, g, w + (n0 - r), &inner, info));
    *structural = (int64_t)(n0 - r) + inner;
    rmt_solve_add_zeros(w, n0 - r, r);
    return RMT_OK;
}

static rmt_status product_similar(rmt_solver *s, int nf, const rmt_solve_factor *f, double *buf[2], double *l,
                                  double *g, double *w, int64_t *structural, int *info)
{
    lapack_int n = 0, tw = 0, lda = 0;
    if (nf == 1) {
        RMT_TRY(to_lapack_int(f[0].rows, &n));
        if (f[0].gram) return rmt_solve_gram(s, f[0].rows, f[0].cols, f[0].a, f[0].lda, w, structural, info);
        for (lapack_int j = 0; j < n; j++) memcpy(g + (size_t)j * (size_t)n, f[0].a + (size_t)j * (size_t)f[0].lda, sizeof(double) * (size_t)n);
        *structural = 0;
        return rmt_solve_symmetric(s, n, g, n, w, info);
    }
    /* P = F2 F1 with W = Y Y^T one of them and S the other: eig(S W) = eig(Y^T S Y) + zeros */
    int iw = f[0].gram ? 0 : 1;
    const rmt_solve_factor *W = &f[iw], *S = &f[1 - iw];
    RMT_TRY(to_lapack_int(W->rows, &n));
    RMT_TRY(to_lapack_int(W->cols, &tw));
    RMT_TRY(to_lapack_int(W->lda, &lda));
    const double *y = W->a;
    lapack_int ldy = lda, mp = tw;
    if (tw > n) {
        /* a wide Y = L Q: Y Y^T = L L^T, and eig(S L L^T) = eig(L^T S L) */
        for (lapack_int j = 0; j < tw; j++) memcpy(buf[0] + (size_t)j * (size_t)n, y + (size_t)j * (size_t)lda, sizeof(double) * (size_t)n);
        RMT_TRY(lq_factor(n, tw, buf[0], n, l));
        y = l;
        ldy = n;
        mp = n;
    }
    lapack_int lds = 0, ts = 0;
    RMT_TRY(to_lapack_int(S->lda, &lds));
    RMT_TRY(to_lapack_int(S->cols, &ts));
    int64_t inner = 0;
    if (S->gram) {
        /* S = V V^T: Y^T V V^T Y = C^T C with C = V^T Y (ts x mp) */
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, ts, mp, n, 1.0, S->a, lds, y, ldy, 0.0, buf[1], ts);
        RMT_TRY(gram_of(s, ts, mp, buf[1], ts, g, w + (n - mp), &inner, info));
    } else {
        /* Y^T H Y, symmetric */
        cblas_dsymm(CblasColMajor, CblasLeft, CblasLower, n, mp, 1.0, S->a, lds, y, ldy, 0.0, buf[1], n);
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, mp, mp, n, 1.0, y, ldy, buf[1], n, 0.0, g, mp);
        RMT_TRY(rmt_solve_symmetric(s, mp, g, mp, w + (n - mp), info));
    }
    *structural = (int64_t)(n - mp) + inner;
    rmt_solve_add_zeros(w, n - mp, mp);
    return RMT_OK;
}

/* Doubles of scratch rmt_solve_product needs: nb in each of the two chain
 * buffers, nl for L, ng for the matrix diagonalized (which mirror the
 * paths of product_gram and product_similar). */
static void product_scratch(int form, int nf, const rmt_solve_factor *f, size_t *nb, size_t *nl, size_t *ng)
{
    int64_t rows[2 * RMT_MAX_FACTORS] = {0};
    int nm = 0;
    for (int i = 0; i < nf; i++) {
        if (f[i].gram) rows[nm++] = f[i].cols;
        rows[nm++] = f[i].rows;
    }
    const size_t n0 = (size_t)(f[0].gram ? f[0].rows : f[0].cols);
    size_t big = 0;
    for (int i = 0; i < nm; i++) big = (size_t)rows[i] > big ? (size_t)rows[i] : big;
    *nb = big * n0;
    *nl = 1;
    *ng = n0 * n0;
    if (form == RMT_PROD_GRAM) {
        int ri = 0;
        for (int i = 1; i < nm; i++)
            if (rows[i] < rows[ri]) ri = i;
        size_t r = (size_t)rows[ri];
        if (r < n0) {
            /* before the thin dimension the chain is d x N0, after it d x r */
            *nb = 0;
            for (int i = 0; i < nm; i++) {
                size_t sz = (size_t)rows[i] * (i <= ri ? n0 : r);
                if (sz > *nb) *nb = sz;
            }
            *nl = *ng = r * r;
        }
    } else if (form == RMT_PROD_SIMILAR && nf == 2) {
        const rmt_solve_factor *W = &f[f[0].gram ? 0 : 1], *S = &f[f[0].gram ? 1 : 0];
        size_t n = (size_t)W->rows, tw = (size_t)W->cols, mp = tw < n ? tw : n;
        size_t ts = S->gram ? (size_t)S->cols : n;
        *nb = ts * mp > (tw > n ? n * tw : 0) ? ts * mp : n * tw;
        *nl = tw > n ? n * n : 1;
        *ng = mp * mp;
    } else if (form == RMT_PROD_SIMILAR) {
        *nb = 1;
    }
}

double rmt_solve_product_bytes(int form, int nf, const rmt_solve_factor *f)
{
    size_t nb, nl, ng;
    if (nf < 1 || nf > RMT_MAX_FACTORS) return 0.0;
    product_scratch(form, nf, f, &nb, &nl, &ng);
    /* plus the eigensolver's workspace, O(size) for eigenvalues only */
    return 8.0 * (2.0 * (double)nb + (double)nl + 2.0 * (double)ng);
}

rmt_status rmt_solve_product(rmt_solver *s, int form, int nf, const rmt_solve_factor *f, double *w,
                             int64_t *structural, int *info)
{
    emap m[2 * RMT_MAX_FACTORS];
    int nm = 0;
    *structural = 0;
    *info = 0;
    if (nf < 1 || nf > RMT_MAX_FACTORS) return RMT_ERR(RMT_ERUNTIME, "product of %d factors (bug)", nf);
    for (int i = 0; i < nf; i++) {
        lapack_int r = 0, c = 0, ld = 0;
        RMT_TRY(to_lapack_int(f[i].rows, &r));
        RMT_TRY(to_lapack_int(f[i].cols, &c));
        RMT_TRY(to_lapack_int(f[i].lda, &ld));
        if (f[i].gram) {
            /* Y Y^T acts as Y^T, then Y */
            m[nm++] = (emap){f[i].a, ld, c, r, 1};
            m[nm++] = (emap){f[i].a, ld, r, c, 0};
        } else {
            m[nm++] = (emap){f[i].a, ld, r, c, 0};
        }
    }
    lapack_int n0 = m[0].cols;
    size_t nb, nl, ng;
    product_scratch(form, nf, f, &nb, &nl, &ng);
    double *buf[2] = {malloc(sizeof(double) * (nb ? nb : 1)), malloc(sizeof(double) * (nb ? nb : 1))};
    double *l = malloc(sizeof(double) * (nl ? nl : 1));
    double *g = malloc(sizeof(double) * (ng ? ng : 1));
    rmt_status st = RMT_OK;
    if (!buf[0] || !buf[1] || !l || !g) {
        st = RMT_ERR(RMT_ERUNTIME, "out of memory for a product of %d factors (N0 = %d)", nf, (int)n0);
        goto out;
    }
    switch (form) {
    case RMT_PROD_GRAM:
        st = product_gram(s, m, nm, buf, l, g, w, structural, info);
        break;
    case RMT_PROD_SIMILAR:
        st = product_similar(s, nf, f, buf, l, g, w, structural, info);
        break;
    case RMT_PROD_SYMPART: {
        const double *p = apply_chain(m, 0, nm, NULL, 0, n0, buf);
        for (lapack_int j = 0; j < n0; j++)
            for (lapack_int i = j; i < n0; i++)
                g[i + (size_t)j * (size_t)n0] = 0.5 * (p[i + (size_t)j * (size_t)n0] + p[j + (size_t)i * (size_t)n0]);
        st = rmt_solve_symmetric(s, n0, g, n0, w, info);
        break;
    }
    default:
        st = RMT_ERR(RMT_ERUNTIME, "unknown product form %d (bug)", form);
        break;
    }
out:
    free(buf[0]);
    free(buf[1]);
    free(l);
    free(g);
    return st;
}
