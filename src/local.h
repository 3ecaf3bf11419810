/* local: local spectral statistics that need the spectra of all draws of a
 * point at once: unfolding (pool, theory or polynomial), nearest-neighbour
 * spacings, number variance, and distances to the GOE and Poisson laws.
 * Runs on the master over the spectra it holds; no MPI. */
#ifndef RMT_LOCAL_H
#define RMT_LOCAL_H

#include <sched.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

#define RMT_NV_COUNT 5 /* number variance at L = 0.5, 1, 2, 4, 8 */

typedef struct {
    uint64_t *counts;        /* [sp_bins] spacing histogram on [0, sp_max] */
    uint64_t below, above;   /* spacings < 0 (non-monotone fit) and > sp_max */
    int64_t count;           /* spacings kept (inside the bulk window, >= 0) */
    int64_t draws_used;      /* spectra unfolded */
    double mean, var;        /* of the kept spacings */
    double ks_goe, ks_poisson;     /* Kolmogorov-Smirnov distance of the spacings to the surmises */
    double chi2_goe, chi2_poisson; /* chi-square per degree of freedom of the histogram */
    int64_t chi2_dof_goe, chi2_dof_poisson;
    double nv_L[RMT_NV_COUNT];     /* L values */
    double nv[RMT_NV_COUNT];       /* measured Sigma^2(L) */
} rmt_local;

/* Compute spacings of point pt from spectra eig[draws * n] where have[d]
 * and status[d] == 0 select usable draws. *out must be zero-initialised or
 * previously filled (its counts are reused). Unfolding "pool" with D usable
 * draws unfolds each draw against the pooled eigenvalues of all the other
 * D - 1 draws (leave one out): u = F(lambda) / (D - 1), F the other
 * draws' eigenvalues' count interpolated linearly between them (F = j at
 * the j-th of them, from 0). Eigenvalues within each draw's zero tolerance
 * are dropped first. */
rmt_status rmt_local_spacings(const rmt_point *pt, const double *eig, const uint8_t *usable, rmt_local *out);

void rmt_local_free(rmt_local *l); /* frees counts; accepts NULL */

/* Threads pool unfolding may use (1 to 256; default 1): the results are the
 * same for any number. */
void rmt_local_set_threads(int threads);

/* As many threads as cores in the set, the others run there (a run's final
 * write: the cores of the ranks on rank 0's node, idle by then, which a
 * rank bound to one core could not use otherwise). */
void rmt_local_set_cores(const cpu_set_t *cores);

/* Cores this process may run on (its affinity mask). */
int rmt_local_usable_cores(void);

/* Chi-square per degree of freedom of counts[bins] on [0, max] against a
 * law with CDF cdf, over bins expecting at least 5 (the expected counts
 * are scaled to the counted total). NaN when fewer than 2 such bins. */
double rmt_local_chi2(const uint64_t *counts, int64_t bins, double max, double (*cdf)(double), int64_t *dof);

#endif
