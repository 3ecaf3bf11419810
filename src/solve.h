/* solve: the only user of BLAS and LAPACK (and, for process grids,
 * BLACS/ScaLAPACK). Eigenvalues only.
 *
 * A solver owns its workspaces and reuses them from draw to draw; they
 * grow on demand and are never shrunk. Not collective. */
#ifndef RMT_SOLVE_H
#define RMT_SOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef enum {
    RMT_DRIVER_SYEVD = 0,   /* dsyevd, JOBZ = 'N' */
    RMT_DRIVER_SYEVR = 1,   /* dsyevr, RANGE = 'A' */
    RMT_DRIVER_SYEV = 2,    /* dsyev */
    RMT_DRIVER_SYEVD_2STAGE = 3,
    RMT_DRIVER_SYEV_2STAGE = 4,
    RMT_DRIVER_COUNT
} rmt_driver;

typedef struct rmt_solver rmt_solver;

/* A solver using driver (RMT_DRIVER_*), or with -1 the fastest measured on
 * this kind of machine: dsyevr below n = 2250 (RMT_EIG_2STAGE_MIN changes
 * it), dsyevd_2stage from there; one-stage throughout when
 * RMT_BLAS_THREADS > 1. RMT_EIG_DRIVER=syevd|syevr|syev|syevd_2stage|
 * syev_2stage|auto overrides. dsyevd_2stage runs as LAPACK's driver does for
 * values only, with rmtmc's band half-width (RMT_EIG_2STAGE_KD overrides; 0:
 * LAPACK's driver itself). Returns NULL when out of memory. */
rmt_solver *rmt_solve_create(int driver);

/* Doubles of workspace rmt_solve_symmetric takes at n with the automatic
 * driver choice (an estimate for memory checks, with a margin). */
double rmt_solve_work_doubles(int64_t n);
void rmt_solve_destroy(rmt_solver *s);   /* accepts NULL */

/* The driver the last call used (rmt_driver). */
int rmt_solve_last_driver(const rmt_solver *s);

/* The band half-width the two-stage driver last used with rmtmc's own
 * stages; 0 when it ran LAPACK's driver or another driver ran. */
int rmt_solve_last_band(const rmt_solver *s);

/* How the driver is chosen, for the output's "solver" attribute. */
const char *rmt_solve_describe(const rmt_solver *s, char *buf, size_t len);

/* Set BLAS threads per rank: RMT_BLAS_THREADS if set, else 1. Call once at
 * start. Returns that number. */
int rmt_solve_init_threads(void);

/* RMT_EIG_DRIVER, RMT_BLAS_THREADS, RMT_EIG_2STAGE_MIN and _KD hold what
 * they may (RMT_EUSAGE naming the variable otherwise): a typo must not
 * quietly fall back to the defaults. */
rmt_status rmt_solve_check_env(void);
/* RMT_BLAS_THREADS alone (commands that solve nothing). */
rmt_status rmt_solve_check_threads_env(void);

/* Eigenvalues of the symmetric n x n matrix a (lower triangle used; a is
 * destroyed) in ascending order into w[n]. *info is LAPACK's INFO: 0, or
 * > 0 when the algorithm failed to converge (a draw failure to record).
 * Returns RMT_ERUNTIME only for out-of-memory or n beyond LAPACK's int. */
rmt_status rmt_solve_symmetric(rmt_solver *s, int64_t n, double *a, int64_t lda, double *w, int *info);

/* Eigenvalues of Z Z^T for Z rows x cols, in ascending order into w[rows].
 * When cols < rows only the cols x cols matrix Z^T Z is diagonalized, and
 * rows - cols exact zeros are added; *structural gets that count. */
rmt_status rmt_solve_gram(rmt_solver *s, int64_t rows, int64_t cols, const double *z, int64_t ldz, double *w,
                          int64_t *structural, int *info);

/* Least squares: x minimising ||A x - b|| for A m x k (column-major, lda =
 * m; destroyed), b[m] (overwritten; x is b[0..k)). Returns LAPACK's INFO
 * (> 0: A rank-deficient). */
int rmt_solve_lstsq(int64_t m, int64_t k, double *a, double *b);

/* ------------------------------------------------------------- products */

/* One factor of a product P = Fk ... F1 as the solver sees it: a stored
 * column-major matrix a (rows x cols), which is the factor itself, or (gram)
 * a Wishart factor's Y, the factor being Y Y^T (rows x rows). */
typedef struct {
    const double *a;
    int64_t lda;
    int64_t rows, cols;   /* of the stored matrix */
    int32_t gram;         /* 1: the factor is a a^T */
    int32_t symmetric;    /* 1: a is symmetric (a wigner factor) */
} rmt_solve_factor;

/* Eigenvalues (ascending, into w[N0], N0 = input dimension of F1) of a
 * product's symmetric spectrum; form is rmt_product_form (config.h):
 *  - gram: P^T P. When the chain passes through a dimension r < N0 (a thin
 *    factor, or a Wishart factor's t), P = B A with A r x N0: A = L Q (LQ
 *    factorisation) and the nonzero eigenvalues are those of the r x r
 *    matrix (B L)^T (B L); N0 - r exact zeros are added.
 *  - similar (1 factor, or 2 with one of them Y Y^T): the eigenvalues of
 *    S Y Y^T are those of Y^T S Y (or of L^T S L with Y = L Q when Y is
 *    wide), plus exact zeros.
 *  - symmetric-part: (P + P^T)/2 of the full square P.
 * *structural gets the number of exact zeros added. The factors' storage
 * is not modified. Not collective. */
rmt_status rmt_solve_product(rmt_solver *s, int form, int nf, const rmt_solve_factor *f, double *w,
                             int64_t *structural, int *info);

/* Bytes of scratch rmt_solve_product allocates for these factors (only
 * their dimensions and gram flags are read). */
double rmt_solve_product_bytes(int form, int nf, const rmt_solve_factor *f);

/* w[zeros .. zeros + m) holds m ascending eigenvalues: move them so that
 * w[0 .. zeros + m) is ascending with `zeros` exact zeros among them. */
void rmt_solve_add_zeros(double *w, int64_t zeros, int64_t m);

#endif
