#include "stats.h"

#include <float.h>
#include <math.h>

double rmt_stats_edge(double lo, double hi, int64_t bins, int64_t k)
{
    if (k >= bins) return hi;
    return lo + (hi - lo) * ((double)k / (double)bins);
}

int64_t rmt_stats_bin(double x, double lo, double hi, int64_t bins)
{
    if (x < lo) return -1;
    if (x > hi || isnan(x)) return bins; /* NaN: never inside; callers pass finite values */
    double t = (x - lo) / (hi - lo) * (double)bins; /* NaN for an infinite range: bin 0, then settled */
    int64_t k = t >= (double)bins ? bins - 1 : t >= 0 ? (int64_t)t : 0;
    /* settle rounding against the stored edges */
    while (k > 0 && x < rmt_stats_edge(lo, hi, bins, k)) k--;
    while (k < bins - 1 && x >= rmt_stats_edge(lo, hi, bins, k + 1)) k++;
    return k;
}

double rmt_stats_auto_tol(int64_t n, const double *w)
{
    double m = 0;
    if (n > 0) m = fmax(fabs(w[0]), fabs(w[n - 1]));
    return (double)n * DBL_EPSILON * m;
}

/* Consecutive spacings of the eigenvalues beyond the zero tolerance: the
 * histogram of r = s_{i+1} / s_i and the mean of min(r, 1/r). Ratios need no
 * unfolding (the local density cancels), so each draw measures them alone.
 * A zero spacing (degenerate eigenvalues) gives no ratio. */
static void gap_ratios(const rmt_statcfg *cfg, int64_t n, const double *w, double tol, rmt_draw_figs *f,
                       uint64_t *counts)
{
    double prev = NAN, sprev = NAN, sum = 0;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        if (fabs(w[i]) <= tol) continue;
        if (!isnan(prev)) {
            double s = w[i] - prev;
            if (!isnan(sprev) && sprev > 0) {
                double r = s / sprev;
                if (cfg->gr_bins > 0) {
                    /* r >= 0; those above max go to the slot after the bins */
                    int64_t k = rmt_stats_bin(r, 0.0, cfg->gr_max, cfg->gr_bins);
                    if (k >= 0) counts[k < cfg->gr_bins ? k : cfg->gr_bins]++;
                }
                if (s > 0) {
                    sum += r < 1 ? r : 1 / r;
                    m++;
                }
            }
            sprev = s;
        }
        prev = w[i];
    }
    f->mean_gap_ratio = m > 0 ? sum / (double)m : NAN;
}

int64_t rmt_stats_ncounts(const rmt_statcfg *cfg)
{
    return (int64_t)cfg->bins + (cfg->gr_bins > 0 ? (int64_t)cfg->gr_bins + 1 : 0);
}

const char *rmt_unfolding_name(int unfolding)
{
    static const char *const names[] = {"", "pool", "theory", "polynomial"};
    return unfolding >= RMT_UNFOLD_POOL && unfolding <= RMT_UNFOLD_POLYNOMIAL ? names[unfolding] : "";
}

int rmt_stats_needs_spectra(const rmt_statcfg *cfg) { return cfg->eigenvalues || cfg->sp_unfold != RMT_UNFOLD_NONE; }

void rmt_stats_draw(const rmt_statcfg *cfg, int64_t n, const double *w, rmt_draw_figs *f, uint64_t *counts)
{
    f->lambda_min = n > 0 ? w[0] : NAN;
    f->lambda_max = n > 0 ? w[n - 1] : NAN;
    double tol = cfg->zero_tol_auto ? rmt_stats_auto_tol(n, w) : cfg->zero_tol;
    int64_t zeros = 0;
    for (int64_t i = 0; i < n; i++)
        if (fabs(w[i]) <= tol) zeros++;
    f->zero_fraction = n > 0 ? (double)zeros / (double)n : NAN;
    gap_ratios(cfg, n, w, tol, f, counts + (cfg->bins > 0 ? cfg->bins : 0));
    f->below = f->above = 0;
    if (cfg->bins > 0)
        for (int64_t i = 0; i < n; i++) {
            int64_t k = rmt_stats_bin(w[i], cfg->lo, cfg->hi, cfg->bins);
            if (k < 0) f->below++;
            else if (k >= cfg->bins) f->above++;
            else counts[k]++;
        }
    for (int k = 0; k < RMT_MAX_MOMENTS; k++) f->moments[k] = 0.0;
    int K = cfg->moments;
    if (K > 0) {
        double s[RMT_MAX_MOMENTS] = {0};
        for (int64_t i = 0; i < n; i++) {
            double p = 1.0;
            for (int k = 0; k < K; k++) {
                p *= w[i];
                s[k] += p;
            }
        }
        for (int k = 0; k < K; k++) f->moments[k] = s[k] / (double)n;
    }
}

/* A compensated sum (Neumaier 1974, ZAMM 54, 39-51) of deviations from
 * the first value: draws that all give the same figure (an exact zero
 * mass, say) have that figure as their mean and a standard error of
 * exactly 0, not the naive sum's rounding (1e-14, 1e-16). */
typedef struct {
    double sum, comp;
} ksum;

static void ksum_add(ksum *k, double v)
{
    double t = k->sum + v;
    k->comp += fabs(k->sum) >= fabs(v) ? (k->sum - t) + v : (v - t) + k->sum;
    k->sum = t;
}

void rmt_stats_mean_stderr(const double *x, int64_t m, int64_t stride, double *mean, double *se)
{
    ksum sum = {0, 0};
    int64_t c = 0;
    double x0 = 0;
    for (int64_t i = 0; i < m; i++) {
        double v = x[i * stride];
        if (isfinite(v)) {
            if (c == 0) x0 = v;
            ksum_add(&sum, v - x0);
            c++;
        }
    }
    *mean = c > 0 ? x0 + (sum.sum + sum.comp) / (double)c : NAN;
    ksum ss = {0, 0};
    for (int64_t i = 0; i < m; i++) {
        double v = x[i * stride];
        if (isfinite(v)) ksum_add(&ss, (v - *mean) * (v - *mean));
    }
    *se = c > 1 ? sqrt((ss.sum + ss.comp) / (double)(c - 1) / (double)c) : NAN;
}
