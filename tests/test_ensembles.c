/* Physics of the ensembles of arXiv 2006.07721 and 2102.06740: percolation,
 * spikes, products and the gp-hessian model, against the theory values
 * rmtmc stores beside every estimate (zero_mass_theory, moments_theory,
 * lambda_max_theory).
 *
 * Each test runs a config through the path `rmtmc run` takes on one rank
 * (config -> draw -> results) and compares a point's mean with theory at
 * 4 standard errors. Where the stored theory is a large-n limit, the
 * comparison adds a finite-size allowance stated at the test; where an
 * exact finite-n expectation is known it is checked as well, with no
 * allowance. Wrong normalisations (a missing 1/sqrt(P), a variance off by
 * 2, rows for cols) move the checked figures by factors of 2 or more,
 * hundreds of standard errors at these sizes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "draw.h"
#include "ensemble.h"
#include "freeprob.h"
#include "results.h"
#include "solve.h"

#define NSE 4.0 /* standard errors allowed */

#include "runcfg.h"

static const char *label(const run *r, uint32_t p) { return r->plan->exp_names[r->plan->points[p].experiment]; }

/* |mean - theory| <= 4 se + allowance. */
static void expect_near(const char *what, const char *name, double m, double se, double theory, double allow)
{
    printf("# %-10s %-9s = %12.6f +- %9.6f, theory %12.6f, allowance %.4g (%+.2f se)\n", name, what, m, se, theory,
           allow, se > 0 ? (m - theory) / se : 0.0);
    assert_true(isfinite(theory));
    assert_true(fabs(m - theory) <= NSE * se + allow);
}

static void expect_moment(const run *r, uint32_t p, int k, double theory, double allow)
{
    double m, se;
    char what[16];
    rmt_results_estimate(r->res, p, "moment", k, &m, &se);
    snprintf(what, sizeof what, "m%d", k);
    assert_true(se > 0);
    expect_near(what, label(r, p), m, se, theory, allow);
}

/* The stored large-n moment k, against measurement with an allowance. */
static void expect_moment_theory(const run *r, uint32_t p, int k, double allow)
{
    expect_moment(r, p, k, r->plan->points[p].moments_theory[k - 1], allow);
}

static void expect_zero_mass(const run *r, uint32_t p, double allow)
{
    double m, se;
    rmt_results_estimate(r->res, p, "zero_fraction", 0, &m, &se);
    /* 1e-12: an exact fraction and 1 - r/n may differ in the last bit */
    expect_near("zero mass", label(r, p), m, se, r->plan->points[p].zero_mass_theory, allow + 1e-12);
}

/* Every draw has exactly `zeros` exact zeros added and that zero fraction,
 * equal to the stored theory. */
static void expect_structural(const run *r, uint32_t p, int64_t zeros)
{
    const rmt_point *pt = &r->plan->points[p];
    double frac = (double)zeros / (double)pt->ens.n;
    printf("# %-10s zero mass = %.6f exactly in every draw (%lld structural zeros), theory %.6f\n", label(r, p), frac,
           (long long)zeros, pt->zero_mass_theory);
    assert_true(fabs(pt->zero_mass_theory - frac) < 1e-12);
    for (uint32_t d = 0; d < pt->draws; d++) {
        assert_int_equal(r->res->pts[p].figs[d].structural_zeros, zeros);
        assert_true(r->res->pts[p].figs[d].zero_fraction == frac);
    }
}

/* The stored large-n moment k is the closed form `limit` (computed here,
 * independently): a stored limit is deterministic, so it is checked
 * exactly, and the measurement is checked against the exact finite-n
 * expectation where one is known (a measurement allowance of "exact minus
 * stored" would let any stored value within twice the correction pass). */
static void expect_theory_is(const run *r, uint32_t p, int k, double limit)
{
    double t = r->plan->points[p].moments_theory[k - 1];
    printf("# %-10s stored m%d = %.15g, closed form %.15g\n", label(r, p), k, t, limit);
    assert_true(fabs(t - limit) <= 1e-12 * fmax(1, fabs(limit)));
}

static void expect_lambda_max(const run *r, uint32_t p, double allow)
{
    double m, se;
    rmt_results_estimate(r->res, p, "lambda_max", 0, &m, &se);
    expect_near("lambda_max", label(r, p), m, se, r->plan->points[p].lambda_max_theory, allow);
}

/* ------------------------------------------------------------ percolation */

/* Percolated Wigner, H_ij kept with probability P and scaled by 1/sqrt(P).
 * Variances are unchanged, so E (1/n) tr H^2 = 1 + 1/n exactly (as dense).
 * The fourth moment gains, over the Gaussian 2 + 5/n + 5/n^2, the tuples
 * that use one entry four times, whose E x^4 grows by the factor 1/P:
 * n(n-1) off-diagonal (3/n^2 each) and n diagonal (12/n^2 each) terms,
 *   m4 = 2 + 5/n + 5/n^2 + 3 (1/P - 1)(n + 3)/n^2   (exact).
 * Dense P = 0.25 at n = 200: the limit is the semicircle (m2 = 1, m4 = 2)
 * and the exact corrections above are the allowance. Sparse, P = c/n: m4 ->
 * 2 + 3/c; the zero mass tends to the Bauer-Golinelli value (c = 1:
 * 0.4559; c = 3: 0.0723). Its finite-size excess, measured on 2 ranks
 * (seed 21; 600, 300 and 150 draws at n = 400, 800, 1600): c = 1 0.4549,
 * 0.4547, 0.4544 (standard errors 0.0012); c = 3 0.0731, 0.0725, 0.0721
 * (0.0007): none above ~0.002 at n = 400, the allowance. */
static void test_wigner_percolation(void **state)
{
    (void)state;
    run r = run_config("{\"name\":\"wp\",\"seed\":21,\"experiments\":["
                       "{\"name\":\"dense\",\"draws\":100,\"ensemble\":{\"type\":\"wigner\",\"n\":200,"
                       "\"percolation\":{\"p\":0.25}},\"statistics\":{\"moments\":4}},"
                       "{\"name\":\"sparse\",\"draws\":150,\"ensemble\":{\"type\":\"wigner\",\"n\":400,"
                       "\"percolation\":{\"mean_degree\":{\"sweep\":[1,3]}}},\"statistics\":{\"moments\":4}}]}");
    for (uint32_t p = 0; p < 3; p++) {
        double n = (double)r.plan->points[p].ens.n, P = r.plan->points[p].ens.mod.keep;
        double m4 = 2 + 5 / n + 5 / (n * n) + 3 * (1 / P - 1) * (n + 3) / (n * n);
        if (p == 0) {
            expect_zero_mass(&r, p, 0.0);
        } else {
            expect_zero_mass(&r, p, 0.002);
        }
        expect_theory_is(&r, p, 1, 0.0);
        expect_theory_is(&r, p, 2, 1.0);
        expect_theory_is(&r, p, 3, 0.0);
        expect_theory_is(&r, p, 4, p == 0 ? 2.0 : 2 + 3 / (P * n)); /* Catalan; sparse: 2 + 3/c */
        expect_moment(&r, p, 1, 0.0, 0.0);
        expect_moment(&r, p, 2, 1 + 1 / n, 0.0);
        expect_moment(&r, p, 3, 0.0, 0.0);
        expect_moment(&r, p, 4, m4, 0.0);
    }
    /* q = 0.5671... (the omega constant) at c = 1: m0 = 2 q + q^2 - 1 */
    const double om = 0.56714329040978387;
    assert_true(fabs(r.plan->points[1].zero_mass_theory - (2 * om + om * om - 1)) < 1e-12);
    run_free(&r);
}

/* Percolated Wishart, Z n x t with entries kept with probability P, scaled
 * by 1/sqrt(P): E (1/n) tr W = 1 and, counting E z^4 = 3/(t^2 P),
 *   E (1/n) tr W^2 = 1 + q + (3/P - 2)/t   (exact; q = n/t).
 * Dense (P = 0.3) the limit is Marchenko-Pastur (m2 = 1 + q; the exact
 * excess is the allowance) and the atom max(0, 1 - t/n) stays exact: an
 * empty row or column has probability (1 - P)^200 ~ 1e-31. Sparse (P = c/n)
 * the stored m2 is the limit 1 + q + 3q/c, and the zero mass is 1 - rank Z/n
 * with rank Z the structural rank, whose limit is the rank formula of
 * arXiv 1906.05757 (src/ensemble.c): 0.15946 / 0.70318 / 0.00254 / 0.52844
 * at (q, c) = (0.5, 1) / (2, 1) / (0.5, 3) / (2, 3). At n = 400 the maximum
 * matching of the same random patterns (scipy, 3000-4000 patterns each)
 * gives 0.15918 / 0.70292 / 0.00242 / 0.52797 (se 0.0003 / 0.0003 /
 * 0.00005 / 0.0001): the finite-size shift is at most 0.0005, allowance
 * 0.001. A formula with the degrees swapped gives 0 / 0.852 / 0 / 0.764,
 * P = c/t instead 0.406 / 0.580 / 0.057 / 0.501. */
static void test_wishart_percolation(void **state)
{
    (void)state;
    run r = run_config("{\"name\":\"wp\",\"seed\":22,\"experiments\":["
                       "{\"name\":\"dense\",\"draws\":100,\"ensemble\":{\"type\":\"wishart\",\"n\":200,"
                       "\"ratio\":{\"sweep\":[2,0.5]},\"percolation\":{\"p\":0.3}},\"statistics\":{\"moments\":2}},"
                       "{\"name\":\"sparse\",\"draws\":150,\"ensemble\":{\"type\":\"wishart\",\"n\":400,"
                       "\"ratio\":{\"sweep\":[0.5,2]},\"percolation\":{\"mean_degree\":{\"sweep\":[1,3]}}},"
                       "\"statistics\":{\"moments\":2}}]}");
    const double sparse_zm[4] = {0.15946365670905616, 0.0025365178577176906, 0.7031804504183279, 0.5284400429308141};
    for (uint32_t p = 0; p < 6; p++) {
        const rmt_ensemble *e = &r.plan->points[p].ens;
        double n = (double)e->n, t = (double)e->t, P = e->mod.keep, q = n / t;
        double m2 = 1 + q + (3 / P - 2) / t;
        if (p < 2) {
            expect_structural(&r, p, p == 0 ? 100 : 0);
        } else {
            assert_true(fabs(r.plan->points[p].zero_mass_theory - sparse_zm[p - 2]) < 1e-9);
            expect_zero_mass(&r, p, 0.001);
        }
        expect_theory_is(&r, p, 1, 1.0);
        expect_theory_is(&r, p, 2, p < 2 ? 1 + q : 1 + q + 3 * q / (P * n)); /* MP; sparse: 1 + q + 3q/c */
        expect_moment(&r, p, 1, 1.0, 0.0);
        expect_moment(&r, p, 2, m2, 0.0);
    }
    run_free(&r);
}

/* ----------------------------------------------------------------- spikes */

/* Spiked Wigner H + 3 e0 e0^T - 0.5 e1 e1^T, n = 300. BBP: the largest
 * eigenvalue tends to theta + 1/theta = 10/3 for theta = 3 > 1 (the -0.5
 * spike is below threshold and leaves no outlier); its mean at n = 300
 * differs by O(1/n): allowance 0.01. Moments: exactly
 * m1 = (3 - 0.5)/n and m2 = 1 + 1/n + (9 + 0.25)/n; the limits 0 and 1
 * are stored (allowance: those exact corrections).
 * Spiked Wishart W + 6 e0 e0^T + 2 e1 e1^T, n = 200 at q = n/t = 2 and 0.5:
 * the spikes are columns sqrt(theta) e_i of the factor, so the rank is
 * t + 2 and the zeros stay exact (98 at q = 2). The outlier of theta = 6 is
 * at theta + theta/(theta - q) (7.5 and 7.0909; thresholds q + sqrt q =
 * 3.41 and 1.21); allowance 0.03. Exactly m1 = 1 + 8/n and
 * m2 = 1 + q + 1/t + (2 * 8 + 40)/n. */
static void test_spikes(void **state)
{
    (void)state;
    run r = run_config("{\"name\":\"sp\",\"seed\":23,\"experiments\":["
                       "{\"name\":\"wigner\",\"draws\":60,\"ensemble\":{\"type\":\"wigner\",\"n\":300,"
                       "\"spikes\":[3,-0.5]},\"statistics\":{\"moments\":2}},"
                       "{\"name\":\"wishart\",\"draws\":60,\"ensemble\":{\"type\":\"wishart\",\"n\":200,"
                       "\"ratio\":{\"sweep\":[2,0.5]},\"spikes\":[6,2]},\"statistics\":{\"moments\":2}},"
                       "{\"name\":\"gaussian\",\"draws\":60,\"ensemble\":{\"type\":\"product\",\"form\":\"gram\","
                       "\"factors\":[{\"type\":\"gaussian\",\"rows\":400,\"cols\":200,\"spikes\":[3,0.5]}]},"
                       "\"statistics\":{\"moments\":2}},"
                       "{\"name\":\"gauss-sym\",\"draws\":60,\"ensemble\":{\"type\":\"product\","
                       "\"form\":\"symmetric-part\",\"factors\":[{\"type\":\"gaussian\",\"rows\":300,"
                       "\"cols\":300,\"spikes\":[2]}]},\"statistics\":{\"moments\":2}}]}");
    double n = 300;
    assert_true(fabs(r.plan->points[0].lambda_max_theory - 10.0 / 3.0) < 1e-12);
    expect_lambda_max(&r, 0, 0.01);
    expect_zero_mass(&r, 0, 0.0);
    expect_theory_is(&r, 0, 1, 0.0);
    expect_theory_is(&r, 0, 2, 1.0);
    expect_moment(&r, 0, 1, 2.5 / n, 0.0);
    expect_moment(&r, 0, 2, 1 + 1 / n + 9.25 / n, 0.0);
    for (uint32_t p = 1; p < 3; p++) {
        const rmt_ensemble *e = &r.plan->points[p].ens;
        double nn = (double)e->n, t = (double)e->t, q = nn / t;
        assert_true(fabs(r.plan->points[p].lambda_max_theory - (6 + 6 / (6 - q))) < 1e-12);
        expect_structural(&r, p, p == 1 ? 98 : 0);
        expect_lambda_max(&r, p, 0.03);
        double m1 = 1 + 8 / nn, m2 = 1 + q + 1 / t + 56 / nn;
        expect_theory_is(&r, p, 1, 1.0);
        expect_theory_is(&r, p, 2, 1 + q);
        expect_moment(&r, p, 1, m1, 0.0);
        expect_moment(&r, p, 2, m2, 0.0);
    }
    /* gram of a 400 x 200 gaussian factor F + 3 e0 e0^T + 0.5 e1 e1^T: at
     * c' = 200/400 the outlier of theta = 3 is (1 + 9)(0.5 + 9)/9 = 95/9
     * (0.5 is below the threshold c'^(1/4) = 0.84); its mean at n = 200
     * sits O(1/n) away: allowance 0.12. The spikes are entries: exactly
     * m1 = (1/c) E tr (F + S)^T (F + S) = 1 + (9 + 0.25)/200; the limit 1 is
     * stored. Full rank: no zeros. */
    assert_true(fabs(r.plan->points[3].lambda_max_theory - 95.0 / 9.0) < 1e-12);
    expect_lambda_max(&r, 3, 0.12);
    expect_zero_mass(&r, 3, 0.0);
    expect_theory_is(&r, 3, 1, 1.0);
    expect_moment(&r, 3, 1, 1 + 9.25 / 200, 0.0);
    /* symmetric part of one 300 x 300 gaussian factor with spike 2: a
     * semicircle of variance 1/2 plus 2 e0 e0^T, BBP outlier 2 + 1/(2 * 2)
     * = 2.25 (threshold 1/sqrt 2); O(1/n) at n = 300: allowance 0.02.
     * Exactly m1 = 2/300. */
    assert_true(fabs(r.plan->points[4].lambda_max_theory - 2.25) < 1e-12);
    expect_lambda_max(&r, 4, 0.02);
    expect_moment(&r, 4, 1, 2.0 / 300, 0.0);
    run_free(&r);
}

/* ------------------------------------------------------------- gp-hessian */

/* gp-hessian, n = 200 with 50 degenerate rows: exactly 50 zeros per draw
 * (theory d/(n + d) = 0.2). The stored moments are exact expectations
 * (ensemble.c derives them): with the shared shift of variance
 * c2 = kp^2 (1 - 1/k0) and m outliers (1 + z^2) s,
 *   N m1 = 2 m s, N m2 = n(n+1) kpp + n c2 + 6 m s^2,
 *   N m3 = 6 m s (n+1) kpp + 6 c2 m s + 28 m s^3,  N = n + d.
 * The shift is one xi for the whole diagonal: E (tr H)^2 = n^2 c2 + 2 kpp n
 * without outliers, which an independent shift per entry (n c2 + 2 kpp n)
 * would miss by a factor ~n; it is checked through E m1^2. Without
 * outliers lambda_max tends to 2 sqrt(n kpp) = 4 (the shift has mean 0);
 * its mean at n = 200 sits O(n^(-2/3)) below: allowance 0.15.
 * The shift makes m2 nearly blind to the rest: it adds n c2 xi^2 / N to
 * each draw's m2, whose spread gives m2 a standard error of ~0.08 over 200
 * draws, so a diagonal variance of kpp instead of 2 kpp (0.016) would pass.
 * A third point has no shift (k0 = 1: c2 = 0): there m2's standard error is
 * ~0.003, and that error is 7 of them. */
static void test_gp_hessian(void **state)
{
    (void)state;
    run r = run_config("{\"name\":\"gp\",\"seed\":24,\"experiments\":["
                       "{\"name\":\"cond\",\"draws\":200,\"ensemble\":{\"type\":\"gp-hessian\",\"n\":200,\"kp\":2,"
                       "\"kpp\":0.02,\"k0\":1.3333333333333333,\"degeneracy\":50},\"statistics\":{\"moments\":3}},"
                       "{\"name\":\"outliers\",\"draws\":200,\"ensemble\":{\"type\":\"gp-hessian\",\"n\":200,"
                       "\"kp\":0.5,\"kpp\":0.02,\"outliers\":{\"count\":4,\"scale\":3}},\"statistics\":{\"moments\":3}},"
                       "{\"name\":\"noshift\",\"draws\":200,\"ensemble\":{\"type\":\"gp-hessian\",\"n\":200,\"kp\":2,"
                       "\"kpp\":0.02,\"k0\":1},\"statistics\":{\"moments\":3}}]}");
    expect_structural(&r, 0, 50);
    expect_zero_mass(&r, 1, 0.0);
    for (uint32_t p = 0; p < 3; p++)
        for (int k = 1; k <= 3; k++) expect_moment_theory(&r, p, k, 0.0);
    expect_lambda_max(&r, 0, 0.15);
    expect_lambda_max(&r, 2, 0.15);
    /* no shift: N m2 = n (n + 1) kpp, N = n */
    expect_theory_is(&r, 2, 2, 201 * 0.02);
    double m2, se2;
    rmt_results_estimate(r.res, 2, "moment", 2, &m2, &se2);
    printf("# noshift m2 standard error %.5f: a diagonal of variance kpp, not 2 kpp, moves m2 by %.1f of them\n", se2,
           0.02 / se2);
    assert_true(0.02 / se2 > NSE + 2); /* then the wrong diagonal fails the 4 se check ~98 % of the time */
    /* E m1^2 = (n^2 c2 + 2 kpp n)/N^2 with c2 = 4 (1 - 3/4) = 1 */
    double n = 200, N = 250, x2[200];
    for (int d = 0; d < 200; d++) x2[d] = r.res->pts[0].figs[d].moments[0] * r.res->pts[0].figs[d].moments[0];
    double m, se;
    rmt_stats_mean_stderr(x2, 200, 1, &m, &se);
    expect_near("E m1^2", "cond", m, se, (n * n * 1.0 + 2 * 0.02 * n) / (N * N), 0.0);
    run_free(&r);
}

/* Outlier positions are distinct: they come from a permutation of [0, n)
 * keyed by the draw's stream, and the filled diagonal carries exactly m
 * outliers, at those positions. */
static void test_gp_outlier_positions(void **state)
{
    (void)state;
    rmt_ensemble e;
    memset(&e, 0, sizeof e);
    e.kind = RMT_ENS_GP_HESSIAN;
    for (int64_t n = 1; n <= 1000; n = n * 3 + 1) {
        e.gp_n = e.n = n;
        rmt_stream s = {7, 1, (uint32_t)n};
        char *hit = calloc((size_t)n, 1);
        for (int64_t k = 0; k < n; k++) {
            int64_t pos = rmt_ensemble_outlier_position(&e, &s, k);
            assert_true(pos >= 0 && pos < n);
            assert_int_equal(hit[pos], 0);
            hit[pos] = 1;
        }
        free(hit);
    }
    /* tiny kpp and no shift: the diagonal is (1 + z^2) at the outliers, ~0 elsewhere */
    e.gp_n = e.n = 150;
    e.kpp = 1e-30;
    e.outliers = 7;
    e.outlier_scale = 1.0;
    double *a = malloc(sizeof(double) * 150 * 150);
    for (uint32_t d = 0; d < 20; d++) {
        rmt_stream s = {3, 0, d};
        rmt_ensemble_fill(&e, &s, 0, 150, 0, 150, a, 150);
        int count = 0;
        for (int i = 0; i < 150; i++)
            if (a[i + 150 * i] >= 1.0) count++;
        assert_int_equal(count, 7);
        for (int64_t k = 0; k < 7; k++) {
            int64_t pos = rmt_ensemble_outlier_position(&e, &s, k);
            assert_true(a[pos + 150 * pos] >= 1.0);
        }
    }
    free(a);
}

/* --------------------------------------------------------------- products */

/* Finite-size allowance for a product's k-th moment against its large-n
 * limit: 1.5 k |theory| sum_i 1/N_i over the dimensions the chain passes
 * through. Corrections are O(1/N) per dimension and grow with k (e.g. the
 * exact m1 of a gram chain is prod (1 + 1/n) (1 + q + 1/t) over its wigner
 * and wishart factors); at the sizes below the measured deviations (checked
 * with 400 draws) stay below 60% of this, while a wrong normalisation moves
 * m_k by a factor 2^k. */
static double product_allowance(const run *r, uint32_t p, int k, const double *inv_dims, int nd)
{
    double s = 0;
    for (int i = 0; i < nd; i++) s += inv_dims[i];
    return 1.5 * k * fabs(r->plan->points[p].moments_theory[k - 1]) * s;
}

/* Exact E (1/N0) tr (P^T P)^2 for a chain P = F_k ... F_1 of Gaussian
 * factors (F_j: rows[j] x the previous dimension, entries of variance
 * 1/rows[j], so E F^T F = I). With G_0 = I_N0 and G_j = F_j G_{j-1} F_j^T,
 * tr (P^T P)^2 = tr G_k^2, and Wick's theorem over F (r rows, s^2 = 1/r):
 *   E tr (F G F^T)^2   = s^4 [r (r + 1) tr G^2 + r (tr G)^2],
 *   E (tr F G F^T)^2   = s^4 [r^2 (tr G)^2 + 2 r tr G^2]
 * carry E tr G^2 and E (tr G)^2 down the chain. One factor gives the
 * Wishart 1 + (N0 + 1)/r. */
static double gauss_chain_m2(int k, const double *rows, double n0)
{
    double s2 = n0, t2 = n0 * n0;
    for (int j = 0; j < k; j++) {
        double r = rows[j], s4 = 1 / (r * r);
        double s2n = s4 * (r * (r + 1) * s2 + r * t2), t2n = s4 * (r * r * t2 + 2 * r * s2);
        s2 = s2n;
        t2 = t2n;
    }
    return s2 / n0;
}

/* gram, P^T P:
 *  - gaussian 200 -> 100 -> 300: rank 100, so 100 exact zeros per draw
 *    (1 - min(N1, N2)/N0 = 0.5); E (1/N0) tr P^T P = 1 exactly (E F^T F = I).
 *  - three square gaussians, n = 100: Fuss-Catalan 1, 4, 22; the zero mass
 *    tends to 0, but the limit density diverges like x^(-3/4) at 0, so
 *    about tol^(1/4) ~ 1e-3 of the spectrum sits under the auto tolerance
 *    (~2e-13): allowance 0.002.
 *  - gaussian 150 -> 100, wishart (n 100, t 50), wigner 100: the chain passes
 *    through t = 50: 100 exact zeros (2/3). Exactly m1 = (1 + 1/100)
 *    (1 + 2 + 1/50) = 3.0502 (limit 3).
 *  - a percolated gaussian factor (p = 0.5) 200 -> 200, then 200 -> 100:
 *    the same limits as dense; 100 exact zeros; m1 = 1 exactly. */
static void test_product_gram(void **state)
{
    (void)state;
    run r = run_config(
        "{\"name\":\"gram\",\"seed\":25,\"statistics\":{\"moments\":3},\"experiments\":["
        "{\"name\":\"thin\",\"draws\":100,\"ensemble\":{\"type\":\"product\",\"form\":\"gram\",\"factors\":["
        "{\"type\":\"gaussian\",\"rows\":100,\"cols\":200},{\"type\":\"gaussian\",\"rows\":300,\"cols\":100}]}},"
        "{\"name\":\"square3\",\"draws\":100,\"ensemble\":{\"type\":\"product\",\"form\":\"gram\",\"factors\":["
        "{\"type\":\"gaussian\",\"rows\":100,\"cols\":100},{\"type\":\"gaussian\",\"rows\":100,\"cols\":100},"
        "{\"type\":\"gaussian\",\"rows\":100,\"cols\":100}]}},"
        "{\"name\":\"mixed\",\"draws\":150,\"ensemble\":{\"type\":\"product\",\"form\":\"gram\",\"factors\":["
        "{\"type\":\"gaussian\",\"rows\":100,\"cols\":150},{\"type\":\"wishart\",\"n\":100,\"t\":50},"
        "{\"type\":\"wigner\",\"n\":100}]}},"
        "{\"name\":\"percolated\",\"draws\":60,\"ensemble\":{\"type\":\"product\",\"form\":\"gram\",\"factors\":["
        "{\"type\":\"gaussian\",\"rows\":200,\"cols\":200,\"percolation\":{\"p\":0.5}},"
        "{\"type\":\"gaussian\",\"rows\":100,\"cols\":200}]}}]}");
    const double inv[4][5] = {{1. / 200, 1. / 100, 1. / 300}, {.01, .01, .01, .01},
                              {1. / 150, .01, .02, .01, .01}, {1. / 200, 1. / 200, .01}};
    const int nd[4] = {3, 4, 5, 3};
    expect_structural(&r, 0, 100);
    expect_zero_mass(&r, 1, 0.002);
    expect_structural(&r, 2, 100);
    expect_structural(&r, 3, 100);
    for (uint32_t p = 0; p < 4; p++)
        for (int k = 1; k <= 3; k++) expect_moment_theory(&r, p, k, product_allowance(&r, p, k, inv[p], nd[p]));
    expect_moment(&r, 0, 1, 1.0, 0.0);
    /* exact m2 of the Gaussian chains: 3.686767 (limit 3.6667), 4.061205 (limit 4) */
    const double thin_rows[2] = {100, 300}, sq_rows[3] = {100, 100, 100};
    assert_true(fabs(gauss_chain_m2(1, thin_rows, 200) - (1 + 201.0 / 100)) < 1e-12); /* one factor: Wishart */
    expect_moment(&r, 0, 2, gauss_chain_m2(2, thin_rows, 200), 0.0);
    expect_moment(&r, 1, 2, gauss_chain_m2(3, sq_rows, 100), 0.0);
    expect_moment(&r, 2, 1, 1.01 * 3.02, 0.0);
    expect_theory_is(&r, 2, 1, 3.0);
    expect_moment(&r, 3, 1, 1.0, 0.0);
    /* the free-probability series reproduce the closed forms */
    double fc[16];
    rmt_fp_fuss_catalan(3, 16, fc);
    for (int k = 0; k < 16; k++) assert_true(fabs(r.plan->points[1].moments_theory[k] / fc[k] - 1) < 1e-9);
    /* 200 -> 100 -> 300: S = 1/((1 + 2z)(1 + 2z/3)), so m2 = 1 + 2 + 2/3 */
    assert_true(fabs(r.plan->points[0].moments_theory[1] - (1 + 2 + 2.0 / 3.0)) < 1e-12);
    run_free(&r);
}

/* similar, eigenvalues of P itself (1 or 2 factors, one of them Wishart):
 *  - P = H W, W (n 200, t 100): eig = eig(Y^T H Y) plus 100 exact zeros;
 *    H -> -H leaves the law alone, so odd moments vanish exactly, and
 *    E (1/n) tr HW = 0 exactly; the limit m2 = 1, m4 = 2 (1 + q) = 6 (the
 *    Kreweras sum of a^(1/2) s a^(1/2)). The edge of its symmetric
 *    spectrum, 3.744480 at q = 2 (rmt_fp_wishart_wigner_edge), is where
 *    tools/rmtplot's density (a quartic's root, another method) ends:
 *    3.7445 on a grid of 1e-4. The largest eigenvalue approaches it from
 *    below like n^(-2/3): numpy, 400 draws at n = 200 (t = 100): 3.536 +-
 *    0.011; 60 at n = 800: 3.644 +- 0.009; the allowance 0.25 covers
 *    n = 200, and would not cover the edge of q = 1 (3.079) or q = 4
 *    (4.751), nor the product of norms (11.66) the range used before.
 *  - P = W2 W1 (t = 400 and 100): the free product of MP(0.5) and MP(2):
 *    m1 = 1 exactly, m2 -> 1 + q1 + q2 = 3.5, m3 -> 15.75; rank
 *    min(n, t1, t2) = 100: 100 exact zeros.
 *  - P = H alone, percolated (P = 0.3) as a product factor: the Wigner
 *    percolation moments, exactly 1 + 1/n and (see above) m4. */
static void test_product_similar(void **state)
{
    (void)state;
    run r = run_config(
        "{\"name\":\"sim\",\"seed\":26,\"statistics\":{\"moments\":4,\"density\":{\"bins\":40}},\"experiments\":["
        "{\"name\":\"wig-wis\",\"draws\":100,\"ensemble\":{\"type\":\"product\",\"form\":\"similar\",\"factors\":["
        "{\"type\":\"wishart\",\"n\":200,\"ratio\":2},{\"type\":\"wigner\",\"n\":200}]}},"
        "{\"name\":\"wis-wis\",\"draws\":100,\"ensemble\":{\"type\":\"product\",\"form\":\"similar\",\"factors\":["
        "{\"type\":\"wishart\",\"n\":200,\"t\":400},{\"type\":\"wishart\",\"n\":200,\"t\":100}]}},"
        "{\"name\":\"wig-perc\",\"draws\":100,\"ensemble\":{\"type\":\"product\",\"form\":\"similar\",\"factors\":["
        "{\"type\":\"wigner\",\"n\":200,\"percolation\":{\"p\":0.3}}]}}]}");
    const double inv[3][4] = {{1. / 200, 1. / 100, 1. / 200}, {1. / 200, 1. / 400, 1. / 100, 1. / 200}, {1. / 200}};
    const int nd[3] = {3, 4, 1};
    expect_structural(&r, 0, 100);
    expect_structural(&r, 1, 100);
    expect_zero_mass(&r, 2, 0.0);
    expect_theory_is(&r, 0, 1, 0.0);
    expect_theory_is(&r, 0, 2, 1.0);
    expect_theory_is(&r, 0, 3, 0.0);
    expect_theory_is(&r, 0, 4, 6.0);
    {
        const rmt_point *pt = &r.plan->points[0];
        assert_true(fabs(pt->lambda_max_theory - 3.7445) < 1e-4);
        expect_lambda_max(&r, 0, 0.25);
        /* the auto density range: the spectrum [-edge, edge] and 5 % of it either side */
        assert_true(pt->stat.range_auto && fabs(pt->stat.hi - 1.1 * pt->lambda_max_theory) < 1e-12 &&
                    fabs(pt->stat.lo + 1.1 * pt->lambda_max_theory) < 1e-12);
    }
    expect_theory_is(&r, 1, 1, 1.0);
    expect_theory_is(&r, 1, 2, 3.5);
    expect_theory_is(&r, 1, 3, 15.75);
    for (uint32_t p = 0; p < 2; p++)
        for (int k = 1; k <= (p == 0 ? 4 : 3); k++)
            expect_moment_theory(&r, p, k, product_allowance(&r, p, k, inv[p], nd[p]));
    expect_moment(&r, 1, 1, 1.0, 0.0);
    /* exact m2 (Wick, H and W independent; E (1/n) tr W^2 = 1 + q + 1/t,
     * E (tr W)^2 = n^2 + 2n/t):
     *   H W:   E tr (HW)^2 = (E tr W^2 + E (tr W)^2)/n, so
     *          m2 = 1 + (1 + q + 1/t)/n + 2q/n^2 = 1.01515 (t = 100, q = 2);
     *   W2 W1: E_W1 tr (A W1 A W1) = (1 + 1/t1) tr A^2 + (tr A)^2 / t1, so
     *          m2 = (1 + q2 + 1/t2)(1 + 1/t1) + q1 + 2/(t1 t2) = 3.517575 */
    {
        double nn = 200, t = 100, q = 2, t1 = 400, t2 = 100;
        expect_moment(&r, 0, 2, 1 + (1 + q + 1 / t) / nn + 2 * q / (nn * nn), 0.0);
        expect_moment(&r, 1, 2, (1 + nn / t2 + 1 / t2) * (1 + 1 / t1) + nn / t1 + 2 / (t1 * t2), 0.0);
    }
    double n = 200, P = 0.3, m4 = 2 + 5 / n + 5 / (n * n) + 3 * (1 / P - 1) * (n + 3) / (n * n);
    expect_moment(&r, 2, 1, 0.0, 0.0);
    expect_moment(&r, 2, 2, 1 + 1 / n, 0.0);
    expect_moment(&r, 2, 4, m4, 0.0);
    expect_theory_is(&r, 2, 2, 1.0);
    expect_theory_is(&r, 2, 4, 2.0);
    run_free(&r);
}

/* symmetric-part, (P + P^T)/2 of a square P with a Gaussian factor (so P is
 * R-diagonal in the limit): m1 = 0 (exactly), m2 -> M1/2, m4 -> (M2 + 2 M1^2)/8
 * from the gram moments M of P^T P.
 *  - two square gaussians, n = 150: exactly m2 = (1 + 1/n)/2 (E tr P^2 =
 *    1); m4 -> (3 + 2)/8 = 0.625.
 *  - 150 -> 40 -> 150: P = B A has rank 40 and P + P^T rank 80, so
 *    1 - 80/150 of the spectrum is zero (numerical zeros here, under the
 *    auto tolerance); m4 -> (5.75 + 2)/8. */
static void test_product_symmetric_part(void **state)
{
    (void)state;
    run r = run_config(
        "{\"name\":\"sym\",\"seed\":27,\"statistics\":{\"moments\":4},\"experiments\":["
        "{\"name\":\"square\",\"draws\":80,\"ensemble\":{\"type\":\"product\",\"form\":\"symmetric-part\",\"factors\":["
        "{\"type\":\"gaussian\",\"rows\":150,\"cols\":150},{\"type\":\"gaussian\",\"rows\":150,\"cols\":150}]}},"
        "{\"name\":\"thin\",\"draws\":80,\"ensemble\":{\"type\":\"product\",\"form\":\"symmetric-part\",\"factors\":["
        "{\"type\":\"gaussian\",\"rows\":40,\"cols\":150},{\"type\":\"gaussian\",\"rows\":150,\"cols\":40}]}}]}");
    const double inv[2][3] = {{1. / 150, 1. / 150}, {1. / 150, 1. / 40, 1. / 150}};
    const int nd[2] = {2, 3};
    expect_zero_mass(&r, 0, 0.0);
    expect_zero_mass(&r, 1, 0.0);
    for (uint32_t d = 0; d < 80; d++) assert_true(fabs(r.res->pts[1].figs[d].zero_fraction - 70.0 / 150.0) < 1e-12);
    for (uint32_t p = 0; p < 2; p++) {
        expect_moment(&r, p, 1, 0.0, 0.0);
        for (int k = 2; k <= 4; k++) expect_moment_theory(&r, p, k, product_allowance(&r, p, k, inv[p], nd[p]));
    }
    expect_moment(&r, 0, 2, (1 + 1 / 150.0) / 2, 0.0);
    expect_theory_is(&r, 0, 2, 0.5);
    expect_theory_is(&r, 0, 4, 0.625);
    expect_theory_is(&r, 1, 2, 0.5);
    expect_theory_is(&r, 1, 4, 7.75 / 8);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wigner_percolation),   cmocka_unit_test(test_wishart_percolation),
        cmocka_unit_test(test_spikes),               cmocka_unit_test(test_gp_hessian),
        cmocka_unit_test(test_gp_outlier_positions), cmocka_unit_test(test_product_gram),
        cmocka_unit_test(test_product_similar),      cmocka_unit_test(test_product_symmetric_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
