#include "ensemble.h"

#include <math.h>

#include "freeprob.h"
#include "solve.h" /* rmt_solve_product_bytes, rmt_solve_work_doubles: sizes only */

/* The matrix of a wigner or wishart ensemble as a factor with its modifiers. */
static rmt_factor top_factor(const rmt_ensemble *e)
{
    rmt_factor f = e->mod;
    f.kind = e->kind == RMT_ENS_WISHART ? RMT_FAC_WISHART : RMT_FAC_WIGNER;
    f.rows = f.cols = e->n;
    f.t = e->t;
    return f;
}

static int percolated(const rmt_factor *f) { return f->keep > 0.0 && f->keep < 1.0; }

static int positive_spikes(const rmt_factor *f)
{
    int k = 0;
    for (int i = 0; i < f->nspikes; i++) k += f->spikes[i] > 0.0;
    return k;
}

/* Columns of a factor's stored matrix (a wishart factor carries one column per spike). */
static int64_t stored_cols(const rmt_factor *f)
{
    return f->kind == RMT_FAC_WISHART ? f->t + f->nspikes : f->cols;
}

/* What the entries of a run are: scale * N(0, 1) drawn at tag te, or 0
 * where percolation (perc) drops them, i.e. where the uniform at tag tm is
 * not below keep. */
typedef struct {
    uint32_t te, tm;
    int perc;
    double keep, scale;
} entry_law;

/* out[k] for k < count: the entries whose counters are (a + k, b) (along
 * RMT_RNG_ALONG_I) or (a, b + k) (RMT_RNG_ALONG_J), through rng's batch
 * functions: bit for bit what rmt_rng_uniform / rmt_rng_normal give entry
 * by entry. A percolated run draws its uniforms first; when few entries
 * are kept, only their normals are drawn, one by one. */
static void fill_run(const rmt_stream *s, const entry_law *law, uint32_t a, uint32_t b, rmt_rng_along along,
                     int64_t count, double *out)
{
    if (!law->perc) {
        rmt_rng_normals(s, a, b, law->te, along, count, law->scale, out);
        return;
    }
    enum { CH = 256 };
    double u[CH];
    for (int64_t k0 = 0; k0 < count; k0 += CH) {
        const int m = count - k0 < CH ? (int)(count - k0) : CH;
        const uint32_t a0 = along == RMT_RNG_ALONG_I ? a + (uint32_t)k0 : a;
        const uint32_t b0 = along == RMT_RNG_ALONG_J ? b + (uint32_t)k0 : b;
        double *o = out + k0;
        rmt_rng_uniforms(s, a0, b0, law->tm, along, m, u);
        int kept = 0;
        for (int k = 0; k < m; k++) kept += u[k] < law->keep;
        if (4 * kept < m) {
            /* sparse: a batch would draw the dropped entries' normals too */
            for (int k = 0; k < m; k++) {
                const uint32_t ak = along == RMT_RNG_ALONG_I ? a0 + (uint32_t)k : a0;
                const uint32_t bk = along == RMT_RNG_ALONG_J ? b0 + (uint32_t)k : b0;
                o[k] = u[k] < law->keep ? law->scale * rmt_rng_normal(s, ak, bk, law->te) : 0.0;
            }
        } else {
            rmt_rng_normals(s, a0, b0, law->te, along, m, law->scale, o);
            for (int k = 0; k < m; k++)
                if (!(u[k] < law->keep)) o[k] = 0.0;
        }
    }
}

/* Rows [i0, i1) of column j of a symmetric matrix, the diagonal excepted
 * (col[j - i0] is left alone). Entry (i, j) is drawn at the pair (min(i, j),
 * max(i, j)): above the diagonal that is (i, j), so the first counter word
 * runs down the column; below it, (j, i), so the second one does. */
static void fill_symmetric_column(const rmt_stream *s, const entry_law *law, int64_t j, int64_t i0, int64_t i1,
                                  double *col)
{
    const int64_t above = i1 < j ? i1 : j, below = i0 > j + 1 ? i0 : j + 1;
    if (above > i0) fill_run(s, law, (uint32_t)i0, (uint32_t)j, RMT_RNG_ALONG_I, above - i0, col);
    if (i1 > below) fill_run(s, law, (uint32_t)j, (uint32_t)below, RMT_RNG_ALONG_J, i1 - below, col + (below - i0));
}

/* Fill a block of a factor's stored matrix. Entry tag te and mask tag tm
 * keep factors of a product (and the top-level matrix) independent. */
static void fill_matrix(const rmt_factor *f, const rmt_stream *s, uint32_t te, uint32_t tm, int64_t i0, int64_t i1,
                        int64_t j0, int64_t j1, double *a, int64_t lda)
{
    const int perc = percolated(f);
    /* kept entries are scaled by 1/sqrt(P), so every variance is unchanged */
    const double boost = perc ? 1.0 / sqrt(f->keep) : 1.0;
    entry_law law = {te, tm, perc, f->keep, 1.0};
    for (int64_t j = j0; j < j1; j++) {
        double *col = a + (size_t)(j - j0) * (size_t)lda;
        switch (f->kind) {
        case RMT_FAC_GAUSSIAN:
            /* entries N(0, 1/rows), so E F^T F = I */
            law.scale = boost / sqrt((double)f->rows);
            fill_run(s, &law, (uint32_t)i0, (uint32_t)j, RMT_RNG_ALONG_I, i1 - i0, col);
            if (j < f->nspikes && j >= i0 && j < i1) col[j - i0] += f->spikes[j]; /* theta_j e_j e_j^T */
            break;
        case RMT_FAC_WIGNER:
            /* H = (G + G^T) / sqrt(2n): off-diagonal N(0, 1/n), diagonal N(0, 2/n).
             * One normal (and one mask) per unordered pair (min(i,j), max(i,j))
             * gives exactly that law and makes H symmetric whoever fills which half. */
            law.scale = boost * (1.0 / sqrt((double)f->rows));
            fill_symmetric_column(s, &law, j, i0, i1, col);
            if (j >= i0 && j < i1) {
                double v = 0.0;
                if (!perc || rmt_rng_uniform(s, (uint32_t)j, (uint32_t)j, tm) < f->keep)
                    v = boost * (sqrt(2.0) / sqrt((double)f->rows)) * rmt_rng_normal(s, (uint32_t)j, (uint32_t)j, te);
                if (j < f->nspikes) v += f->spikes[j];
                col[j - i0] = v;
            }
            break;
        case RMT_FAC_WISHART:
            /* Y = Z / sqrt(t), Z n x t, so W = Y Y^T = Z Z^T / t. A spike theta_k
             * is the column sqrt(theta_k) e_k: Y Y^T gains theta_k e_k e_k^T, and
             * the Gram structure (and its exact zeros) survives. */
            if (j < f->t) {
                law.scale = boost / sqrt((double)f->t);
                fill_run(s, &law, (uint32_t)i0, (uint32_t)j, RMT_RNG_ALONG_I, i1 - i0, col);
            } else {
                for (int64_t i = i0; i < i1; i++) col[i - i0] = i == j - f->t ? sqrt(f->spikes[j - f->t]) : 0.0;
            }
            break;
        default:
            for (int64_t i = i0; i < i1; i++) col[i - i0] = 0.0;
            break;
        }
    }
}

/* ---------------------------------------------------------- gp-hessian */

#define FEISTEL_ROUNDS 6

static int feistel_half_bits(int64_t n)
{
    int h = 1;
    while (h < 31 && ((int64_t)1 << (2 * h)) < n) h++;
    return h;
}

/* One pass of a balanced Feistel network on 2h bits with Philox round
 * functions (counter (half, 0x100 + round, draw, RMT_TAG_SHARED)): a
 * bijection of [0, 4^h), or its inverse. */
static uint64_t feistel(const rmt_stream *s, int h, uint64_t x, int inverse)
{
    const uint64_t mask = ((uint64_t)1 << h) - 1;
    uint64_t L = x >> h, R = x & mask;
    uint32_t w[4];
    if (!inverse) {
        for (int r = 0; r < FEISTEL_ROUNDS; r++) {
            rmt_rng_block(s, (uint32_t)R, 0x100u + (uint32_t)r, RMT_TAG_SHARED, w);
            uint64_t nl = R;
            R = L ^ (w[0] & mask);
            L = nl;
        }
    } else {
        for (int r = FEISTEL_ROUNDS - 1; r >= 0; r--) {
            rmt_rng_block(s, (uint32_t)L, 0x100u + (uint32_t)r, RMT_TAG_SHARED, w);
            uint64_t nr = L;
            L = R ^ (w[0] & mask);
            R = nr;
        }
    }
    return (L << h) | R;
}

/* A permutation of [0, n) by cycle walking: apply the network until the
 * value falls back into [0, n) (fewer than 4 steps on average). */
static int64_t permute(const rmt_stream *s, int64_t n, int64_t x, int inverse)
{
    int h = feistel_half_bits(n);
    uint64_t y = (uint64_t)x;
    do y = feistel(s, h, y, inverse);
    while (y >= (uint64_t)n);
    return (int64_t)y;
}

int64_t rmt_ensemble_outlier_position(const rmt_ensemble *e, const rmt_stream *s, int64_t k)
{
    return permute(s, e->gp_n, k, 0);
}

/* Standard deviation of gp-hessian's shared diagonal shift kp * xi. */
static double gp_shared_sd(const rmt_ensemble *e)
{
    return e->k0 > 0 ? fabs(e->kp) * sqrt(1.0 - 1.0 / e->k0) : fabs(e->kp);
}

static void fill_gp(const rmt_ensemble *e, const rmt_stream *s, int64_t i0, int64_t i1, int64_t j0, int64_t j1,
                    double *a, int64_t lda)
{
    /* M = sqrt(2 kpp) G, then (M + M^T)/2: off-diagonal variance kpp */
    const double off = sqrt(e->kpp), dz = sqrt(2.0 * e->kpp);
    /* one xi ~ N(0, 1) shared by the whole diagonal (draw-wide variable 0) */
    const double sign = e->kp < 0 ? -1.0 : 1.0;
    const double shift = sign * gp_shared_sd(e) * rmt_rng_normal(s, 0, 0, RMT_TAG_SHARED);
    const entry_law law = {RMT_TAG_ENTRY, 0, 0, 1.0, off};
    for (int64_t j = j0; j < j1; j++) {
        double *col = a + (size_t)(j - j0) * (size_t)lda;
        fill_symmetric_column(s, &law, j, i0, i1, col);
        if (j < i0 || j >= i1) continue;
        double v = shift + dz * rmt_rng_normal(s, (uint32_t)j, (uint32_t)j, RMT_TAG_ENTRY);
        if (e->outliers > 0) {
            /* diagonal j holds outlier k when the permutation maps k to j */
            int64_t k = permute(s, e->gp_n, j, 1);
            if (k < e->outliers) {
                double z = rmt_rng_normal(s, (uint32_t)k, 1, RMT_TAG_SHARED);
                v += (1.0 + z * z) * e->outlier_scale;
            }
        }
        col[j - i0] = v;
    }
}

/* ---------------------------------------------------------------- layout */

void rmt_ensemble_layout(const rmt_ensemble *e, rmt_layout *out)
{
    out->pad_ = 0;
    out->zeros = 0;
    switch (e->kind) {
    case RMT_ENS_WISHART:
        out->form = RMT_FORM_GRAM;
        out->rows = e->n;
        out->cols = e->t + e->mod.nspikes;
        break;
    case RMT_ENS_DIAGONAL:
        out->form = RMT_FORM_DIAGONAL;
        out->rows = e->n;
        out->cols = 1;
        break;
    case RMT_ENS_PRODUCT:
        out->form = RMT_FORM_PRODUCT;
        out->rows = out->cols = e->n;
        break;
    case RMT_ENS_GP_HESSIAN:
        out->form = RMT_FORM_SYMMETRIC;
        out->rows = out->cols = e->gp_n;
        out->zeros = e->degeneracy;
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
    case RMT_ENS_WIGNER:
    case RMT_ENS_WISHART: {
        rmt_factor f = top_factor(e);
        fill_matrix(&f, s, RMT_TAG_ENTRY, RMT_TAG_MASK, i0, i1, j0, j1, a, lda);
        break;
    }
    case RMT_ENS_DIAGONAL:
        for (int64_t i = i0; i < i1; i++)
            a[i - i0] = rmt_rng_normal(s, (uint32_t)i, (uint32_t)i, RMT_TAG_ENTRY);
        break;
    case RMT_ENS_GP_HESSIAN:
        fill_gp(e, s, i0, i1, j0, j1, a, lda);
        break;
    default:
        break;
    }
}

void rmt_ensemble_factor_shape(const rmt_ensemble *e, int f, int64_t *rows, int64_t *cols, int *gram)
{
    const rmt_factor *F = &e->factors[f];
    *rows = F->rows;
    *cols = stored_cols(F);
    *gram = F->kind == RMT_FAC_WISHART;
}

void rmt_ensemble_fill_factor(const rmt_ensemble *e, int f, const rmt_stream *s, int64_t i0, int64_t i1,
                              int64_t j0, int64_t j1, double *a, int64_t lda)
{
    fill_matrix(&e->factors[f], s, RMT_TAG_FACTOR0 + (uint32_t)f, RMT_TAG_FACTOR_MASK0 + (uint32_t)f, i0, i1, j0,
                j1, a, lda);
}

/* ---------------------------------------------------------------- theory */

/* Bauer-Golinelli / Bordenave-Lelarge-Salez: the kernel fraction of a
 * sparse symmetric matrix on an Erdos-Renyi graph of mean degree c,
 * m0 = q + e^(-cq) + c q e^(-cq) - 1, q the smallest root of
 * q = exp(-c e^(-cq)). The map is increasing, so iterating it from 0
 * climbs monotonically to the smallest fixed point. */
static double er_kernel_fraction(double c)
{
    double q = 0.0;
    for (long it = 0; it < 10000000L; it++) {
        double nq = exp(-c * exp(-c * q));
        if (fabs(nq - q) < 1e-15) {
            q = nq;
            break;
        }
        q = nq;
    }
    double ecq = exp(-c * q);
    return q + ecq + c * q * ecq - 1.0;
}

/* Kernel fraction of W = Z Z^T / t, Z n x t with each entry kept with
 * probability c/n (column degrees Poisson(d = c), row degrees Poisson(k =
 * c t/n)), in the limit: rank Z is Z's structural rank (its nonzero pattern's
 * maximum matching, for continuous entries), and by the rank formula of
 * Coja-Oghlan, Ergur, Gao, Hetterich and Rolvien ("The rank of sparse
 * random matrices", arXiv 1906.05757) rank Z / t -> 1 - max over a in [0, 1]
 * of Phi(a) = D(1 - K'(a)/k) - (d/k)(1 - K(a) - (1 - a) K'(a)), D and K the
 * degree generating functions; for Poisson ones K'(a)/k = K(a) = e^(k(a-1)).
 * Phi can have two maxima: a grid, then golden section around its best. */
static double sparse_wishart_phi(double d, double k, double a)
{
    const double K = exp(k * (a - 1.0));
    return exp(-d * K) - (d / k) * (1.0 - K - (1.0 - a) * k * K);
}

static double sparse_wishart_minus_phi(const double *dk, double a) { return -sparse_wishart_phi(dk[0], dk[1], a); }

static double sparse_wishart_kernel_fraction(double c, double n, double t)
{
    const double dk[2] = {c, c * t / n};
    const int G = 4000;
    int best = 0;
    double fb = -INFINITY;
    for (int i = 0; i <= G; i++) {
        double f = sparse_wishart_phi(dk[0], dk[1], (double)i / G);
        if (f > fb) fb = f, best = i;
    }
    double lo = (double)(best > 0 ? best - 1 : 0) / G, hi = (double)(best < G ? best + 1 : G) / G;
    const double phi = fmax(fb, -rmt_fp_golden_min(sparse_wishart_minus_phi, dk, lo, hi, 1e-14));
    const double m = 1.0 - (t / n) * (1.0 - phi);
    return m > 0.0 ? m : 0.0;
}

/* Largest eigenvalue of a spiked Wigner (q < 0) or Wishart (ratio q)
 * matrix in the limit: the edge, or the BBP outlier of the largest spike.
 * Outlier of A + theta v v^T at R(1/theta) + theta with R the R-transform:
 * Wigner theta + 1/theta for theta > 1; Marchenko-Pastur (R(w) = 1/(1 - q w))
 * theta + theta/(theta - q) for theta > q + sqrt(q). */
static double spiked_edge(const rmt_factor *f, double q)
{
    double L = q < 0 ? 2.0 : (1.0 + sqrt(q)) * (1.0 + sqrt(q));
    for (int i = 0; i < f->nspikes; i++) {
        double th = f->spikes[i];
        if (q < 0 && th > 1.0) L = fmax(L, th + 1.0 / th);
        if (q >= 0 && th > q + sqrt(q)) L = fmax(L, th + th / (th - q));
    }
    return L;
}

/* Smallest eigenvalue in the limit of a spiked Wigner matrix. */
static double wigner_low_edge(const rmt_factor *f)
{
    double L = -2.0;
    for (int i = 0; i < f->nspikes; i++)
        if (f->spikes[i] < -1.0) L = fmin(L, f->spikes[i] + 1.0 / f->spikes[i]);
    return L;
}

/* Rank of P in general position: the smallest dimension the chain passes
 * through (a wishart factor passes through t plus its positive spikes). */
static int64_t product_rank(const rmt_ensemble *e)
{
    int64_t r = e->factors[0].cols;
    for (int i = 0; i < e->nfactors; i++) {
        const rmt_factor *f = &e->factors[i];
        if (f->rows < r) r = f->rows;
        if (f->kind == RMT_FAC_WISHART && f->t + positive_spikes(f) < r) r = f->t + positive_spikes(f);
    }
    return r;
}

static int product_any(const rmt_ensemble *e, int what)
{
    for (int i = 0; i < e->nfactors; i++) {
        const rmt_factor *f = &e->factors[i];
        if (what == 0 && f->sparse) return 1;
        if (what == 1 && f->nspikes > 0) return 1;
        if (what == 2 && f->kind == RMT_FAC_GAUSSIAN) return 1;
        if (what == 3 && f->kind == RMT_FAC_WISHART) return 1;
    }
    return 0;
}
enum { ANY_SPARSE = 0, ANY_SPIKES = 1, ANY_GAUSSIAN = 2, ANY_WISHART = 3 };

/* Moments m_1..m_K of P^T P (normalised by N0) in the large-n limit, by
 * free multiplicative convolution from the outermost factor in:
 * Q_{k+1} = I, Q_j = F_j^T Q_{j+1} F_j, whose nonzero spectrum is that of
 * Q_{j+1} times F_j F_j^T (free, on the N_j = rows space), then rescaled
 * to the N_{j-1} = cols space (m_k -> (N_j / N_{j-1}) m_k). F F^T is
 * (c/r) MP(r/c) for a gaussian r x c factor, H^2 (Catalan moments) for a
 * wigner one and W^2 (even MP moments) for a wishart one. For square
 * Gaussian factors this gives the Fuss-Catalan numbers. Returns -1 when a
 * factor is sparse. */
static int gram_moments(const rmt_ensemble *e, int K, double *m)
{
    if (product_any(e, ANY_SPARSE)) return -1;
    double L[RMT_FP_MAX], B[RMT_FP_MAX], tmp[RMT_FP_MAX];
    for (int k = 0; k < K; k++) L[k] = 1.0;
    for (int j = e->nfactors - 1; j >= 0; j--) {
        const rmt_factor *f = &e->factors[j];
        double r = (double)f->rows, c = (double)f->cols;
        if (f->kind == RMT_FAC_GAUSSIAN) {
            rmt_fp_marchenko_pastur(r / c, K, B);
            for (int k = 0; k < K; k++) B[k] *= pow(c / r, k + 1);
        } else if (f->kind == RMT_FAC_WIGNER) {
            rmt_fp_semicircle(2 * K, tmp);
            for (int k = 0; k < K; k++) B[k] = tmp[2 * k + 1];
        } else {
            rmt_fp_marchenko_pastur(r / (double)f->t, 2 * K, tmp);
            for (int k = 0; k < K; k++) B[k] = tmp[2 * k + 1];
        }
        if (rmt_fp_free_product(L, B, K, tmp) != 0) return -1;
        for (int k = 0; k < K; k++) L[k] = tmp[k] * (r / c);
    }
    for (int k = 0; k < K; k++) m[k] = L[k];
    return 0;
}

/* Right edge of P^T P when every factor is gaussian or wigner: the S-transform
 * is prod_i 1/(1 + (N0/N_i) z). NaN otherwise. */
static double gram_edge(const rmt_ensemble *e)
{
    double c[RMT_MAX_FACTORS];
    double n0 = (double)e->factors[0].cols;
    if (product_any(e, ANY_SPARSE) || product_any(e, ANY_SPIKES) || product_any(e, ANY_WISHART)) return NAN;
    for (int i = 0; i < e->nfactors; i++) c[i] = n0 / (double)e->factors[i].rows;
    return rmt_fp_product_edge(c, e->nfactors);
}

static void product_theory(const rmt_ensemble *e, double *zm, double *lmax, double *m)
{
    const int K = RMT_MAX_MOMENTS, k = e->nfactors;
    const double n0 = (double)e->factors[0].cols, r = (double)product_rank(e);
    const int sparse = product_any(e, ANY_SPARSE), spikes = product_any(e, ANY_SPIKES);
    const rmt_factor *f0 = &e->factors[0], *f1 = k > 1 ? &e->factors[1] : NULL;
    *zm = *lmax = NAN;
    for (int i = 0; i < K; i++) m[i] = NAN;
    if (sparse) return; /* sparse factors: nothing known here */
    double mg[RMT_MAX_MOMENTS];
    int have_gram = gram_moments(e, K, mg) == 0;
    switch (e->form) {
    case RMT_PROD_GRAM:
        *zm = 1.0 - r / n0;
        if (have_gram)
            for (int i = 0; i < K; i++) m[i] = mg[i];
        *lmax = gram_edge(e);
        if (k == 1 && f0->kind == RMT_FAC_GAUSSIAN && spikes) {
            /* F + sum theta_i e_i e_i^T, F r x c with entries N(0, 1/r): the
             * outlier singular value of a spike theta > c'^(1/4), c' = c/r,
             * is sqrt((1 + theta^2)(c' + theta^2)) / theta (Benaych-Georges
             * and Nadakuditi 2012), the bulk's edge 1 + sqrt(c') */
            const double cp = (double)f0->cols / (double)f0->rows;
            double sv = 1.0 + sqrt(cp);
            for (int i = 0; i < f0->nspikes; i++) {
                const double th = fabs(f0->spikes[i]);
                if (th > pow(cp, 0.25)) sv = fmax(sv, sqrt((1.0 + th * th) * (cp + th * th)) / th);
            }
            *lmax = sv * sv;
        }
        break;
    case RMT_PROD_SIMILAR:
        *zm = 1.0 - r / n0;
        if (k == 1) {
            /* P is the factor itself */
            if (f0->kind == RMT_FAC_WIGNER) {
                rmt_fp_semicircle(K, m);
                *lmax = spiked_edge(f0, -1);
            } else {
                rmt_fp_marchenko_pastur(n0 / (double)f0->t, K, m);
                *lmax = spiked_edge(f0, n0 / (double)f0->t);
            }
        } else if (f0->kind == RMT_FAC_WISHART && f1->kind == RMT_FAC_WISHART) {
            double a[RMT_MAX_MOMENTS], b[RMT_MAX_MOMENTS], c[2] = {n0 / (double)f0->t, n0 / (double)f1->t};
            rmt_fp_marchenko_pastur(c[0], K, a);
            rmt_fp_marchenko_pastur(c[1], K, b);
            rmt_fp_free_product(a, b, K, m);
            if (!spikes) *lmax = rmt_fp_product_edge(c, 2);
        } else {
            /* W H: the moments of W^(1/2) H W^(1/2), H semicircular */
            const rmt_factor *w = f0->kind == RMT_FAC_WISHART ? f0 : f1;
            double a[RMT_MAX_MOMENTS];
            rmt_fp_marchenko_pastur(n0 / (double)w->t, K, a);
            rmt_fp_semicircle_product(a, K, m);
            if (!spikes) *lmax = rmt_fp_wishart_wigner_edge(n0 / (double)w->t);
        }
        break;
    case RMT_PROD_SYMPART:
        if (k == 1 && f0->kind != RMT_FAC_GAUSSIAN) {
            *zm = 1.0 - r / n0;
            if (f0->kind == RMT_FAC_WIGNER) {
                rmt_fp_semicircle(K, m);
                *lmax = spiked_edge(f0, -1);
            } else {
                rmt_fp_marchenko_pastur(n0 / (double)f0->t, K, m);
                *lmax = spiked_edge(f0, n0 / (double)f0->t);
            }
            break;
        }
        /* (P + P^T)/2 = U V^T + V U^T has rank <= 2 rank(P) */
        *zm = 1.0 - fmin(n0, 2.0 * r) / n0;
        if (have_gram && product_any(e, ANY_GAUSSIAN)) {
            /* With a Gaussian factor P is bi-orthogonally invariant, hence
             * R-diagonal in the limit: phi(P^2) = 0, odd moments vanish, and
             * of the words in P, P^T of length 4 the two alternating ones give
             * phi((P^T P)^2) = M2, the four others phi(P^T P)^2 = M1^2. */
            m[0] = 0.0;
            m[1] = mg[0] / 2.0;
            m[2] = 0.0;
            m[3] = (mg[1] + 2.0 * mg[0] * mg[0]) / 8.0;
            if (k == 1) {
                /* (G + G^T)/2 is a semicircle of variance 1/2; a spike theta
                 * on G's diagonal stays theta there: outlier theta + 1/(2 theta) */
                *lmax = sqrt(2.0);
                for (int i = 0; i < f0->nspikes; i++)
                    if (f0->spikes[i] > sqrt(0.5)) *lmax = fmax(*lmax, f0->spikes[i] + 0.5 / f0->spikes[i]);
            }
        }
        break;
    default:
        break;
    }
}

void rmt_ensemble_theory(const rmt_ensemble *e, double *zero_mass, double *lambda_max,
                         double moments[RMT_MAX_MOMENTS])
{
    const int K = RMT_MAX_MOMENTS;
    *zero_mass = rmt_ensemble_zero_mass_theory(e);
    *lambda_max = NAN;
    for (int k = 0; k < K; k++) moments[k] = NAN;
    switch (e->kind) {
    case RMT_ENS_WIGNER:
        if (e->mod.sparse) {
            /* Sparse: odd moments vanish (H and -H have the same law); (1/n) E tr H^2
             * = 1 + 1/n exactly; the fourth moment gains the walks that use one
             * edge four times, E x^4 = 3/(n^2 P) for an entry: 2 + 3/c. */
            for (int k = 0; k < K; k += 2) moments[k] = 0.0;
            moments[1] = 1.0;
            moments[3] = 2.0 + 3.0 / e->mod.mean_degree;
        } else {
            /* spikes move O(1/n) of the spectrum; the moments keep their limits */
            rmt_fp_semicircle(K, moments);
            *lambda_max = spiked_edge(&e->mod, -1);
        }
        break;
    case RMT_ENS_WISHART: {
        double q = (double)e->n / (double)e->t;
        if (e->mod.sparse) {
            /* E (1/n) tr W^2 = 1 + q + (3/P - 2)/t exactly; with P = c/n: 1 + q + 3q/c */
            moments[0] = 1.0;
            moments[1] = 1.0 + q + 3.0 * q / e->mod.mean_degree;
        } else {
            rmt_fp_marchenko_pastur(q, K, moments);
            *lambda_max = spiked_edge(&e->mod, q);
        }
        break;
    }
    case RMT_ENS_DIAGONAL: {
        double df = 1.0; /* (k-1)!! */
        for (int k = 1; k <= K; k++) {
            if (k % 2 == 0) df *= (double)(k - 1);
            moments[k - 1] = k % 2 ? 0.0 : df;
        }
        break;
    }
    case RMT_ENS_PRODUCT: {
        double zm;
        product_theory(e, &zm, lambda_max, moments);
        break;
    }
    case RMT_ENS_GP_HESSIAN: {
        /* Exact expectations at this n (the spectrum grows like sqrt(n kpp)).
         * H = A + D, A the Gaussian part (off-diagonal variance kpp, diagonal
         * 2 kpp), D = diag(shift + o_i), shift of variance c2, o_i = (1 + z^2) s
         * at m positions: E o = 2s, E o^2 = 6 s^2, E o^3 = 28 s^3.
         *   E tr H   = 2 m s
         *   E tr H^2 = n (n + 1) kpp + n c2 + 6 m s^2
         *   E tr H^3 = 3 E tr(A^2 D) + E tr D^3 = 6 m s (n + 1) kpp + 6 c2 m s + 28 m s^3
         * divided by N = n + degeneracy (the zero rows add nothing). */
        double n = (double)e->gp_n, N = (double)e->n, m = (double)e->outliers, s = e->outlier_scale;
        double c2 = gp_shared_sd(e) * gp_shared_sd(e), kpp = e->kpp;
        moments[0] = 2.0 * m * s / N;
        moments[1] = (n * (n + 1.0) * kpp + n * c2 + 6.0 * m * s * s) / N;
        moments[2] = (6.0 * m * s * (n + 1.0) * kpp + 6.0 * c2 * m * s + 28.0 * m * s * s * s) / N;
        if (e->outliers == 0) *lambda_max = 2.0 * sqrt(n * kpp); /* the shift has mean 0 */
        break;
    }
    default:
        break;
    }
}

double rmt_ensemble_zero_mass_theory(const rmt_ensemble *e)
{
    switch (e->kind) {
    case RMT_ENS_WISHART: {
        /* rank of Y = [Z/sqrt(t), sqrt(theta) e]: t plus the positive spikes
         * (exact at every n; the limit is Marchenko-Pastur's atom). With fixed
         * P an empty row or column has probability (1 - P)^t -> 0: unchanged. */
        if (e->mod.sparse)
            return e->mod.nspikes ? NAN : sparse_wishart_kernel_fraction(e->mod.mean_degree, (double)e->n, (double)e->t);
        double r = (double)(e->t + positive_spikes(&e->mod));
        double m = 1.0 - r / (double)e->n;
        return m > 0.0 ? m : 0.0;
    }
    case RMT_ENS_WIGNER:
        if (e->mod.sparse) return er_kernel_fraction(e->mod.mean_degree);
        return 0.0; /* absolutely continuous limit law (fixed P keeps the semicircle) */
    case RMT_ENS_DIAGONAL:
        return 0.0;
    case RMT_ENS_GP_HESSIAN:
        return (double)e->degeneracy / (double)e->n;
    case RMT_ENS_PRODUCT: {
        double zm, lm, m[RMT_MAX_MOMENTS];
        product_theory(e, &zm, &lm, m);
        return zm;
    }
    default:
        return NAN;
    }
}

/* ------------------------------------------------------------- support */

/* Squared operator norm of a factor in the limit (a bound for sparse factors). */
static double factor_norm2(const rmt_factor *f)
{
    double b;
    if (f->kind == RMT_FAC_GAUSSIAN) {
        double s = 1.0 + sqrt((double)f->cols / (double)f->rows), th = 0.0;
        for (int i = 0; i < f->nspikes; i++) th = fmax(th, fabs(f->spikes[i]));
        s += th; /* a spike moves the norm by at most |theta| */
        b = s * s;
    } else if (f->kind == RMT_FAC_WIGNER) {
        double s = fmax(spiked_edge(f, -1), -wigner_low_edge(f));
        b = s * s;
    } else {
        double s = spiked_edge(f, (double)f->rows / (double)f->t);
        b = s * s;
    }
    if (f->sparse) b *= 1.0 + 3.0 / f->mean_degree; /* heavier tails; a heuristic margin */
    return b;
}

static void product_support(const rmt_ensemble *e, double *a, double *b)
{
    const rmt_factor *f0 = &e->factors[0];
    double zm, lmax, m[RMT_MAX_MOMENTS];
    product_theory(e, &zm, &lmax, m);
    double bound = 1.0;
    for (int i = 0; i < e->nfactors; i++) bound *= factor_norm2(&e->factors[i]);
    if (e->form == RMT_PROD_GRAM) {
        *a = 0.0;
        *b = isfinite(lmax) ? lmax : bound;
        return;
    }
    if (e->nfactors == 1 && f0->kind != RMT_FAC_GAUSSIAN) {
        if (f0->kind == RMT_FAC_WIGNER) {
            *a = wigner_low_edge(f0);
            *b = spiked_edge(f0, -1);
        } else {
            *a = 0.0;
            *b = spiked_edge(f0, (double)f0->rows / (double)f0->t);
        }
        if (f0->sparse) *b *= 1.0 + 3.0 / f0->mean_degree, *a *= 1.0 + 3.0 / f0->mean_degree;
        return;
    }
    if (e->form == RMT_PROD_SIMILAR) {
        int both_psd = e->factors[0].kind == RMT_FAC_WISHART && e->factors[1].kind == RMT_FAC_WISHART;
        double nb = sqrt(factor_norm2(&e->factors[0]) * factor_norm2(&e->factors[1]));
        /* W H has a symmetric spectrum; its edge is known without spikes */
        *a = both_psd ? 0.0 : isfinite(lmax) ? -lmax : -nb;
        *b = isfinite(lmax) ? lmax : nb;
        return;
    }
    /* symmetric part: |(P + P^T)/2| <= |P| = sqrt(lambda_max(P^T P)) */
    double g = gram_edge(e);
    double nb = sqrt(isfinite(g) ? g : bound);
    *a = -nb;
    *b = nb;
}

void rmt_ensemble_support(const rmt_ensemble *e, double *a, double *b)
{
    switch (e->kind) {
    case RMT_ENS_WISHART: {
        double q = (double)e->n / (double)e->t;
        *a = 0.0; /* the atom (q > 1) and the lower edge (1 - sqrt q)^2 both show */
        *b = spiked_edge(&e->mod, q);
        if (e->mod.sparse) *b *= 1.0 + 3.0 * q / e->mod.mean_degree; /* heuristic: sparse tails */
        break;
    }
    case RMT_ENS_DIAGONAL: {
        /* max of n standard normals is about sqrt(2 ln n); 2 more covers the rest */
        double m = sqrt(2.0 * log((double)e->n + 1.0)) + 2.0;
        *a = -m;
        *b = m;
        break;
    }
    case RMT_ENS_PRODUCT:
        product_support(e, a, b);
        break;
    case RMT_ENS_GP_HESSIAN: {
        /* semicircle of radius 2 sqrt(n kpp), moved by the shared shift (4 sd);
         * outliers (1 + z^2) s mostly below 10 s */
        double R = 2.0 * sqrt((double)e->gp_n * e->kpp), sh = 4.0 * gp_shared_sd(e);
        *a = -R - sh;
        *b = R + sh + (e->outliers > 0 ? 10.0 * e->outlier_scale : 0.0);
        break;
    }
    default:
        *a = wigner_low_edge(&e->mod);
        *b = spiked_edge(&e->mod, -1);
        if (e->mod.sparse) {
            /* heuristic: the fourth moment 2 + 3/c widens the bulk */
            double w = sqrt(1.0 + 3.0 / e->mod.mean_degree);
            *a *= w;
            *b *= w;
        }
        break;
    }
}

/* ------------------------------------------------------------ resources */

double rmt_ensemble_bytes(const rmt_ensemble *e)
{
    double n = (double)e->n;
    switch (e->kind) {
    case RMT_ENS_WISHART: {
        double t = (double)(e->t + e->mod.nspikes), m = n < t ? n : t;
        /* factor, the smaller Gram matrix, eigenvalues, workspace */
        return 8.0 * (n * t + m * m + n + rmt_solve_work_doubles((int64_t)m));
    }
    case RMT_ENS_DIAGONAL:
        return 8.0 * 2.0 * n;
    case RMT_ENS_PRODUCT: {
        /* the stored factors, what solve allocates to combine them, the spectrum */
        double stored = 0.0;
        rmt_solve_factor sf[RMT_MAX_FACTORS];
        for (int i = 0; i < e->nfactors; i++) {
            int gram = 0;
            rmt_ensemble_factor_shape(e, i, &sf[i].rows, &sf[i].cols, &gram);
            sf[i].gram = gram;
            stored += (double)sf[i].rows * (double)sf[i].cols;
        }
        return 8.0 * (stored + n + rmt_solve_work_doubles(e->n)) + rmt_solve_product_bytes(e->form, e->nfactors, sf);
    }
    case RMT_ENS_GP_HESSIAN: {
        double g = (double)e->gp_n;
        return 8.0 * (g * g + n + rmt_solve_work_doubles(e->gp_n));
    }
    default:
        return 8.0 * (n * n + n + rmt_solve_work_doubles(e->n));
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
    case RMT_ENS_PRODUCT: {
        /* a gram spectrum is diagonalized at the chain's thinnest dimension */
        double r = e->form == RMT_PROD_GRAM ? (double)product_rank(e) : n;
        double fl = 4.0 / 3.0 * r * r * r;
        for (int i = 0; i < e->nfactors; i++) {
            const rmt_factor *f = &e->factors[i];
            /* a wishart factor acts as Y (Y^T X): two multiplications */
            double mult = f->kind == RMT_FAC_WISHART ? 4.0 : 2.0;
            fl += mult * (double)f->rows * (double)stored_cols(f) * r;
        }
        return fl;
    }
    case RMT_ENS_GP_HESSIAN: {
        double g = (double)e->gp_n;
        return 4.0 / 3.0 * g * g * g;
    }
    default:
        return 4.0 / 3.0 * n * n * n;
    }
}
