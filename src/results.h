/* results: the master's in-memory record of a run: every finished draw's
 * figures by index, and integer histogram counts summed exactly. No MPI,
 * no HDF5; farm fills it, h5out writes and reads it. */
#ifndef RMT_RESULTS_H
#define RMT_RESULTS_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "err.h"
#include "local.h"
#include "stats.h"

typedef struct {
    uint32_t done;          /* finished draws (failed ones included) */
    uint32_t failed;        /* draws whose status is not 0 */
    double seconds;         /* sum of the finished draws' seconds (for the time left) */
    uint8_t *have;          /* [draws] 1 when draw finished */
    rmt_draw_figs *figs;    /* [draws] by draw index */
    uint64_t *counts;       /* [bins] density counts of the finished draws */
    uint64_t below, above;  /* density: outside the range */
    double *eig;            /* [draws * n] spectra, when stored or unfolded (rmt_stats_needs_spectra) */
    rmt_local local;        /* spacings, from rmt_results_finalize() */
} rmt_point_result;

typedef struct rmt_journal rmt_journal;

typedef struct {
    const rmt_plan *plan;   /* borrowed; must outlive the results */
    rmt_point_result *pts;  /* [plan->npoints] */
    uint32_t p_begin, p_end; /* the points this run computes: [p_begin, p_end) */
    uint32_t slice_i, slice_k; /* --points I/K (0/1 for the whole sweep) */
    uint64_t total_draws;   /* sum of draws requested in [p_begin, p_end) */
    uint64_t done_draws;    /* sum of done */
    uint64_t failed_draws;  /* sum of failed */
    double seconds;         /* sum of every point's seconds */
    char created_utc[32];   /* when the run (first) started */
    int64_t *peak_rss;      /* [nranks] peak resident bytes of each rank, gathered at the end; NULL before */
    int nranks;
    /* the master's own accounting of this run (rank 0; zero when no other
     * group sent results): draws it received from other groups, wall
     * seconds spent receiving, recording and answering them, seconds in
     * checkpoints, and the farm's wall seconds */
    uint64_t master_received;
    double master_busy_s, master_ckpt_s, master_run_s;
    /* checkpoints: the id of the last full one (an attribute of the file;
     * 0 before the first), and where draws and counts are journalled
     * until the next (NULL: not journalled) */
    uint64_t ckpt_id;
    rmt_journal *journal;
    uint64_t journal_keep;  /* the intact bytes of the journal a resume applied (0: none) */
    int restored;           /* 1: restored from the output file (a resumed run) */
    int batch;              /* 1: a batch of merge's points (rmt_results_create_batch) */
} rmt_results;

/* Results of slice i of k of the plan's points (contiguous, in point
 * order: points [i P / k, (i + 1) P / k), for job arrays; k = 0: all).
 * Only the slice's points get rows for their draws (and spectra); the
 * others are written as points with no draws done. */
rmt_status rmt_results_create(const rmt_plan *plan, uint32_t slice_i, uint32_t slice_k, rmt_results **out);

/* Results of points [begin, end) of the whole sweep, a batch of those
 * merge holds at once: restoring reads only these points of a file (the
 * others are another batch's), and a journal's records of other points
 * are left aside. */
rmt_status rmt_results_create_batch(const rmt_plan *plan, uint32_t begin, uint32_t end, rmt_results **out);

/* Bytes rank 0 holds at its peak for the draws of points [begin, end):
 * every draw's row and, where spacings or output.eigenvalues need them,
 * every spectrum; on top of those, at each checkpoint, unfolding one
 * point's spectra takes three more copies of them (rmt_local_spacings),
 * and writing one point takes a copy of its spectra and its rows by
 * column (h5out.c). *biggest: the point whose spectra
 * weigh most (UINT32_MAX when none are kept). */
double rmt_results_bytes(const rmt_plan *plan, uint32_t begin, uint32_t end, uint32_t *biggest);

/* Bytes per draw that writing or restoring a point copies its rows into,
 * column by column (write_point in h5out.c): index, structural zeros,
 * status and solver, six figures, and the moments. */
double rmt_results_column_bytes(const rmt_point *pt);

void rmt_results_destroy(rmt_results *r); /* accepts NULL */

/* Record one draw. A draw already recorded is ignored (returns RMT_OK), so
 * a resumed or repeated draw can never be counted twice. eig may be NULL;
 * counts may be NULL when they arrive summed (rmt_results_add_counts). */
rmt_status rmt_results_add(rmt_results *r, const rmt_draw_figs *f, const uint64_t *counts, const double *eig);

/* Add the histogram counts of a batch of draws of point, summed by the
 * worker that ran them. Unlike rmt_results_add this cannot tell a draw
 * counted twice: the farm hands out only draws not yet recorded. */
void rmt_results_add_counts(rmt_results *r, uint32_t point, const uint64_t *counts);

/* Restore a draw read back from a checkpoint: like rmt_results_add but the
 * histogram counts are restored separately (as the file's totals). */
void rmt_results_restore_draw(rmt_results *r, const rmt_draw_figs *f, const double *eig);

/* Compute what needs all finished draws at once (spacings after unfolding)
 * for every point that asks for it. Call before writing. */
rmt_status rmt_results_finalize(rmt_results *r);

/* Print to `notes` a note for each point whose density range missed more
 * than 1 % of the eigenvalues. Then, for the points that measure them, the
 * mean gap ratio and the spacings (unfolding, count, mean, variance, KS
 * distance to GOE) to `to` (at most 20 points; more: "... in OUT
 * (/points)"), and to `notes` a note for each point whose unfolded
 * spacings have a mean far from 1 (an unfolding that failed); no table
 * when no point measures them. */
void rmt_results_print_local(const rmt_results *r, FILE *to, FILE *notes, const char *out);

/* A point's estimate of figure `field` over its successful draws, summed in
 * draw order: field is one of "zero_fraction", "mean_gap_ratio", "lambda_max", "moment"
 * (with k = 1..K). */
void rmt_results_estimate(const rmt_results *r, uint32_t point, const char *field, int k, double *mean,
                          double *stderr_out);

#endif
