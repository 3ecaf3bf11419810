/* h5out: the only user of HDF5. Writes a run's results in the "rmtmc-1"
 * layout of DESIGN.md.
 *
 * Every write goes to PATH.tmp, is flushed and fsync'ed, and is then
 * renamed over PATH: the file at PATH is always either the previous
 * checkpoint or the new one, never half-written. Not collective: only the
 * master writes. */
#ifndef RMT_H5OUT_H
#define RMT_H5OUT_H

#include <signal.h>

#include "err.h"
#include "results.h"

typedef struct {
    int mpi_ranks;
    const char *command_line;
    const char *solver;        /* eigenvalue driver name */
} rmt_h5_meta;

/* Write everything in r to path atomically; complete = 1 for the final
 * result, 0 for a checkpoint. A checkpoint of a point that unfolds
 * spacings holds its spectra (/points/N/eigenvalues) even when the config
 * does not ask to store them: resuming needs them; so does the file of a
 * slice of the points (--points), for merging. */
rmt_status rmt_h5out_write(const char *path, const rmt_results *r, const rmt_h5_meta *meta, int complete);

/* The same in steps, for a file written a batch of points at a time
 * (merge, which holds one batch in memory): begin creates PATH.tmp; points
 * writes points [begin, end) from r, which holds their draws; end writes
 * the summary and the root attributes (r's run records, the draws counted
 * over every batch) and moves the file into place. Every point must have
 * been written once. abandon removes PATH.tmp (after a failure elsewhere);
 * end and a failed begin need none. */
typedef struct rmt_h5_writer rmt_h5_writer;
rmt_status rmt_h5out_begin(const char *path, const rmt_plan *plan, rmt_h5_writer **w);
rmt_status rmt_h5out_points(rmt_h5_writer *w, const rmt_results *r, uint32_t begin, uint32_t end, int complete);
rmt_status rmt_h5out_end(rmt_h5_writer *w, const rmt_results *r, const rmt_h5_meta *meta, int complete);
void rmt_h5out_abandon(rmt_h5_writer *w); /* accepts NULL */
/* Outputs moved into place so far, and 1 while one is being renamed into
 * place: a signal handler can tell whether its output is written. */
extern volatile sig_atomic_t rmt_h5out_commits, rmt_h5out_committing;

/* Bytes a writer holds for the summary of the plan's points, whatever the batches. */
double rmt_h5out_summary_bytes(const rmt_plan *plan);

/* State of an existing output file. */
typedef struct {
    int complete;          /* attribute complete */
    char sha256[65];       /* attribute config_sha256 */
    char *config_json;     /* attribute config_json (owned; free it) */
    char slice[32];        /* attribute points_slice ("I/K"), "" when absent */
} rmt_h5_state;

/* Read the root attributes of an rmtmc file: RMT_EUSAGE when path is not an
 * rmtmc-1 file. */
rmt_status rmt_h5in_state(const char *path, rmt_h5_state *st);

/* Restore into r (fresh, from the same plan) every finished draw and the
 * counts of the file at path, written for the same config (the caller has
 * compared config_sha256). */
rmt_status rmt_h5in_restore(const char *path, rmt_results *r);

/* Read the 2-D floating-point dataset `name` of the HDF5 file at path into
 * a new row-major array *data (rows x cols, caller frees). RMT_EUSAGE with a
 * message naming the file and dataset when it is missing, not 2-D or not
 * floating point. */
rmt_status rmt_h5in_read_2d(const char *path, const char *name, int64_t *rows, int64_t *cols, double **data);

/* 1 when path is an HDF5 file. */
int rmt_h5in_is_hdf5(const char *path);

/* Silence HDF5's own error printing (messages go through err instead). */
void rmt_h5out_quiet(void);

/* Start HDF5, before MPI_Init and any other HDF5 call, never to be shut
 * down (h5out.c says why). */
void rmt_h5out_start(void);

#endif
