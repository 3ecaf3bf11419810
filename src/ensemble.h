/* ensemble: what matrix a draw is, entry by entry. No MPI, no LAPACK.
 *
 * Every entry is a pure function of (stream, i, j) through rng, so a rank
 * can fill any block of a matrix (the whole of it on one rank, or its
 * block-cyclic part on a process grid) and get the same numbers. */
#ifndef RMT_ENSEMBLE_H
#define RMT_ENSEMBLE_H

#include <stdint.h>

#include "config.h"
#include "rng.h"

/* How a draw's spectrum is obtained from what fill() produces. */
typedef enum {
    RMT_FORM_SYMMETRIC = 1, /* fill gives a symmetric n x n matrix H */
    RMT_FORM_GRAM = 2,      /* fill gives a factor Z (rows x cols); spectrum of Z Z^T (n = rows) */
    RMT_FORM_DIAGONAL = 3   /* fill gives the diagonal only: the eigenvalues themselves */
} rmt_form;

typedef struct {
    int32_t form;   /* rmt_form */
    int64_t rows;   /* rows of what fill() produces */
    int64_t cols;   /* columns of it (= rows unless RMT_FORM_GRAM) */
} rmt_layout;

void rmt_ensemble_layout(const rmt_ensemble *e, rmt_layout *out);

/* Fill the block [i0, i1) x [j0, j1) of the matrix or factor, in global
 * indices, into a (column-major, leading dimension lda >= i1 - i0). For
 * RMT_FORM_DIAGONAL, fills d[i - i0] for i in [i0, i1) and ignores j. */
void rmt_ensemble_fill(const rmt_ensemble *e, const rmt_stream *s, int64_t i0, int64_t i1,
                       int64_t j0, int64_t j1, double *a, int64_t lda);

/* Theoretical support [a, b] of the limiting spectrum (wishart includes 0),
 * used by "range": "auto". For diagonal (Gaussian, unbounded) a range that
 * holds all but a vanishing fraction of n samples. */
void rmt_ensemble_support(const rmt_ensemble *e, double *a, double *b);

/* Limiting mass at zero, or NaN when unknown. */
double rmt_ensemble_zero_mass_theory(const rmt_ensemble *e);

/* Bytes one rank needs to diagonalize one draw alone (matrix, factor,
 * eigenvalues and LAPACK workspace). */
double rmt_ensemble_bytes(const rmt_ensemble *e);

/* Floating-point operations of one draw, for the plan's work estimate. */
double rmt_ensemble_flops(const rmt_ensemble *e);

#endif
