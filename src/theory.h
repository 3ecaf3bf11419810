/* theory: limiting laws the measured statistics are compared with, and the
 * unfolding they allow. Pure functions; no MPI. */
#ifndef RMT_THEORY_H
#define RMT_THEORY_H

#include <stdint.h>

#include "config.h"

/* 1 when the ensemble's limiting CDF is known here (for "theory" unfolding). */
int rmt_theory_has_cdf(const rmt_ensemble *e);

/* A tabulated CDF of the continuous part of the limiting spectrum
 * (normalised to 1: a Marchenko-Pastur atom at zero is left out, since zero
 * eigenvalues are dropped before unfolding). */
typedef struct rmt_cdf rmt_cdf;
rmt_cdf *rmt_cdf_create(const rmt_ensemble *e); /* NULL when unknown or out of memory */
double rmt_cdf_eval(const rmt_cdf *c, double x);
void rmt_cdf_destroy(rmt_cdf *c);                /* accepts NULL */

/* Nearest-neighbour spacing laws at unit mean spacing, as CDFs:
 * Wigner surmise (GOE) 1 - exp(-pi s^2 / 4); Poisson 1 - exp(-s). */
double rmt_theory_spacing_cdf_goe(double s);
double rmt_theory_spacing_cdf_poisson(double s);

/* Consecutive spacing ratio r = s_{i+1}/s_i: the GOE surmise
 * (27/8)(r + r^2)/(1 + r + r^2)^(5/2) (Atas et al. 2013) and Poisson
 * 1/(1 + r)^2, as CDFs (the written bin probabilities). */
double rmt_theory_ratio_cdf_goe(double r);
double rmt_theory_ratio_cdf_poisson(double r);

/* Mean of min(r, 1/r): GOE surmise 4 - 2 sqrt(3) = 0.5359 (the large-n GOE
 * value is 0.5307, Atas et al.); Poisson 2 ln 2 - 1 = 0.3863. */
#define RMT_RTILDE_GOE 0.5307
#define RMT_RTILDE_POISSON 0.38629436111989061

/* Number variance Sigma^2(L) of unfolded levels: Poisson L; GOE by its
 * large-L form (2/pi^2)(ln(2 pi L) + gamma + 1 - pi^2/8) (Mehta 16.1.3,
 * accurate to a few percent for L >= 1). */
double rmt_theory_number_variance_goe(double L);
double rmt_theory_number_variance_poisson(double L);

#endif
