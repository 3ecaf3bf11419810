#include "ensemble.h"

#include <math.h>

void rmt_ensemble_layout(const rmt_ensemble *e, rmt_layout *out)
{
    switch (e->kind) {
    case RMT_ENS_WISHART:
        out->form = RMT_FORM_GRAM;
        out->rows = e->n;
        out->cols = e->t;
        break;
    case RMT_ENS_DIAGONAL:
        out->form = RMT_FORM_DIAGONAL;
        out->rows = e->n;
        out->cols = 1;
        break;
    default:
        out->form = RMT_FORM_SYMMETRIC;
        out->rows = e->n;
        out->cols = e->n;
        break;
    }
}

void rmt_ensemble_fill(const rmt_ensemble *e, const rmt_stream *s, int64_t i0, int64_t i1,
                       int64_t j0, int64_t j1, double *a, int64_t lda)
{
    switch (e->kind) {
    case RMT_ENS_WIGNER: {
        /* H = (G + G^T) / sqrt(2n): off-diagonal N(0, 1/n), diagonal N(0, 2/n).
         * One normal per unordered pair (min(i,j), max(i,j)) gives exactly
         * that law and makes H symmetric whoever fills which half. */
        const double off = 1.0 / sqrt((double)e->n);
        const double diag = sqrt(2.0) * off;
        for (int64_t j = j0; j < j1; j++) {
            double *col = a + (size_t)(j - j0) * (size_t)lda;
            for (int64_t i = i0; i < i1; i++) {
                uint32_t lo = (uint32_t)(i < j ? i : j), hi = (uint32_t)(i < j ? j : i);
                double g = rmt_rng_normal(s, lo, hi, RMT_TAG_ENTRY);
                col[i - i0] = g * (i == j ? diag : off);
            }
        }
        break;
    }
    case RMT_ENS_WISHART: {
        /* Z n x t with entries N(0, 1/t), so W = Z Z^T = (raw Z)(raw Z)^T / t. */
        const double sc = 1.0 / sqrt((double)e->t);
        for (int64_t j = j0; j < j1; j++) {
            double *col = a + (size_t)(j - j0) * (size_t)lda;
            for (int64_t i = i0; i < i1; i++)
                col[i - i0] = sc * rmt_rng_normal(s, (uint32_t)i, (uint32_t)j, RMT_TAG_ENTRY);
        }
        break;
    }
    case RMT_ENS_DIAGONAL:
        for (int64_t i = i0; i < i1; i++)
            a[i - i0] = rmt_rng_normal(s, (uint32_t)i, (uint32_t)i, RMT_TAG_ENTRY);
        break;
    default:
        break;
    }
}

void rmt_ensemble_support(const rmt_ensemble *e, double *a, double *b)
{
    switch (e->kind) {
    case RMT_ENS_WISHART: {
        double q = (double)e->n / (double)e->t;
        *a = 0.0; /* the atom (q > 1) and the lower edge (1 - sqrt q)^2 both show */
        *b = (1.0 + sqrt(q)) * (1.0 + sqrt(q));
        break;
    }
    case RMT_ENS_DIAGONAL: {
        /* max of n standard normals is about sqrt(2 ln n); 2 more covers the rest */
        double m = sqrt(2.0 * log((double)e->n + 1.0)) + 2.0;
        *a = -m;
        *b = m;
        break;
    }
    default:
        *a = -2.0;
        *b = 2.0;
        break;
    }
}

double rmt_ensemble_zero_mass_theory(const rmt_ensemble *e)
{
    switch (e->kind) {
    case RMT_ENS_WISHART: {
        double m = 1.0 - (double)e->t / (double)e->n;
        return m > 0.0 ? m : 0.0;
    }
    case RMT_ENS_WIGNER:
    case RMT_ENS_DIAGONAL:
        return 0.0; /* absolutely continuous limit laws */
    default:
        return NAN;
    }
}

double rmt_ensemble_bytes(const rmt_ensemble *e)
{
    double n = (double)e->n;
    switch (e->kind) {
    case RMT_ENS_WISHART: {
        double t = (double)e->t, m = n < t ? n : t;
        /* factor, the smaller Gram matrix, eigenvalues, workspace */
        return 8.0 * (n * t + m * m + n + 64.0 * m);
    }
    case RMT_ENS_DIAGONAL:
        return 8.0 * 2.0 * n;
    default:
        return 8.0 * (n * n + n + 64.0 * n);
    }
}

double rmt_ensemble_flops(const rmt_ensemble *e)
{
    double n = (double)e->n;
    switch (e->kind) {
    case RMT_ENS_WISHART: {
        double t = (double)e->t, m = n < t ? n : t, big = n < t ? t : n;
        return m * m * big + 4.0 / 3.0 * m * m * m; /* syrk + tridiagonal reduction */
    }
    case RMT_ENS_DIAGONAL:
        return n * log(n + 1.0);
    default:
        return 4.0 / 3.0 * n * n * n;
    }
}
