#include "local.h"

#include <math.h>
#include <sched.h>
#include <unistd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "solve.h"
#include "stats.h"
#include "theory.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sort v[0..n) ascending, as glibc's qsort with cmp_double does (a stable
 * merge sort through a copy): an LSD radix sort on the values' bits,
 * stable too, ~10x faster on a checkpoint's pooled levels; qsort when
 * there is no room for the copy. The one order the two could give
 * differently, -0.0 against 0.0, never arises here: levels within the
 * zero tolerance (zeros included) are dropped before, and spacings are
 * differences (x - x is +0.0). NaN is never sorted here. */
static void sort_doubles(double *v, int64_t n)
{
    uint64_t *tmp = n > 1 ? malloc(sizeof(uint64_t) * (size_t)n) : NULL;
    if (!tmp) {
        if (n > 1) qsort(v, (size_t)n, sizeof(double), cmp_double);
        return;
    }
    /* keys in place, in the values' order: every bit of a negative
     * flipped, the sign bit of the rest */
    uint64_t *k = (uint64_t *)(void *)v;
    uint64_t count[8][256];
    memset(count, 0, sizeof count);
    for (int64_t i = 0; i < n; i++) {
        uint64_t b;
        memcpy(&b, &v[i], sizeof b);
        b = (b >> 63) ? ~b : b | ((uint64_t)1 << 63);
        k[i] = b;
        for (int d = 0; d < 8; d++) count[d][(b >> (8 * d)) & 255]++;
    }
    uint64_t *src = k, *dst = tmp;
    for (int d = 0; d < 8; d++) {
        if (count[d][(src[0] >> (8 * d)) & 255] == (uint64_t)n) continue; /* one digit value: nothing moves */
        uint64_t at[256], sum = 0;
        for (int c = 0; c < 256; c++) {
            at[c] = sum;
            sum += count[d][c];
        }
        for (int64_t i = 0; i < n; i++) dst[at[(src[i] >> (8 * d)) & 255]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != k) memcpy(k, src, sizeof(uint64_t) * (size_t)n);
    free(tmp);
    for (int64_t i = 0; i < n; i++) {
        uint64_t b = k[i];
        b = (b >> 63) ? b & ~((uint64_t)1 << 63) : ~b;
        memcpy(&v[i], &b, sizeof b);
    }
}

/* Number of values of sorted v[0..m) strictly below x. Without branches
 * on the data (a conditional move), and with the next step's two
 * candidates fetched ahead: pool unfolding runs this on every level
 * against every draw's pooled levels, where a branching bisection spent
 * most of a checkpoint in mispredictions and cache misses. */
static int64_t below(const double *v, int64_t m, double x)
{
    if (m <= 0) return 0;
    const double *base = v;
    int64_t n = m;
    while (n > 1) {
        int64_t half = n / 2;
        __builtin_prefetch(base + half / 2);
        __builtin_prefetch(base + half + half / 2);
        base = base[half] < x ? base + half : base;
        n -= half;
    }
    return (base - v) + (*base < x);
}

/* The leave-one-out pooled CDF at x for pool unfolding: Q is pool[0..P)
 * (sorted, every draw) less own[0..m) (sorted, the draw unfolded, all in
 * pool), M = P - m values q_0 <= ... <= q_{M-1}; F(q_j) = j, linear
 * between them, 0 below q_0 and M - 1 above q_{M-1}. A plain count of Q
 * below x (a step function) would put every unfolded level on the grid
 * j / (D - 1): spacings of whole steps only, a histogram whose bins hold
 * alternately more and fewer steps (zigzag; GOE data then had a chi-square
 * per dof of 6), and exact zero spacings. */
static double pool_cdf(const double *pool, int64_t P, const double *own, int64_t m, double x)
{
    int64_t jp = below(pool, P, x), jo = below(own, m, x), k = jp - jo, M = P - m;
    if (k <= 0) return 0;
    if (k >= M) return (double)(M - 1);
    /* q_{k-1}: the largest value of Q below x; q_k: the smallest at or
     * above x. Pool values equal to the next own value are taken as own. */
    int64_t a = jp - 1, ao = jo - 1, b = jp, bo = jo;
    while (ao >= 0 && pool[a] == own[ao]) {
        a--;
        ao--;
    }
    while (bo < m && pool[b] == own[bo]) {
        b++;
        bo++;
    }
    return (double)(k - 1) + (x - pool[a]) / (pool[b] - pool[a]);
}

static const double nv_Ls[RMT_NV_COUNT] = {0.5, 1, 2, 4, 8};

/* Number variance of one draw's unfolded levels u[0..m): windows [x, x + L)
 * stepped by L/2 through the bulk [lo, hi]; adds the windows, the levels
 * in them and their squares to nv[3k], nv[3k + 1], nv[3k + 2] for each L.
 * Integers: sums in any order are the same. */
static void nv_add(const double *u, int64_t m, double lo, double hi, int ascending, int64_t *nv)
{
    for (int k = 0; k < RMT_NV_COUNT; k++) {
        double L = nv_Ls[k];
        for (double x = lo; x + L <= hi; x += L / 2) {
            /* u is ascending for pool and theory; count directly for a fitted polynomial */
            int64_t c = 0;
            if (!ascending) {
                for (int64_t i = 0; i < m; i++) c += u[i] >= x && u[i] < x + L;
            } else {
                c = below(u, m, x + L) - below(u, m, x);
            }
            nv[3 * k]++;
            nv[3 * k + 1] += c;
            nv[3 * k + 2] += c * c;
        }
    }
}

/* Pool unfolding of draws' levels, in threads: a draw's unfolded levels
 * depend on the pool and that draw alone, so each thread takes the next
 * draw and writes its unfolded levels over the draw's own (once it has
 * them all); the figures are then summed in draw order, as with one
 * thread. */
static int unfold_threads = 1;
static cpu_set_t unfold_cores; /* where the other threads run, when unfold_pinned */
static int unfold_pinned;

static void set_threads(int t, const cpu_set_t *cores)
{
    unfold_threads = t < 1 ? 1 : t > 256 ? 256 : t;
    unfold_pinned = cores != NULL;
    if (cores) unfold_cores = *cores;
}

void rmt_local_set_threads(int t) { set_threads(t, NULL); }

void rmt_local_set_cores(const cpu_set_t *cores) { set_threads(CPU_COUNT(cores), cores); }

int rmt_local_usable_cores(void)
{
    cpu_set_t cs;
    if (sched_getaffinity(0, sizeof cs, &cs) == 0 && CPU_COUNT(&cs) > 0) return CPU_COUNT(&cs);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

typedef struct {
    const double *pool;
    int64_t P, D;
    double *nz;
    const int64_t *start;
    double bulk_lo, bulk_hi; /* the bulk window, as fractions of a draw's unfolded range */
    int64_t *nv;          /* [D][3 RMT_NV_COUNT]: each draw's number-variance sums (nv_add) */
    int64_t next;         /* the next draw to unfold (taken atomically) */
    int failed;           /* a thread could not allocate its buffer */
} pool_job;

static void *pool_unfold(void *arg)
{
    pool_job *j = arg;
    double *u = NULL;
    int64_t cap = 0;
    for (;;) {
        int64_t d = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (d >= j->D) break;
        double *v = j->nz + j->start[d];
        int64_t m = j->start[d + 1] - j->start[d];
        if (m > cap) {
            free(u);
            cap = m;
            if (!(u = malloc(sizeof(double) * (size_t)cap))) {
                __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
                return NULL;
            }
        }
        for (int64_t i = 0; i < m; i++) u[i] = pool_cdf(j->pool, j->P, v, m, v[i]) / (double)(j->D - 1);
        memcpy(v, u, sizeof(double) * (size_t)m);
        double range = (double)(j->P - m - 1) / (double)(j->D - 1);
        nv_add(v, m, j->bulk_lo * range, j->bulk_hi * range, 1, j->nv + (size_t)d * 3 * RMT_NV_COUNT);
    }
    free(u);
    return NULL;
}

/* Unfold every draw's levels in place (nz[start[d]..start[d+1]) for draw d)
 * against the pool, and sum their number variance into nv[D][3
 * RMT_NV_COUNT], on up to unfold_threads threads (this one included). */
static rmt_status pool_unfold_all(const double *pool, int64_t P, double *nz, const int64_t *start, int64_t D,
                                  const rmt_statcfg *cfg, int64_t *nv)
{
    pool_job j = {pool, P, D, nz, start, cfg->sp_bulk_lo, cfg->sp_bulk_hi, nv, 0, 0};
    int want = unfold_threads < D ? unfold_threads : (int)D, started = 0;
    pthread_t th[256];
    pthread_attr_t at;
    int attr = pthread_attr_init(&at) == 0;
    if (attr && unfold_pinned) pthread_attr_setaffinity_np(&at, sizeof unfold_cores, &unfold_cores);
    for (int t = 1; t < want; t++)
        if (pthread_create(&th[started], attr ? &at : NULL, pool_unfold, &j) == 0) started++;
    if (attr) pthread_attr_destroy(&at);
    pool_unfold(&j);
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    return j.failed ? RMT_ERR(RMT_ERUNTIME, "out of memory") : RMT_OK;
}

void rmt_local_free(rmt_local *l)
{
    if (!l) return;
    free(l->counts);
    l->counts = NULL;
}

double rmt_local_chi2(const uint64_t *counts, int64_t bins, double max, double (*cdf)(double), int64_t *dof)
{
    double total = 0, pin = cdf(max) - cdf(0);
    for (int64_t k = 0; k < bins; k++) total += (double)counts[k];
    double chi2 = 0;
    int64_t used = 0;
    for (int64_t k = 0; k < bins && pin > 0; k++) {
        double a = rmt_stats_edge(0, max, bins, k), b = rmt_stats_edge(0, max, bins, k + 1);
        double e = total * (cdf(b) - cdf(a)) / pin;
        if (e < 5) continue;
        chi2 += ((double)counts[k] - e) * ((double)counts[k] - e) / e;
        used++;
    }
    *dof = used - 1;
    return used >= 2 ? chi2 / (double)(used - 1) : NAN;
}

static double ks(const double *s, int64_t m, double (*cdf)(double))
{
    double d = 0;
    for (int64_t i = 0; i < m; i++) {
        double f = cdf(s[i]);
        d = fmax(d, fmax(fabs((double)(i + 1) / (double)m - f), fabs(f - (double)i / (double)m)));
    }
    return m > 0 ? d : NAN;
}

/* Polynomial fitted (least squares) to the empirical CDF of the sorted pool,
 * in z = (x - mid) / half on [-1, 1]; coefficients c[0..deg]. *fitted = 0
 * when the levels do not determine it (fewer distinct values than
 * coefficients): no spacings, as for too few levels. */
static rmt_status fit_cdf(const double *pool, int64_t P, int deg, double *mid, double *half, double *c, int *fitted)
{
    *fitted = 0;
    int64_t m = P < 2000 ? P : 2000; /* quantile points sampled from the pool */
    double *a = malloc(sizeof(double) * (size_t)m * (size_t)(deg + 1)), *b = malloc(sizeof(double) * (size_t)m);
    if (!a || !b) {
        free(a);
        free(b);
        return RMT_ERR(RMT_ERUNTIME, "out of memory");
    }
    *mid = 0.5 * (pool[0] + pool[P - 1]);
    *half = 0.5 * (pool[P - 1] - pool[0]);
    if (!(*half > 0)) *half = 1;
    for (int64_t r = 0; r < m; r++) {
        int64_t idx = (int64_t)(((double)r + 0.5) / (double)m * (double)P);
        double z = (pool[idx] - *mid) / *half, p = 1;
        b[r] = ((double)idx + 0.5) / (double)P;
        for (int k = 0; k <= deg; k++) {
            a[r + (size_t)k * (size_t)m] = p;
            p *= z;
        }
    }
    int info = rmt_solve_lstsq(m, deg + 1, a, b);
    for (int k = 0; k <= deg; k++) c[k] = info == 0 ? b[k] : NAN;
    free(a);
    free(b);
    if (info < 0) return RMT_ERR(RMT_ERUNTIME, "polynomial unfolding: least-squares fit failed (info %d)", info);
    *fitted = info == 0;
    return RMT_OK;
}

static double poly(const double *c, int deg, double z)
{
    double v = 0;
    for (int k = deg; k >= 0; k--) v = v * z + c[k];
    return v;
}

rmt_status rmt_local_spacings(const rmt_point *pt, const double *eig, const uint8_t *usable, rmt_local *out)
{
    const rmt_statcfg *cfg = &pt->stat;
    int64_t n = pt->ens.n, draws = pt->draws, B = cfg->sp_bins;
    uint64_t *counts = out->counts;
    memset(out, 0, sizeof *out);
    out->counts = counts ? counts : calloc((size_t)B, sizeof(uint64_t));
    if (!out->counts) return RMT_ERR(RMT_ERUNTIME, "out of memory");
    memset(out->counts, 0, sizeof(uint64_t) * (size_t)B);
    out->mean = out->var = out->ks_goe = out->ks_poisson = out->chi2_goe = out->chi2_poisson = NAN;
    for (int k = 0; k < RMT_NV_COUNT; k++) {
        out->nv_L[k] = nv_Ls[k];
        out->nv[k] = NAN;
    }

    /* the nonzero part of every usable spectrum, kept in place order */
    double *nz = malloc(sizeof(double) * (size_t)(draws * n + 1));
    int64_t *start = malloc(sizeof(int64_t) * (size_t)(draws + 1));
    double *pool = NULL, *sp = NULL, *u = NULL;
    int64_t *nvd = NULL;
    rmt_cdf *cdf = NULL;
    rmt_status s = RMT_OK;
    if (!nz || !start) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }
    int64_t D = 0, P = 0;
    for (int64_t d = 0; d < draws; d++) {
        if (!usable[d]) continue;
        const double *w = eig + (size_t)d * (size_t)n;
        double tol = cfg->zero_tol_auto ? rmt_stats_auto_tol(n, w) : cfg->zero_tol;
        start[D] = P;
        for (int64_t i = 0; i < n; i++)
            if (fabs(w[i]) > tol) nz[P++] = w[i];
        D++;
    }
    start[D] = P;
    out->draws_used = D;
    /* nothing to unfold against yet: pool unfolding needs a second draw,
     * a fitted polynomial more levels than coefficients */
    const int pooled_fit = cfg->sp_unfold == RMT_UNFOLD_POLYNOMIAL && !cfg->sp_per_draw;
    if (D < (cfg->sp_unfold == RMT_UNFOLD_POOL ? 2 : 1) || P < 2) goto out;
    if (pooled_fit && P < cfg->sp_degree + 1) goto out;
    /* memory: the spectra, nz, and at most two more copies of them at once
     * (glibc's qsort sorts through a copy), as rmt_results_bytes counts */
    pool = malloc(sizeof(double) * (size_t)P);
    u = malloc(sizeof(double) * (size_t)n);
    if (!pool || !u) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }
    memcpy(pool, nz, sizeof(double) * (size_t)P);
    sort_doubles(pool, P);
    if (!(sp = malloc(sizeof(double) * (size_t)P))) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }
    double mid = 0, half = 1, coef[32];
    int fitted = 1;
    if (pooled_fit && ((s = fit_cdf(pool, P, cfg->sp_degree, &mid, &half, coef, &fitted)) || !fitted)) goto out;
    if (cfg->sp_unfold == RMT_UNFOLD_THEORY && !(cdf = rmt_cdf_create(&pt->ens))) {
        s = RMT_ERR(RMT_ERUNTIME, "no limiting CDF for theory unfolding");
        goto out;
    }
    /* number variance: windows, levels and squares summed over the draws */
    int64_t nv[3 * RMT_NV_COUNT] = {0}, m_all = 0;
    /* pool: every draw's levels unfolded first (in threads), with their
     * number variance, then read below */
    if (cfg->sp_unfold == RMT_UNFOLD_POOL) {
        if (!(nvd = calloc((size_t)D * 3 * RMT_NV_COUNT, sizeof(int64_t)))) {
            s = RMT_ERR(RMT_ERUNTIME, "out of memory");
            goto out;
        }
        if ((s = pool_unfold_all(pool, P, nz, start, D, cfg, nvd))) goto out;
        for (int64_t d = 0; d < D; d++)
            for (int k = 0; k < 3 * RMT_NV_COUNT; k++) nv[k] += nvd[(size_t)d * 3 * RMT_NV_COUNT + k];
    }
    for (int64_t d = 0; d < D; d++) {
        const double *v = nz + start[d];
        int64_t m = start[d + 1] - start[d];
        double range; /* the unfolded range [0, range] of this draw */
        if (cfg->sp_unfold == RMT_UNFOLD_POLYNOMIAL && cfg->sp_per_draw) {
            /* its own CDF: a draw with no more levels than coefficients has no spacings */
            if (m < cfg->sp_degree + 1) continue;
            if ((s = fit_cdf(v, m, cfg->sp_degree, &mid, &half, coef, &fitted))) goto out;
            if (!fitted) continue;
        }
        for (int64_t i = 0; i < m; i++) {
            switch (cfg->sp_unfold) {
            case RMT_UNFOLD_POOL:
                u[i] = v[i]; /* unfolded by pool_unfold_all */
                break;
            case RMT_UNFOLD_THEORY:
                u[i] = (double)m * rmt_cdf_eval(cdf, v[i]);
                break;
            default:
                u[i] = (double)m * poly(coef, cfg->sp_degree, (v[i] - mid) / half);
                break;
            }
        }
        range = cfg->sp_unfold == RMT_UNFOLD_POOL ? (double)(P - m - 1) / (double)(D - 1) : (double)m;
        double lo = cfg->sp_bulk_lo * range, hi = cfg->sp_bulk_hi * range;
        for (int64_t i = 0; i + 1 < m; i++) {
            if (u[i] < lo || u[i + 1] > hi) continue;
            double x = u[i + 1] - u[i];
            /* two levels beyond every other draw's (F clamped at both):
             * no spacing to measure */
            if (cfg->sp_unfold == RMT_UNFOLD_POOL && x == 0 && (u[i] <= 0 || u[i + 1] >= range)) continue;
            /* a negative spacing: a fitted polynomial CDF that decreases
             * there; counted in below, kept out of every figure */
            if (x >= 0) sp[m_all++] = x;
            int64_t k = rmt_stats_bin(x, 0, cfg->sp_max, B);
            if (k < 0) out->below++;
            else if (k >= B) out->above++;
            else out->counts[k]++;
        }
        /* number variance (pool's is summed by pool_unfold_all) */
        if (cfg->sp_unfold != RMT_UNFOLD_POOL) nv_add(u, m, lo, hi, cfg->sp_unfold != RMT_UNFOLD_POLYNOMIAL, nv);
    }
    out->count = m_all;
    free(nz);
    free(pool);
    nz = pool = NULL;
    for (int k = 0; k < RMT_NV_COUNT; k++)
        if (nv[3 * k] > 1) {
            double mean = (double)nv[3 * k + 1] / (double)nv[3 * k];
            out->nv[k] = (double)nv[3 * k + 2] / (double)nv[3 * k] - mean * mean;
        }
    if (m_all > 1) {
        double sum = 0, ss = 0;
        for (int64_t i = 0; i < m_all; i++) sum += sp[i];
        out->mean = sum / (double)m_all;
        for (int64_t i = 0; i < m_all; i++) ss += (sp[i] - out->mean) * (sp[i] - out->mean);
        out->var = ss / (double)(m_all - 1);
        sort_doubles(sp, m_all);
        out->ks_goe = ks(sp, m_all, rmt_theory_spacing_cdf_goe);
        out->ks_poisson = ks(sp, m_all, rmt_theory_spacing_cdf_poisson);
        out->chi2_goe = rmt_local_chi2(out->counts, B, cfg->sp_max, rmt_theory_spacing_cdf_goe, &out->chi2_dof_goe);
        out->chi2_poisson =
            rmt_local_chi2(out->counts, B, cfg->sp_max, rmt_theory_spacing_cdf_poisson, &out->chi2_dof_poisson);
    }
out:
    free(nz);
    free(start);
    free(pool);
    free(sp);
    free(u);
    free(nvd);
    rmt_cdf_destroy(cdf);
    return s;
}
