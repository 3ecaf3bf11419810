/* draw: one draw from counter-based stream to figures: fill (ensemble),
 * diagonalize (solve), measure (stats). No MPI; one rank, whole matrix.
 * A context keeps buffers and the solver between draws. */
#ifndef RMT_DRAW_H
#define RMT_DRAW_H

#include "config.h"
#include "err.h"
#include "stats.h"

typedef struct rmt_draw_ctx rmt_draw_ctx;

rmt_draw_ctx *rmt_draw_create(void);

/* The figures of a draw that has none (failed, or not run): NaN. */
void rmt_draw_no_figures(rmt_draw_figs *f);

/* Monotonic seconds: the clock draws/seconds is measured by, and the one
 * the farm uses too. */
double rmt_draw_now(void);

/* CPU seconds of the calling thread (`check --time`'s draws: with one BLAS
 * thread a draw runs in it, so other load on the machine does not count). */
double rmt_draw_cpu_now(void);
void rmt_draw_destroy(rmt_draw_ctx *c); /* accepts NULL */

/* Run draw `draw` of point pt. Fills *f (status included: a solver failure
 * is a recorded result, not an error), writes density counts into
 * counts[pt->stat.bins] (zeroed here), and, when eig is not NULL, the
 * spectrum into eig[n]. Returns RMT_ERUNTIME only on resource failures. */
rmt_status rmt_draw_run(rmt_draw_ctx *c, const rmt_point *pt, uint32_t draw, rmt_draw_figs *f, uint64_t *counts,
                        double *eig);

/* The same draw on a process grid: every rank of the grid's group calls it
 * (collective on the group), fills only its block-cyclic part of the
 * matrix, and gets the whole spectrum; the figures are the same on every
 * rank. For symmetric and Gram forms (others stay on one rank). */
struct rmt_grid;
rmt_status rmt_draw_run_grid(rmt_draw_ctx *c, struct rmt_grid *g, const rmt_point *pt, uint32_t draw,
                             rmt_draw_figs *f, uint64_t *counts, double *eig);

/* Fault injection for tests: RMT_FAIL_DRAWS="p:d,p:d,..." makes those draws
 * report status 99 as if the solver had failed. Off unless set. */
int rmt_draw_injected_failure(uint32_t point, uint32_t draw);
/* RMT_FAIL_DRAWS unset, empty or of that form; otherwise an error. */
rmt_status rmt_draw_check_env(void);

#endif
