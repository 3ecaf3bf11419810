/* ensemble: what matrix a draw is, entry by entry, and what theory says
 * about its spectrum. No MPI, no LAPACK.
 *
 * Every entry is a pure function of (stream, i, j) through rng, so a rank
 * can fill any block of a matrix (the whole of it on one rank, or its
 * block-cyclic part on a process grid) and get the same numbers. That holds
 * for percolation masks (tag RMT_TAG_MASK, or RMT_TAG_FACTOR_MASK0 + f for
 * factor f of a product) and for gp-hessian's draw-wide variables and
 * outlier positions (tag RMT_TAG_SHARED) too: there is no per-rank state. */
#ifndef RMT_ENSEMBLE_H
#define RMT_ENSEMBLE_H

#include <stdint.h>

#include "config.h"
#include "rng.h"

/* How a draw's spectrum is obtained from what fill() produces. */
typedef enum {
    RMT_FORM_SYMMETRIC = 1, /* fill gives a symmetric rows x rows matrix H; `zeros` exact zeros are added */
    RMT_FORM_GRAM = 2,      /* fill gives a factor Z (rows x cols); spectrum of Z Z^T (n = rows) */
    RMT_FORM_DIAGONAL = 3,  /* fill gives the diagonal only: the eigenvalues themselves */
    RMT_FORM_PRODUCT = 4    /* each factor is filled by rmt_ensemble_fill_factor; solve combines them */
} rmt_form;

typedef struct {
    int32_t form;   /* rmt_form */
    int32_t pad_;
    int64_t rows;   /* rows of what fill() produces */
    int64_t cols;   /* columns of it (= rows unless RMT_FORM_GRAM) */
    int64_t zeros;  /* RMT_FORM_SYMMETRIC: exact zero eigenvalues beyond H's (gp-hessian degeneracy) */
} rmt_layout;

void rmt_ensemble_layout(const rmt_ensemble *e, rmt_layout *out);

/* Fill the block [i0, i1) x [j0, j1) of the matrix or factor, in global
 * indices, into a (column-major, leading dimension lda >= i1 - i0). For
 * RMT_FORM_DIAGONAL, fills d[i - i0] for i in [i0, i1) and ignores j.
 * Not for RMT_FORM_PRODUCT. */
void rmt_ensemble_fill(const rmt_ensemble *e, const rmt_stream *s, int64_t i0, int64_t i1,
                       int64_t j0, int64_t j1, double *a, int64_t lda);

/* The stored matrix of factor f (0-based) of a product: a gaussian factor
 * itself (rows x cols), a wigner factor H (n x n), or for a wishart factor
 * Y = Z / sqrt(t) with one column sqrt(theta_i) e_i per spike (n x (t +
 * nspikes)), the factor being Y Y^T; *gram says which. */
void rmt_ensemble_factor_shape(const rmt_ensemble *e, int f, int64_t *rows, int64_t *cols, int *gram);

/* Fill the block [i0, i1) x [j0, j1) of factor f's stored matrix. */
void rmt_ensemble_fill_factor(const rmt_ensemble *e, int f, const rmt_stream *s, int64_t i0, int64_t i1,
                              int64_t j0, int64_t j1, double *a, int64_t lda);

/* gp-hessian: the diagonal position (0 .. gp_n - 1) of outlier k (0 ..
 * outliers - 1) in draw s. Positions of one draw are distinct: they are a
 * pseudo-random permutation of [0, gp_n) (a Feistel network keyed by the
 * stream) applied to 0 .. outliers - 1. */
int64_t rmt_ensemble_outlier_position(const rmt_ensemble *e, const rmt_stream *s, int64_t k);

/* Theoretical support [a, b] of the limiting spectrum (wishart includes 0),
 * used by "range": "auto". For diagonal (Gaussian, unbounded) a range that
 * holds all but a vanishing fraction of n samples; where the limit is not
 * known (sparse percolation, some products) a bound or a heuristic. */
void rmt_ensemble_support(const rmt_ensemble *e, double *a, double *b);

/* Limiting mass at zero, or NaN when unknown. */
double rmt_ensemble_zero_mass_theory(const rmt_ensemble *e);

/* Every theory value of a point: the zero mass (as above), the limit of the
 * largest eigenvalue (spectral edge, or BBP outlier of a spike), and the
 * moments (1/n) tr H^k for k = 1..RMT_MAX_MOMENTS; NaN where unknown. The
 * moments are large-n limits, except for gp-hessian (whose spectrum grows
 * like sqrt(n)), where they are exact expectations at the point's n (k <= 3). */
void rmt_ensemble_theory(const rmt_ensemble *e, double *zero_mass, double *lambda_max,
                         double moments[RMT_MAX_MOMENTS]);

/* Bytes one rank needs to diagonalize one draw alone (matrix, factor,
 * eigenvalues and LAPACK workspace). */
double rmt_ensemble_bytes(const rmt_ensemble *e);

/* Floating-point operations of one draw, for the plan's work estimate. */
double rmt_ensemble_flops(const rmt_ensemble *e);

#endif
