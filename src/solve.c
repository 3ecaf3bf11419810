#include "solve.h"

#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS's thread control; declared here to avoid depending on its cblas.h variant. */
void openblas_set_num_threads(int num_threads);

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
};

static const char *const driver_names[RMT_DRIVER_COUNT] = {"dsyevd", "dsyevr", "dsyev", "dsyevd_2stage",
                                                          "dsyev_2stage"};

rmt_solver *rmt_solve_create(int driver)
{
    rmt_solver *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->driver = RMT_DRIVER_SYEVR;
    const char *env = getenv("RMT_EIG_DRIVER");
    if (driver >= 0 && driver < RMT_DRIVER_COUNT) {
        s->driver = driver;
        s->fixed = 1;
    } else if (env && strcmp(env, "auto")) {
        for (int d = 0; d < RMT_DRIVER_COUNT; d++)
            if (!strcmp(env, driver_names[d] + 1) || !strcmp(env, driver_names[d])) {
                s->driver = d;
                s->fixed = 1;
            }
    }
    /* with several BLAS threads per rank the one-stage drivers win at every n */
    const char *th = getenv("RMT_BLAS_THREADS");
    const char *mn = getenv("RMT_EIG_2STAGE_MIN");
    s->two_stage_min = th && atoi(th) > 1 ? INT64_MAX : TWO_STAGE_MIN_DEFAULT;
    if (mn && atoll(mn) > 0) s->two_stage_min = atoll(mn);
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
    free(s);
}

const char *rmt_solve_driver_name(const rmt_solver *s) { return driver_names[s->driver]; }

const char *rmt_solve_describe(const rmt_solver *s, char *buf, size_t len)
{
    if (s->fixed || s->two_stage_min == INT64_MAX)
        snprintf(buf, len, "%s", s->fixed ? driver_names[s->driver] : "dsyevr");
    else
        snprintf(buf, len, "dsyevr for n < %lld, dsyevd_2stage for n >= %lld", (long long)s->two_stage_min,
                 (long long)s->two_stage_min);
    return buf;
}

void rmt_solve_init_threads(void)
{
    const char *env = getenv("RMT_BLAS_THREADS");
    int t = env ? atoi(env) : 1;
    openblas_set_num_threads(t > 0 ? t : 1);
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
    double wq = 0;
    lapack_int iq = 0, info = 0, m = 0;
    switch (s->driver) {
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
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
    for (int64_t i = 0; i < zeros; i++) w[i] = 0.0;
    /* rounding can leave computed eigenvalues slightly negative: keep w ascending */
    if (zeros > 0 && m > 0 && w[zeros] < 0.0) qsort(w, (size_t)rows, sizeof(double), cmp_double);
    *structural = zeros;
    return RMT_OK;
}
