/* farm: the master/worker protocol on MPI_COMM_WORLD.
 *
 * Rank 0 hands out batches of consecutive draws (point, first draw, k) and
 * keeps a few in flight per worker so none waits, but never more than the
 * worker's share of what is left, so the last draws do not queue behind one
 * rank; workers compute the draws and send back, without waiting for the
 * master, each draw's figures and (when asked) spectrum and the batch's
 * summed integer counts. The master records results by draw index, so
 * nothing depends on which rank did what or in which order results
 * arrived. With few ranks the master computes draws too, so P ranks on P
 * cores keep P cores busy; with many it only dispatches, sleeping between
 * polls rather than spinning. */
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

/* Install the signal handlers that ask the master to stop (all ranks). */
void rmt_farm_install_signals(void);

#endif
