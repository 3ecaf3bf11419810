/* h5out: the only user of HDF5. Writes a run's results in the "rmtmc-1"
 * layout of DESIGN.md.
 *
 * Every write goes to PATH.tmp, is flushed and fsync'ed, and is then
 * renamed over PATH: the file at PATH is always either the previous
 * checkpoint or the new one, never half-written. Not collective: only the
 * master writes. */
#ifndef RMT_H5OUT_H
#define RMT_H5OUT_H

#include "err.h"
#include "results.h"

typedef struct {
    int mpi_ranks;
    const char *command_line;
    const char *solver;        /* eigenvalue driver name */
} rmt_h5_meta;

/* Write everything in r to path atomically; complete = 1 for the final
 * result, 0 for a checkpoint. */
rmt_status rmt_h5out_write(const char *path, const rmt_results *r, const rmt_h5_meta *meta, int complete);

/* Silence HDF5's own error printing (messages go through err instead). */
void rmt_h5out_quiet(void);

#endif
