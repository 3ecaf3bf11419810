/* journal: what the master records between two full checkpoints, appended
 * to OUT.h5.journal, so that a checkpoint costs what arrived since the
 * last one instead of a rewrite of every row so far.
 *
 * The file: a header (magic, the id of the HDF5 checkpoint it extends, the
 * size of a draw's figures), then records: a draw (its figures and, where
 * the point keeps spectra, its spectrum), a point's summed counts, and a
 * commit that closes a checkpoint (a checksum of the records since the
 * previous commit). rmt_journal_commit makes it durable (fdatasync). A
 * resume restores the HDF5 file, then applies the journal's records up to
 * its last intact commit when its id is the file's; a journal with another
 * id (the file was rewritten after it) is stale and ignored. No MPI, no
 * HDF5. */
#ifndef RMT_JOURNAL_H
#define RMT_JOURNAL_H

#include <stdint.h>

#include "err.h"
#include "results.h"

typedef struct rmt_journal rmt_journal;

/* "PATH.journal" in a new string (NULL: out of memory). */
char *rmt_journal_path(const char *h5path);

/* Start the journal of the checkpoint `id` (truncating any file there),
 * or, with keep > 0, continue the one whose intact part ends at byte keep
 * (what rmt_journal_replay returned), dropping what follows. */
rmt_status rmt_journal_open(const char *h5path, uint64_t id, uint64_t keep, rmt_journal **out);

/* Record a draw (eig: its n eigenvalues, or NULL) and a point's counts
 * (nc of them). Buffered; a write error is reported by the next commit. */
void rmt_journal_draw(rmt_journal *j, const rmt_draw_figs *f, const double *eig, int64_t n);
void rmt_journal_counts(rmt_journal *j, uint32_t point, const uint64_t *counts, int64_t nc);

/* Close a checkpoint: write a commit and make the file durable. */
rmt_status rmt_journal_commit(rmt_journal *j);

/* After a full checkpoint `id` was written: start afresh (truncate). */
rmt_status rmt_journal_restart(rmt_journal *j, uint64_t id);

/* Remove PATH.journal; 1 when there was one. */
int rmt_journal_remove(const char *h5path);

/* Bytes in the journal so far. */
uint64_t rmt_journal_bytes(const rmt_journal *j);

/* Close; remove the file when `remove` is set (the run is complete). */
void rmt_journal_close(rmt_journal *j, int remove);

/* Apply to r the records of PATH.journal, commit by commit, each once its
 * checksum verifies (a writer that restarts the journal meanwhile leaves
 * a torn segment, not half of one applied), when its id is `id` (the
 * restored file's; 0: none). Stops at the first segment holding a draw r
 * already has, applying none of it: *overlap = 1 (another part's draws,
 * or a segment repeated). *draws: the draws it added; *keep: the bytes to
 * continue from (0: nothing to continue). A missing, stale or foreign
 * journal adds nothing. */
rmt_status rmt_journal_replay(const char *h5path, uint64_t id, rmt_results *r, uint64_t *draws, uint64_t *keep,
                              int *overlap);

/* A fresh checkpoint id (never 0). */
uint64_t rmt_journal_new_id(void);

#endif
