/* farm: the master/worker protocol on MPI_COMM_WORLD.
 *
 * Rank 0 hands out batches of consecutive draws (point, first draw, k) and
 * keeps a few in flight per worker so none waits, but never more than the
 * worker's share of what is left, so the last draws do not queue behind one
 * rank; workers compute the draws and send back, without waiting for the
 * master, each draw's figures and (when asked) spectrum and the batch's
 * summed integer counts. The master records results by draw index, so
 * nothing depends on which rank did what or in which order results
 * arrived. The master computes one-rank draws too, in a second thread, so
 * P ranks on P cores keep P cores busy and it still answers at once; on
 * process grids its group computes between answers with few ranks, and
 * with many only dispatches. It sleeps between polls rather than spinning. */
#ifndef RMT_FARM_H
#define RMT_FARM_H

#include "config.h"
#include "err.h"
#include "h5out.h"
#include "results.h"

typedef enum { RMT_PROGRESS_AUTO, RMT_PROGRESS_BAR, RMT_PROGRESS_LOG, RMT_PROGRESS_NONE } rmt_progress;

typedef struct {
    const char *output_path;   /* master: where checkpoints and the result go */
    rmt_h5_meta meta;          /* master: file metadata */
    rmt_progress progress;     /* master: how to report progress on stderr */
    double checkpoint_seconds; /* master: 0 = only at the end */
    int64_t checkpoint_draws;  /* master: also every this many draws; 0 = not by count */
    int64_t max_failures;      /* master: stop once more draws failed; -1 = never */
} rmt_farm_opts;

/* Run every draw of plan not yet in res. Collective on MPI_COMM_WORLD:
 * every rank calls it with the same plan->points; res and opts matter on
 * rank 0 only (pass NULL elsewhere). On rank 0 writes checkpoints and the
 * final file. Returns RMT_EINTERRUPT when stopped by SIGTERM/SIGINT/SIGUSR1
 * after writing a checkpoint. */
rmt_status rmt_farm_run(const rmt_plan *plan, rmt_results *res, const rmt_farm_opts *opts);

/* The master's rule for how many draws to send a group next: `natural`
 * (by a draw's expected time and bytes), at most a twelfth of a fair share
 * of the `left` draws not yet handed out, at least 1, and never past the
 * group's share of all the work not done, ceil((left + queued_all) /
 * sharers), where `queued` draws are already sent to it and not returned
 * and `queued_all` to all groups. 0: it holds its share; let it work
 * through its queue first (never when queued is 0). Pure; exposed for
 * tests, which check that it leaves no end-of-run tail. */
uint64_t rmt_farm_batch(uint64_t natural, uint64_t left, uint64_t queued_all, uint64_t queued, uint64_t sharers);

/* Draws per batch by time (BATCH_SECONDS of estimated work), bytes and
 * BATCH_MAX alone, for the point of the next undone draw of `g` ranks per
 * draw from (point p, draw d) on: the cursor may sit at the end of a point
 * already handed out, and the next point may cost far more. Exposed for
 * tests. */
uint64_t rmt_farm_natural_batch(const rmt_plan *plan, const rmt_results *res, int g, uint32_t p, uint32_t d);

/* Whether the master, which answers no one while it computes, may take a
 * draw of `own` flops now: not while it costs more than MASTER_DRAW_RATIO
 * (2) times a draw of the last batch sent to any group with draws
 * outstanding (tail[k], outstanding[k], groups 1 .. ng - 1), which could
 * then run dry waiting for it. Pure; exposed for tests. */
int rmt_farm_master_may_compute(double own, const double *tail, const int *outstanding, int ng);

/* Whether rank 0 may run its own one-rank draws in a second thread (MPI
 * provides MPI_THREAD_FUNNELED); by default it may. */
void rmt_farm_threads_allowed(int yes);

/* Whether rank 0 left a draw of its own running when the run stopped (a
 * signal, a failure): the point it reads must then stay allocated, and the
 * process should end with _exit once its output is flushed, without the
 * libraries' exit handlers (OpenBLAS would free buffers the draw uses). */
int rmt_farm_draw_abandoned(void);

/* Install the signal handlers that ask the master to stop (all ranks). */
void rmt_farm_install_signals(void);

#endif
