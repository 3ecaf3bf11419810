/* analyze: the statistics of a run, measured on spectra computed elsewhere
 * (e.g. Hessian eigenvalues), read from an HDF5 dataset or a text file. */
#ifndef RMT_ANALYZE_H
#define RMT_ANALYZE_H

#include "err.h"
#include "h5out.h"

typedef struct {
    const char *input;    /* SPECTRA.h5 or a text file, one spectrum per line */
    const char *dataset;  /* HDF5 dataset name (default "hessian_evals") */
    const char *config;   /* optional config: statistics (and ensemble) */
    const char *output;   /* OUT.h5 */
    int force;            /* overwrite an existing output */
    rmt_h5_meta meta;
} rmt_analyze_opts;

/* Read, measure and write. Not collective: rank 0's work. RMT_EUSAGE for
 * bad input (missing file or dataset, ragged rows, non-finite or empty
 * spectra, bad config), before any output is created. */
rmt_status rmt_analyze_run(const rmt_analyze_opts *o);

#endif
