/* solve (process grids): eigenvalues of a matrix distributed block-cyclically
 * over a BLACS grid of the ranks of one group, through ScaLAPACK. Part of
 * the solve module: the only user of BLACS and ScaLAPACK.
 *
 * A grid is created once per group (and per phase of a run), never per
 * draw; its workspaces grow with n and are reused. */
#ifndef RMT_SOLVE_GRID_H
#define RMT_SOLVE_GRID_H

#include <mpi.h>
#include <stdint.h>

#include "err.h"

#define RMT_GRID_NB 64 /* block size of the block-cyclic distribution */

typedef struct rmt_grid rmt_grid;

/* The grid shape for p ranks: nprow x npcol, as square as p allows, with
 * nprow <= npcol (1x1, 1x2, 1x3, 2x2, 2x3, ...). Not collective. */
void rmt_grid_shape_for(int p, int *nprow, int *npcol);

/* A grid over all ranks of comm. Collective on comm. NULL on failure. */
rmt_grid *rmt_grid_create(MPI_Comm comm);

/* Release the grid and its BLACS context. Collective on the grid's comm;
 * accepts NULL. */
void rmt_grid_destroy(rmt_grid *g);

/* Rows (or columns) of a global dimension n this rank holds: NUMROC. */
int64_t rmt_grid_local(const rmt_grid *g, int64_t n, int is_col);

/* Global index of local row (is_col = 0) or column (1) index l. */
int64_t rmt_grid_global(const rmt_grid *g, int64_t l, int is_col);

/* Bytes one rank needs for one draw of an n x n symmetric eigenproblem on
 * p ranks with driver (RMT_GRID_*, 0: the default): local matrix,
 * eigenvalues, the solver's workspace (measured for PDSYEVR and ELPA). */
double rmt_grid_bytes(int64_t n, int p, int driver);

/* Throughput of a p-rank group with driver at size n relative to p ranks
 * each diagonalizing its own draw with LAPACK (1 = no loss): measured at
 * p = 2 on the reference machine and interpolated in log n; p ranks at n
 * are taken to match 2 ranks with the same local matrix, at n sqrt(2 / p);
 * 0 (unknown, so not chosen) for a local matrix smaller than any measured.
 * Not collective. */
double rmt_grid_efficiency(int driver, int64_t n, int p);

/* 1 when RMT_GRID_DRIVER names the grid solver for the whole run. */
int rmt_grid_driver_forced(void);

/* The RMT_GRID_* a name gives: 0 for "auto", -1 for a name that is none
 * of auto, pdsyev, pdsyevr, elpa. The config's "solver" and
 * RMT_GRID_DRIVER take these names. */
int rmt_grid_driver_by_name(const char *name);

/* RMT_GRID_DRIVER is unset, empty, auto, pdsyev, pdsyevr or elpa
 * (RMT_EUSAGE otherwise). */
rmt_status rmt_grid_check_env(void);

/* Eigenvalues (ascending, on every rank of the grid) of the symmetric n x n
 * matrix whose local part a (lld rows, from rmt_grid_local) this rank holds;
 * a is destroyed. *info: 0 or > 0 (a draw failure). Collective on the grid. */
rmt_status rmt_grid_symmetric(rmt_grid *g, int64_t n, double *a, int64_t lld, double *w, int *info);

/* Eigenvalues of Z Z^T for Z rows x cols held block-cyclically (local part z,
 * lld rows): forms the smaller Gram matrix with PDSYRK, diagonalizes it and
 * adds rows - min(rows, cols) exact zeros (*structural). w[rows] on every
 * rank. Collective on the grid. */
rmt_status rmt_grid_gram(rmt_grid *g, int64_t rows, int64_t cols, const double *z, int64_t lld, double *w,
                         int64_t *structural, int *info);

/* Drivers for grids. RMT_GRID_ELPA falls back to PDSYEV in a build
 * without ELPA (rmt_grid_have_elpa() says which). */
enum { RMT_GRID_PDSYEV = 1, RMT_GRID_PDSYEVR = 2, RMT_GRID_ELPA = 3 };
void rmt_grid_set_driver(rmt_grid *g, int driver); /* 0: the default (RMT_GRID_DRIVER, else PDSYEV) */
int rmt_grid_have_elpa(void);

/* The name of the driver a point with grid_solver = driver (0: the default)
 * runs on a grid. Not collective. */
const char *rmt_grid_solver_name(int driver);

/* 1 when ELPA solved the grid's last draw (RMT_GRID_DRIVER=elpa or the
 * config's "solver" in a build with ELPA, and n large enough for it). */
int rmt_grid_uses_elpa(const rmt_grid *g);

/* 1 when the grid uses PDSYEV, 0 for PDSYEVR. */
int rmt_grid_uses_pdsyev(const rmt_grid *g);

/* One factor of a product as a linear map x -> op(A) x, A rows x cols held
 * block-cyclically (local part a, lld rows), op(A) = A^T when trans. */
typedef struct {
    const double *a;
    int64_t rows, cols, lld;
    int trans;
} rmt_grid_map;

/* Eigenvalues (ascending, n0 = input dimension of m[0]) of P^T P for the
 * chain P = m[nm-1] ... m[0], with PDGEMM. When the chain narrows to R < n0
 * somewhere (its thinnest output), only an R x R matrix is diagonalized:
 * with A the chain up to there (A A^T = L L^T, PDPOTRF) and B the rest,
 * the nonzero spectrum is that of (B L)^T (B L); n0 - R exact zeros are
 * added (*structural). Collective on the grid. */
rmt_status rmt_grid_gram_chain(rmt_grid *g, int nm, const rmt_grid_map *m, double *w, int64_t *structural, int *info);

/* Eigenvalues (ascending, n0 of them) of (P + P^T) / 2 for the square
 * chain P = m[nm-1] ... m[0] (n0 x n0), with PDGEMM and PDTRAN. Collective
 * on the grid. */
rmt_status rmt_grid_sympart_chain(rmt_grid *g, int nm, const rmt_grid_map *m, double *w, int *info);

/* Eigenvalues (ascending, n = y->rows of them) of S W with W = Y Y^T (y:
 * n x tw, not transposed) and S either symmetric n x n (s_gram = 0, lower
 * triangle read) or V V^T (s_gram = 1, s: V n x ts). They are those of the
 * symmetric Y^T S Y plus n - min(n, tw) exact zeros; a wide Y (tw > n) is
 * first replaced by L from Y = L Q (PDGELQF), L L^T = Y Y^T. *structural
 * counts the exact zeros. Collective on the grid. */
rmt_status rmt_grid_similar(rmt_grid *g, const rmt_grid_map *y, const rmt_grid_map *s, int s_gram, double *w,
                            int64_t *structural, int *info);

/* Name of the ScaLAPACK driver: "pdsyev", or "pdsyevr" with RMT_GRID_DRIVER=pdsyevr. */
const char *rmt_grid_driver(const rmt_grid *g);

#endif
