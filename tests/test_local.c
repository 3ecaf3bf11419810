/* Local spectral statistics: gap ratios, unfolded spacings, number
 * variance, against GOE and Poisson theory (arXiv 2102.06740's checks). */
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
#include "local.h"
#include "results.h"
#include "solve.h"
#include "theory.h"

#define NSE 4.0 /* standard errors allowed */

#include "runcfg.h"

static void expect_rtilde(const run *r, uint32_t point, double theory)
{
    double m, se;
    rmt_results_estimate(r->res, point, "mean_gap_ratio", 0, &m, &se);
    printf("# point %u <r~> = %.5f +- %.5f, theory %.5f (%.2f se)\n", point, m, se, theory, (m - theory) / se);
    assert_true(se > 0);
    assert_true(fabs(m - theory) <= NSE * se);
}

/* GOE (wigner) at n = 1000, 60 draws (standard error ~0.001): the mean of
 * min(r, 1/r) is 0.5307 (Atas et al. 2013, large-n value). Diagonal
 * (i.i.d. levels): 2 ln 2 - 1 = 0.3863. Swapping the two, or measuring raw
 * r instead of min(r, 1/r), misses by over 100 standard errors. */
static void test_gap_ratio_means(void **state)
{
    (void)state;
    run r = run_config("{\"name\":\"g\",\"seed\":5,\"draws\":60,\"experiments\":["
                       "{\"name\":\"goe\",\"ensemble\":{\"type\":\"wigner\",\"n\":1000}},"
                       "{\"name\":\"poisson\",\"ensemble\":{\"type\":\"diagonal\",\"n\":1000}}],"
                       "\"statistics\":{\"gap_ratios\":{\"bins\":40,\"max\":10}}}");
    expect_rtilde(&r, 0, RMT_RTILDE_GOE);
    expect_rtilde(&r, 1, RMT_RTILDE_POISSON);
    /* the ratio histograms sit closer to their own law than to the other */
    const uint64_t *cg = r.res->pts[0].counts, *cp = r.res->pts[1].counts;
    int64_t dof;
    double gg = rmt_local_chi2(cg, 40, 10, rmt_theory_ratio_cdf_goe, &dof);
    double gp = rmt_local_chi2(cg, 40, 10, rmt_theory_ratio_cdf_poisson, &dof);
    double pg = rmt_local_chi2(cp, 40, 10, rmt_theory_ratio_cdf_goe, &dof);
    double pp = rmt_local_chi2(cp, 40, 10, rmt_theory_ratio_cdf_poisson, &dof);
    printf("# ratio chi2/dof: GOE data vs GOE %.2f, vs Poisson %.2f; Poisson data vs GOE %.2f, vs Poisson %.2f\n", gg,
           gp, pg, pp);
    assert_true(gg < gp / 10 && pp < pg / 10);
    run_free(&r);
}

/* Pool-unfolded GOE spacings in the bulk: mean 1, and the variance of
 * GOE's exact spacing law, 0.286 (Mehta), plus what pooling adds: each
 * spacing is measured by the other D - 1 draws' levels between its two
 * ends, whose count varies by Sigma^2(1) = 0.442 per draw, so the variance
 * grows by 0.442 / (D - 1). With N spacings the sample variance has a
 * standard error of sqrt((mu4 - var^2) / N), mu4 = 0.242 and var = 0.273
 * for the Wigner surmise (0.0015 at N = 72 000); allowed: 4 of them. The
 * surmise's own variance, 4/pi - 1 = 0.273, sits 8 of them away, so it
 * fails (checked below). The number variance at L = 4 matches GOE's
 * Sigma^2(4) = 0.723 (large-L form; pooling adds 0.723 / (D - 1)) within
 * 0.03, 4 standard errors of ~0.0075 (~36 000 half-overlapping windows);
 * Poisson's is 4. The KS distance is smaller to the Wigner surmise than to
 * Poisson. */
static void test_pool_spacings_goe(void **state)
{
    (void)state;
    run r = run_config("{\"name\":\"s\",\"seed\":6,\"draws\":240,\"ensemble\":{\"type\":\"wigner\",\"n\":500},"
                       "\"statistics\":{\"spacings\":{\"unfolding\":\"pool\",\"bins\":50,\"max\":5,\"bulk\":[0.2,0.8]}}}");
    const rmt_local *l = &r.res->pts[0].local;
    const double D = 240, goe = 0.286 + 0.442 / (D - 1), surmise = 4 / M_PI - 1 + 0.442 / (D - 1);
    const double se = sqrt((0.242 - 0.273 * 0.273) / (double)l->count);
    const double nv4 = rmt_theory_number_variance_goe(4) * (1 + 1 / (D - 1));
    printf("# pool: %lld spacings, mean %.4f, variance %.4f (GOE %.4f, surmise %.4f, se %.4f), KS goe %.4f poisson %.4f, "
           "Sigma2(4) %.3f (GOE %.3f), chi2/dof GOE %.2f (%lld dof)\n",
           (long long)l->count, l->mean, l->var, goe, surmise, se, l->ks_goe, l->ks_poisson, l->nv[3], nv4, l->chi2_goe,
           (long long)l->chi2_dof_goe);
    assert_true(l->count > 240 * 250);
    assert_true(fabs(l->mean - 1.0) < 0.01);
    assert_true(fabs(l->var - goe) < NSE * se);
    assert_true(fabs(surmise - goe) > 2 * NSE * se); /* the test can tell the two apart */
    assert_true(l->ks_goe < l->ks_poisson / 5);
    assert_true(fabs(l->nv[3] - nv4) < 0.03);
    run_free(&r);
}

/* The laws the histograms are compared with, checked against properties
 * that do not depend on how they are coded: each CDF reaches 1; the ratio
 * laws are symmetric under r -> 1/r (P(r) = P(1/r) / r^2), so F(1) = 1/2;
 * the mean of min(r, 1/r), 1 - 2 int_0^1 F, is 4 - 2 sqrt 3 = 0.5359 for
 * the GOE surmise (Atas et al. 2013) and 2 ln 2 - 1 for Poisson; the Wigner
 * surmise has mean 1 (int (1 - F)) and variance 4/pi - 1. A wrong constant
 * (the 27/8, the pi/4) breaks the first two of these. */
static void test_theory_laws(void **state)
{
    (void)state;
    assert_true(fabs(rmt_theory_ratio_cdf_goe(1e9) - 1) < 1e-8);
    assert_true(fabs(rmt_theory_ratio_cdf_poisson(1e12) - 1) < 1e-9);
    assert_true(fabs(rmt_theory_ratio_cdf_goe(1) - 0.5) < 1e-9);
    assert_true(fabs(rmt_theory_ratio_cdf_poisson(1) - 0.5) < 1e-12);
    double ig = 0, ip = 0, m1 = 0, m2 = 0;
    const int N = 20000;
    for (int k = 0; k < N; k++) { /* midpoint rule on [0, 1] and on [0, 8] */
        double r = (k + 0.5) / N, s = 8.0 * (k + 0.5) / N;
        ig += rmt_theory_ratio_cdf_goe(r) / N;
        ip += rmt_theory_ratio_cdf_poisson(r) / N;
        m1 += (1 - rmt_theory_spacing_cdf_goe(s)) * 8.0 / N;
        m2 += 2 * s * (1 - rmt_theory_spacing_cdf_goe(s)) * 8.0 / N;
    }
    printf("# <r~> GOE surmise %.6f (4 - 2 sqrt 3 = %.6f), Poisson %.6f; spacing surmise mean %.6f, variance %.6f\n",
           1 - 2 * ig, 4 - 2 * sqrt(3), 1 - 2 * ip, m1, m2 - m1 * m1);
    assert_true(fabs(1 - 2 * ig - (4 - 2 * sqrt(3))) < 1e-6);
    assert_true(fabs(1 - 2 * ip - RMT_RTILDE_POISSON) < 1e-6);
    assert_true(fabs(rmt_theory_spacing_cdf_goe(1e3) - 1) < 1e-12);
    assert_true(fabs(m1 - 1) < 1e-6);
    assert_true(fabs(m2 - m1 * m1 - (4 / M_PI - 1)) < 1e-6);
}

/* Pool-unfolded spacings from few draws fill the histogram smoothly. With
 * D = 30 draws a plain count of the pool (no interpolation) puts every
 * spacing on the grid 1/29 = 0.034, so bins of 0.1 alternately hold 3 and 2
 * grid steps and their counts zigzag. Measure: the second differences
 * c[k-1] - 2 c[k] + c[k+1] of the counts, squared, over their Poisson
 * variance c[k-1] + 4 c[k] + c[k+1], averaged over the bins where that
 * variance is at least 100: about 1 for a smooth histogram (0.6-1.3 over
 * seeds 1-8; the terms of neighbouring bins overlap, so the mean of ~27
 * of them varies by ~0.5), 5.0-7.3 on the grid (same seeds). Allowed: 3. */
static void test_pool_spacings_smooth(void **state)
{
    (void)state;
    run r = run_config("{\"name\":\"z\",\"seed\":1,\"draws\":30,\"ensemble\":{\"type\":\"wigner\",\"n\":600},"
                       "\"statistics\":{\"spacings\":{\"unfolding\":\"pool\",\"bins\":40,\"max\":4,\"bulk\":[0.2,0.8]}}}");
    const rmt_local *l = &r.res->pts[0].local;
    double sum = 0;
    int terms = 0;
    for (int k = 1; k + 1 < 40; k++) {
        double a = (double)l->counts[k - 1], b = (double)l->counts[k], c = (double)l->counts[k + 1];
        double v = a + 4 * b + c;
        if (v < 100) continue;
        sum += (a - 2 * b + c) * (a - 2 * b + c) / v;
        terms++;
    }
    printf("# pool, 30 draws: squared second differences over their variance %.2f (%d bins)\n", sum / terms, terms);
    assert_true(terms >= 20);
    assert_true(sum / terms < 3.0);
    run_free(&r);
}

/* Theory and polynomial unfolding of the same kind of data agree with the
 * pool: mean spacing 1 in the bulk, GOE-like variance. The polynomial is
 * fitted to a smooth CDF, so it matches theory closely. */
static void test_theory_polynomial_spacings(void **state)
{
    (void)state;
    run r = run_config("{\"name\":\"t\",\"seed\":7,\"draws\":40,\"experiments\":["
                       "{\"name\":\"th\",\"ensemble\":{\"type\":\"wigner\",\"n\":400},"
                       "\"statistics\":{\"spacings\":{\"unfolding\":\"theory\",\"bulk\":[0.25,0.75]}}},"
                       "{\"name\":\"poly\",\"ensemble\":{\"type\":\"wigner\",\"n\":400},"
                       "\"statistics\":{\"spacings\":{\"unfolding\":\"polynomial\",\"degree\":9,\"bulk\":[0.25,0.75]}}},"
                       "{\"name\":\"mp\",\"ensemble\":{\"type\":\"wishart\",\"n\":400,\"ratio\":2},"
                       "\"statistics\":{\"spacings\":{\"unfolding\":\"theory\",\"bulk\":[0.25,0.75]}}}]}");
    for (uint32_t p = 0; p < 3; p++) {
        const rmt_local *l = &r.res->pts[p].local;
        printf("# point %u: %lld spacings, mean %.4f, variance %.4f\n", p, (long long)l->count, l->mean, l->var);
        /* finite-n corrections to the limiting CDF are O(1/n) in the bulk */
        assert_true(fabs(l->mean - 1.0) < 0.02);
        assert_true(fabs(l->var - 0.286) < 0.02);
    }
    run_free(&r);
}

/* A polynomial cannot follow the CDF of a sparse matrix (levels crowd near
 * zero): the fit decreases in places, and some "spacings" come out negative
 * (here ~70 of ~4 000). They are counted in below and kept out of the
 * figures: count = the binned spacings + those above max. */
static void test_polynomial_negative_spacings(void **state)
{
    (void)state;
    run r = run_config("{\"name\":\"p\",\"seed\":5,\"draws\":20,\"ensemble\":{\"type\":\"wigner\",\"n\":300,"
                       "\"percolation\":{\"mean_degree\":3}},\"statistics\":{\"spacings\":{\"unfolding\":\"polynomial\"}}}");
    const rmt_local *l = &r.res->pts[0].local;
    uint64_t binned = 0;
    for (int64_t k = 0; k < r.plan->points[0].stat.sp_bins; k++) binned += l->counts[k];
    printf("# polynomial, sparse: %lld kept, %llu binned, %llu above, %llu negative\n", (long long)l->count,
           (unsigned long long)binned, (unsigned long long)l->above, (unsigned long long)l->below);
    assert_true(l->below > 0);
    assert_int_equal(l->count, binned + l->above);
    run_free(&r);
}

/* A shared random shift larger than a draw's own width (gp-hessian with
 * kp = 1, kpp = 1e-4: kp xi moves each spectrum by ~1, its width is ~0.07)
 * defeats every pooled unfolding: against the other draws' levels a draw's
 * spacings come out about 4x too small. Each draw's own fitted CDF
 * ("per_draw") gives GOE spacings: mean 1 and variance 0.286 within the
 * O(1/n) finite-size tolerance of test_theory_polynomial_spacings (0.02). */
static void test_polynomial_per_draw(void **state)
{
    (void)state;
    run r = run_config("{\"name\":\"d\",\"seed\":4,\"draws\":60,\"experiments\":["
                       "{\"name\":\"own\",\"statistics\":{\"spacings\":{\"unfolding\":\"polynomial\",\"per_draw\":true,"
                       "\"bulk\":[0.2,0.8]}}},"
                       "{\"name\":\"pooled\",\"statistics\":{\"spacings\":{\"unfolding\":\"polynomial\",\"bulk\":[0.2,0.8]}}}],"
                       "\"ensemble\":{\"type\":\"gp-hessian\",\"n\":300,\"kp\":1,\"kpp\":0.0001}}");
    const rmt_local *own = &r.res->pts[0].local, *pooled = &r.res->pts[1].local;
    printf("# gp-hessian kp 1 kpp 1e-4: per draw mean %.4f variance %.4f (%lld spacings); pooled mean %.4f\n", own->mean,
           own->var, (long long)own->count, pooled->mean);
    assert_true(own->count > 60 * 150);
    assert_true(fabs(own->mean - 1.0) < 0.02);
    assert_true(fabs(own->var - 0.286) < 0.02);
    assert_true(pooled->mean < 0.5);
    run_free(&r);
}

/* Pool-unfolded spacings of `draws` spectra of 3 levels each (eig, draw
 * after draw; zero tolerance 0, whole range), histogram of 4 bins on
 * [0, 2.4), into *l (freed by the caller). */
static void pool_by_hand(uint32_t draws, const double *eig, rmt_local *l)
{
    rmt_point pt;
    memset(&pt, 0, sizeof pt);
    pt.draws = draws;
    pt.ens.kind = RMT_ENS_WIGNER;
    pt.ens.n = 3;
    pt.stat.zero_tol_auto = 0;
    pt.stat.zero_tol = 0.0;
    pt.stat.sp_unfold = RMT_UNFOLD_POOL;
    pt.stat.sp_bins = 4;
    pt.stat.sp_max = 2.4;
    pt.stat.sp_bulk_lo = 0.0;
    pt.stat.sp_bulk_hi = 1.0;
    uint8_t usable[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    assert_true(draws <= 8);
    memset(l, 0, sizeof *l);
    assert_int_equal(rmt_local_spacings(&pt, eig, usable, l), RMT_OK);
}

/* Pool unfolding by hand. Three spectra {0.1, 0.5, 0.9}, {0.2, 0.4, 0.95},
 * {0.3, 0.6, 0.7}. Each draw against the pool of the other two (D - 1 = 2),
 * whose sorted values q_j count F(q_j) = j, linearly in between, 0 below
 * q_0 and M - 1 = 5 above q_5; u = F / 2.
 * Draw 0, Q = {.2 .3 .4 .6 .7 .95}: 0.1 -> 0;  0.5 -> 2.5 (half way from
 *   .4 to .6);  0.9 -> 4.8 (.7 to .95);  u = 0, 1.25, 2.4: spacings 1.25, 1.15.
 * Draw 1, Q = {.1 .3 .5 .6 .7 .9}: 0.2 -> 0.5;  0.4 -> 1.5;  0.95 -> 5;
 *   u = .25, .75, 2.5: spacings 0.5, 1.75.
 * Draw 2, Q = {.1 .2 .4 .5 .9 .95}: 0.3 -> 1.5;  0.6 -> 3.25;  0.7 -> 3.5;
 *   u = .75, 1.625, 1.75: spacings 0.875, 0.125.
 * Bins of width 0.6 on [0, 2.4) (no spacing on an edge): [0,.6): 2 (0.125,
 * 0.5); [.6,1.2): 2 (0.875, 1.15); [1.2,1.8): 2 (1.25, 1.75). A plain count
 * of the pool below (no interpolation) gives spacings 1.5, 1, .5, 2, 1, 0
 * instead. */
static void test_pool_by_hand(void **state)
{
    (void)state;
    const double eig[9] = {0.1, 0.5, 0.9, 0.2, 0.4, 0.95, 0.3, 0.6, 0.7};
    rmt_local l;
    pool_by_hand(3, eig, &l);
    const uint64_t want[4] = {2, 2, 2, 0};
    for (int k = 0; k < 4; k++) assert_int_equal(l.counts[k], want[k]);
    assert_int_equal(l.count, 6);
    /* mean 5.65 / 6; variance: squared deviations from it sum to 1.658333..., over 5 */
    assert_true(fabs(l.mean - 5.65 / 6) < 1e-12);
    assert_true(fabs(l.var - 1.9900 / 6) < 1e-12);
    rmt_local_free(&l);
}

/* Two levels beyond all of the other draws' take the same clamped value
 * (F = M - 1 above the pool): that is no spacing, and none is counted.
 * Draws {0.1, 0.5, 0.9} and {0.2, 0.95, 0.97} (D - 1 = 1): draw 0 gives
 * u = 0, 0.4, 0.9333 (spacings 0.4, 0.5333); draw 1 gives u = 0.25, 2, 2:
 * spacing 1.75, and none between 0.95 and 0.97. */
static void test_pool_clamped_edges(void **state)
{
    (void)state;
    const double eig[6] = {0.1, 0.5, 0.9, 0.2, 0.95, 0.97};
    rmt_local l;
    pool_by_hand(2, eig, &l);
    assert_int_equal(l.count, 3);
    assert_true(fabs(l.mean - (0.4 + 0.7 / 0.75 - 0.4 + 1.75) / 3) < 1e-12);
    rmt_local_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_theory_laws),
        cmocka_unit_test(test_pool_by_hand),
        cmocka_unit_test(test_pool_clamped_edges),
        cmocka_unit_test(test_gap_ratio_means),
        cmocka_unit_test(test_pool_spacings_goe),
        cmocka_unit_test(test_pool_spacings_smooth),
        cmocka_unit_test(test_polynomial_negative_spacings),
        cmocka_unit_test(test_polynomial_per_draw),
        cmocka_unit_test(test_theory_polynomial_spacings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
