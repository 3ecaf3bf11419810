/* Physics of the foundation ensembles against exact finite-n theory.
 *
 * Each test runs a config through the same path as `rmtmc run` on one rank
 * (config -> draw -> stats -> results) and compares the point's mean with
 * its exact expectation at 4 standard errors. The sizes are the ones the
 * foundation issue fixes (n = 400, 200 draws); at those sizes a wrong
 * normalisation (a factor 2 in a variance, n for t, 1/sqrt(n) for
 * 1/sqrt(2n)) moves the moments by hundreds of standard errors. */
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
#include "results.h"

#define NSE 4.0 /* standard errors allowed */

#include "runcfg.h"

static void expect_moment(const run *r, uint32_t point, int k, double exact)
{
    double m, se;
    rmt_results_estimate(r->res, point, "moment", k, &m, &se);
    printf("# point %u m%d = %.6f +- %.6f, exact %.6f (%.2f se)\n", point, k, m, se, exact, (m - exact) / se);
    assert_true(se > 0);
    assert_true(fabs(m - exact) <= NSE * se);
}

/* Semicircle CDF on [-2, 2]. */
static double semicircle_cdf(double x)
{
    if (x <= -2) return 0;
    if (x >= 2) return 1;
    return 0.5 + x * sqrt(4 - x * x) / (4 * M_PI) + asin(x / 2) / M_PI;
}

/* Upper alpha-quantile of chi-square with k degrees of freedom, by the
 * Wilson-Hilferty cube approximation (accurate to ~1% for k >= 30). */
static double chi2_quantile(double k, double z_alpha)
{
    double h = 2.0 / (9.0 * k);
    return k * pow(1.0 - h + z_alpha * sqrt(h), 3);
}

/* Wigner n = 400, 200 draws. With H = X / sqrt(n), X a GOE matrix with
 * E X_ij^2 = 1 (i != j) and E X_ii^2 = 2, Wick's theorem gives
 * E X_ab X_cd = d_ac d_bd + d_ad d_bc, so
 *   E tr X^2 = sum_ij (d_ij d_ji + d_ii d_jj) = n^2 + n,
 *   E tr X^4 = sum over the 3 pairings of X_ij X_jk X_kl X_li:
 *     (12)(34) and (14)(23): each n^3 + 2n^2 + n; (13)(24): n^2 + 3n,
 *   total 2n^3 + 5n^2 + 5n.
 * Hence E (1/n) tr H^2 = 1 + 1/n and E (1/n) tr H^4 = 2 + 5/n + 5/n^2.
 * Odd moments vanish by symmetry. */
static void test_wigner(void **state)
{
    (void)state;
    const double n = 400;
    run r = run_config("{\"name\":\"w\",\"seed\":11,\"draws\":200,\"ensemble\":{\"type\":\"wigner\",\"n\":400},"
                       "\"statistics\":{\"density\":{\"bins\":40,\"range\":[-2,2]},\"moments\":4}}");
    expect_moment(&r, 0, 1, 0.0);
    expect_moment(&r, 0, 2, 1.0 + 1.0 / n);
    expect_moment(&r, 0, 3, 0.0);
    expect_moment(&r, 0, 4, 2.0 + 5.0 / n + 5.0 / (n * n));

    /* Density against the semicircle: chi-square over the 40 bins, the few
     * eigenvalues beyond +-2 (edge fluctuations of size n^(-2/3)) folded
     * into the outer bins. Eigenvalues repel, so bin counts fluctuate less
     * than Poisson and the statistic is conservative; significance 0.001. */
    const rmt_point_result *p = &r.res->pts[0];
    double N = 200 * n, chi2 = 0;
    for (int k = 0; k < 40; k++) {
        double a = -2 + 0.1 * k, b = a + 0.1;
        double e = N * (semicircle_cdf(b) - semicircle_cdf(a));
        double o = (double)p->counts[k] + (k == 0 ? (double)p->below : 0) + (k == 39 ? (double)p->above : 0);
        chi2 += (o - e) * (o - e) / e;
    }
    double crit = chi2_quantile(39, 3.090); /* z for alpha = 0.001 */
    printf("# semicircle chi2 = %.2f, critical %.2f (39 dof, alpha 0.001)\n", chi2, crit);
    assert_true(chi2 < crit);
    run_free(&r);
}

/* Wishart W = Z Z^T / t, Z n x t real Gaussian, q = n / t. Exact finite-size
 * moments of the real Wishart matrix A = Z Z^T:
 *   E tr A^2 = n t (n + t + 1),
 *   E tr A^3 = n t (n^2 + t^2 + 3nt + 3n + 3t + 4),
 * so m2 = (n + t + 1)/t = 1 + q + 1/t and
 *    m3 = (n^2 + t^2 + 3nt + 3n + 3t + 4)/t^2 = 1 + 3q + q^2 + (3n + 3t + 4)/t^2,
 * tending to the Marchenko-Pastur values 1 + q and 1 + 3q + q^2.
 * Ratio 2 (t = 200): exactly n - t = 200 zero eigenvalues in every draw;
 * ratio 0.5 (t = 800): none (the smallest is near (1 - sqrt(q))^2 = 0.086). */
static void test_wishart(void **state)
{
    (void)state;
    run r = run_config("{\"name\":\"w\",\"seed\":12,\"draws\":200,\"ensemble\":{\"type\":\"wishart\",\"n\":400,"
                       "\"ratio\":{\"sweep\":[2,0.5]}},\"statistics\":{\"moments\":3,\"zero_mass\":{\"tolerance\":\"auto\"}}}");
    const double n = 400;
    for (uint32_t p = 0; p < 2; p++) {
        double t = (double)r.plan->points[p].ens.t, q = n / t;
        assert_true(t == (p == 0 ? 200 : 800));
        double zm, zse;
        rmt_results_estimate(r.res, p, "zero_fraction", 0, &zm, &zse);
        assert_true(zm == (p == 0 ? 0.5 : 0.0));
        assert_true(zse == 0.0);
        for (uint32_t d = 0; d < 200; d++) {
            assert_true(r.res->pts[p].figs[d].zero_fraction == (p == 0 ? 0.5 : 0.0));
            assert_int_equal(r.res->pts[p].figs[d].structural_zeros, p == 0 ? 200 : 0);
        }
        expect_moment(&r, p, 1, 1.0);
        expect_moment(&r, p, 2, 1.0 + q + 1.0 / t);
        expect_moment(&r, p, 3, 1.0 + 3 * q + q * q + (3 * n + 3 * t + 4) / (t * t));
    }
    run_free(&r);
}

/* Diagonal: eigenvalues are i.i.d. N(0, 1): m2 = 1 and m4 = 3 in expectation. */
static void test_diagonal(void **state)
{
    (void)state;
    run r = run_config("{\"name\":\"d\",\"seed\":13,\"draws\":400,\"ensemble\":{\"type\":\"diagonal\",\"n\":400},"
                       "\"statistics\":{\"moments\":4}}");
    expect_moment(&r, 0, 1, 0.0);
    expect_moment(&r, 0, 2, 1.0);
    expect_moment(&r, 0, 4, 3.0);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wigner),
        cmocka_unit_test(test_wishart),
        cmocka_unit_test(test_diagonal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
