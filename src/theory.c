#include "theory.h"

#include <math.h>
#include <stdlib.h>

#define CDF_GRID 4096

struct rmt_cdf {
    int32_t kind;    /* rmt_ens_kind */
    double center;   /* wishart: (l+ + l-)/2 */
    double radius;   /* wishart: (l+ - l-)/2 */
    double *cum;     /* wishart: CDF at theta_k = pi k / CDF_GRID, k = 0..CDF_GRID */
};

int rmt_theory_has_cdf(const rmt_ensemble *e)
{
    /* sparse percolation (mean_degree) changes the limit law; dense
     * percolation and finite-rank spikes leave the bulk's law alone */
    if ((e->kind == RMT_ENS_WIGNER || e->kind == RMT_ENS_WISHART) && e->mod.sparse) return 0;
    return e->kind == RMT_ENS_WIGNER || e->kind == RMT_ENS_WISHART || e->kind == RMT_ENS_DIAGONAL;
}

rmt_cdf *rmt_cdf_create(const rmt_ensemble *e)
{
    if (!rmt_theory_has_cdf(e)) return NULL;
    rmt_cdf *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->kind = e->kind;
    if (e->kind != RMT_ENS_WISHART) return c;
    /* Marchenko-Pastur, q = n/t: density sqrt((l+ - x)(x - l-)) / (2 pi q x)
     * on [l-, l+], mass min(1, 1/q). With x = center - radius cos(theta)
     * the integrand radius^2 sin^2(theta) / (2 pi q x) is smooth, so the
     * trapezoid rule on a uniform theta grid is accurate to ~1e-8. */
    double q = (double)e->n / (double)e->t;
    double lp = (1 + sqrt(q)) * (1 + sqrt(q)), lm = (1 - sqrt(q)) * (1 - sqrt(q));
    c->center = 0.5 * (lp + lm);
    c->radius = 0.5 * (lp - lm);
    c->cum = malloc(sizeof(double) * (CDF_GRID + 1));
    if (!c->cum) {
        free(c);
        return NULL;
    }
    double h = M_PI / CDF_GRID, prev = 0;
    c->cum[0] = 0;
    for (int k = 0; k <= CDF_GRID; k++) {
        double th = h * k, x = c->center - c->radius * cos(th);
        double f = x > 0 ? c->radius * c->radius * sin(th) * sin(th) / (2 * M_PI * q * x) : 0;
        /* at q = 1 the integrand tends to 4 radius^2/(2 pi l+) ... = 2/pi as theta -> 0 */
        if (x <= 0) f = c->radius * c->radius * 4.0 / (2 * M_PI * q * lp) ;
        if (k > 0) c->cum[k] = c->cum[k - 1] + 0.5 * h * (f + prev);
        prev = f;
    }
    double total = c->cum[CDF_GRID];
    for (int k = 0; k <= CDF_GRID; k++) c->cum[k] /= total;
    return c;
}

void rmt_cdf_destroy(rmt_cdf *c)
{
    if (!c) return;
    free(c->cum);
    free(c);
}

double rmt_cdf_eval(const rmt_cdf *c, double x)
{
    switch (c->kind) {
    case RMT_ENS_WIGNER:
        if (x <= -2) return 0;
        if (x >= 2) return 1;
        return 0.5 + x * sqrt(4 - x * x) / (4 * M_PI) + asin(x / 2) / M_PI;
    case RMT_ENS_DIAGONAL:
        return 0.5 * erfc(-x / M_SQRT2);
    case RMT_ENS_WISHART: {
        double y = (c->center - x) / c->radius;
        if (y >= 1) return 0;
        if (y <= -1) return 1;
        double th = acos(y) / (M_PI / CDF_GRID);
        int k = (int)th;
        if (k >= CDF_GRID) return 1;
        double w = th - k;
        return (1 - w) * c->cum[k] + w * c->cum[k + 1];
    }
    default:
        return NAN;
    }
}

double rmt_theory_spacing_cdf_goe(double s) { return s <= 0 ? 0 : 1 - exp(-M_PI * s * s / 4); }
double rmt_theory_spacing_cdf_poisson(double s) { return s <= 0 ? 0 : 1 - exp(-s); }

static double ratio_pdf_goe(double r)
{
    if (r < 0) return 0;
    return 27.0 / 8.0 * (r + r * r) / pow(1 + r + r * r, 2.5);
}
double rmt_theory_ratio_cdf_poisson(double r) { return r <= 0 ? 0 : r / (1 + r); }

double rmt_theory_ratio_cdf_goe(double r)
{
    /* Simpson's rule on r = tan(phi), which maps [0, inf) to [0, pi/2) and
     * keeps the integrand smooth; 400 panels give ~1e-10. */
    if (r <= 0) return 0;
    double b = atan(r);
    int m = 400;
    double h = b / m, s = 0;
    for (int k = 0; k <= m; k++) {
        double ph = h * k, x = tan(ph), sec2 = 1 + x * x;
        double f = ratio_pdf_goe(x) * sec2;
        s += f * (k == 0 || k == m ? 1 : (k % 2 ? 4 : 2));
    }
    return s * h / 3;
}

double rmt_theory_number_variance_goe(double L)
{
    const double euler = 0.57721566490153286;
    return 2 / (M_PI * M_PI) * (log(2 * M_PI * L) + euler + 1 - M_PI * M_PI / 8);
}
double rmt_theory_number_variance_poisson(double L) { return L; }
