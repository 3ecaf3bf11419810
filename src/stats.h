/* stats: what is measured on one spectrum, and how per-draw figures
 * combine into a point's estimates. No MPI; pure functions. */
#ifndef RMT_STATS_H
#define RMT_STATS_H

#include <stdint.h>

#include "config.h"

/* Drivers, as recorded per draw in draws/solver. */
enum {
    RMT_SOLVER_NONE = 0,        /* diagonal: the eigenvalues are the entries */
    RMT_SOLVER_LAPACK0 = 1,     /* + rmt_driver: dsyevd, dsyevr, dsyev, dsyevd_2stage, dsyev_2stage */
    RMT_SOLVER_PDSYEV = 10,
    RMT_SOLVER_PDSYEVR = 11,
    RMT_SOLVER_ELPA = 12
};
#define RMT_SOLVER_NAMES "{\"0\":\"none\",\"1\":\"dsyevd\",\"2\":\"dsyevr\",\"3\":\"dsyev\",\"4\":\"dsyevd_2stage\",\"5\":\"dsyev_2stage\",\"10\":\"pdsyev\",\"11\":\"pdsyevr\",\"12\":\"elpa\"}"

/* Figures of one draw. */
typedef struct {
    uint32_t point, draw;     /* which draw this is */
    int32_t status;           /* 0 ok; > 0 LAPACK INFO; -1 non-finite eigenvalues */
    int32_t solver;           /* eigenvalue driver used: RMT_SOLVER_* (0 when none was needed) */
    int64_t structural_zeros; /* exact zeros added for a thin factor */
    double zero_fraction;     /* fraction of eigenvalues with |lambda| <= tol */
    double lambda_min, lambda_max;
    double mean_gap_ratio;    /* NaN until gap ratios are measured */
    double seconds;           /* wall time of the draw */
    uint64_t below, above;    /* density: eigenvalues outside the range */
    double moments[RMT_MAX_MOMENTS]; /* (1/n) tr H^k, k = 1..K */
} rmt_draw_figs;

/* Integer counts a draw produces: density bins, then gap-ratio bins and
 * the count of gap ratios above their max (when gap ratios are on). */
int64_t rmt_stats_ncounts(const rmt_statcfg *cfg);

/* 1 when the master needs every draw's spectrum: to store it, or to unfold
 * it against the others for spacings. */
int rmt_stats_needs_spectra(const rmt_statcfg *cfg);

/* "pool", "theory" or "polynomial" (the config's and the file's names);
 * "" for none. */
const char *rmt_unfolding_name(int unfolding);

/* Measure the ascending spectrum w[n] of one draw: fills the figures other
 * than point/draw/seconds/status/structural_zeros, and adds its counts into
 * counts[rmt_stats_ncounts(cfg)] (which the caller zeroes per draw): the
 * density histogram, then the gap-ratio histogram and the ratios above it
 * (eigenvalues within the zero tolerance dropped first). */
void rmt_stats_draw(const rmt_statcfg *cfg, int64_t n, const double *w, rmt_draw_figs *f, uint64_t *counts);

/* The histogram bin of x on [lo, hi] with bins bins: -1 below, bins above.
 * Bins are [e_k, e_k+1), the last one closed; edges e_k = lo + k (hi - lo) / bins. */
int64_t rmt_stats_bin(double x, double lo, double hi, int64_t bins);

/* Edge k of such a histogram (exactly the value the bins are tested against). */
double rmt_stats_edge(double lo, double hi, int64_t bins, int64_t k);

/* Mean and standard error (sample sd / sqrt(m)) of the finite values among
 * x[0..m), summed in index order. NaN when none; stderr NaN when one. */
void rmt_stats_mean_stderr(const double *x, int64_t m, int64_t stride, double *mean, double *stderr_out);

/* The zero tolerance "auto": n * eps * max|lambda|, as numerical-rank rules use. */
double rmt_stats_auto_tol(int64_t n, const double *w);

#endif
