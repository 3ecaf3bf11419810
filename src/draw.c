#include "draw.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ensemble.h"
#include "solve.h"
#include "solve_grid.h"

struct rmt_draw_ctx {
    rmt_solver *solver;
    double *a;        /* matrix or factor being filled */
    size_t a_cap;     /* doubles in a */
    double *w;        /* eigenvalues */
    size_t w_cap;
};

rmt_draw_ctx *rmt_draw_create(void)
{
    rmt_draw_ctx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->solver = rmt_solve_create(-1);
    if (!c->solver) {
        free(c);
        return NULL;
    }
    return c;
}

void rmt_draw_destroy(rmt_draw_ctx *c)
{
    if (!c) return;
    rmt_solve_destroy(c->solver);
    free(c->a);
    free(c->w);
    free(c);
}

static rmt_status grow(double **p, size_t *cap, size_t need)
{
    if (need <= *cap) return RMT_OK;
    free(*p);
    *p = malloc(sizeof(double) * (need ? need : 1));
    *cap = *p ? need : 0;
    if (!*p) return RMT_ERR(RMT_ERUNTIME, "out of memory (%zu doubles)", need);
    return RMT_OK;
}

void rmt_draw_no_figures(rmt_draw_figs *f)
{
    f->zero_fraction = f->lambda_min = f->lambda_max = f->mean_gap_ratio = NAN;
    for (int k = 0; k < RMT_MAX_MOMENTS; k++) f->moments[k] = NAN;
}

double rmt_draw_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double rmt_draw_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* RMT_FAIL_DRAWS is read once per process: "p:d,p:d,..." */
static uint32_t (*fail_list)[2];
static size_t fail_count;
static pthread_once_t fail_once = PTHREAD_ONCE_INIT; /* rank 0 draws in a second thread */

/* The pairs of RMT_FAIL_DRAWS, one grammar for checking and reading: 0
 * when v is unset, empty or well formed (each pair given to keep, which
 * may be NULL), -1 otherwise. */
static int fail_scan(const char *v, void (*keep)(uint32_t p, uint32_t d))
{
    const char *q = v;
    if (!v || !*v) return 0;
    for (;;) {
        char *end;
        if (*q < '0' || *q > '9') return -1;
        unsigned long long p = strtoull(q, &end, 10);
        if (*end != ':' || end[1] < '0' || end[1] > '9' || p > UINT32_MAX) return -1;
        unsigned long long d = strtoull(end + 1, &end, 10);
        if (d > UINT32_MAX || (*end && *end != ',')) return -1;
        if (keep) keep((uint32_t)p, (uint32_t)d);
        if (!*end) return 0;
        q = end + 1;
    }
}

static void fail_keep(uint32_t p, uint32_t d)
{
    uint32_t (*grown)[2] = realloc(fail_list, sizeof *fail_list * (fail_count + 1));
    if (!grown) return;
    fail_list = grown;
    fail_list[fail_count][0] = p;
    fail_list[fail_count][1] = d;
    fail_count++;
}

static void fail_parse(void) { fail_scan(getenv("RMT_FAIL_DRAWS"), fail_keep); }

rmt_status rmt_draw_check_env(void)
{
    const char *v = getenv("RMT_FAIL_DRAWS");
    if (fail_scan(v, NULL) == 0) return RMT_OK;
    return RMT_ERR(RMT_EUSAGE, "RMT_FAIL_DRAWS: expected POINT:DRAW[,POINT:DRAW...], found '%s'", v);
}

int rmt_draw_injected_failure(uint32_t point, uint32_t draw)
{
    pthread_once(&fail_once, fail_parse);
    for (size_t i = 0; i < fail_count; i++)
        if (fail_list[i][0] == point && fail_list[i][1] == draw) return 1;
    return 0;
}

/* Fill every factor of a product into one buffer, side by side, and let
 * solve combine them. */
static rmt_status run_product(rmt_draw_ctx *c, const rmt_ensemble *e, const rmt_stream *st, int64_t *structural,
                              int *info)
{
    rmt_solve_factor sf[RMT_MAX_FACTORS];
    size_t off[RMT_MAX_FACTORS], total = 0;
    for (int k = 0; k < e->nfactors; k++) {
        int gram = 0;
        rmt_ensemble_factor_shape(e, k, &sf[k].rows, &sf[k].cols, &gram);
        sf[k].gram = gram;
        sf[k].symmetric = e->factors[k].kind == RMT_FAC_WIGNER;
        sf[k].lda = sf[k].rows;
        off[k] = total;
        total += (size_t)sf[k].rows * (size_t)sf[k].cols;
    }
    RMT_TRY(grow(&c->a, &c->a_cap, total));
    for (int k = 0; k < e->nfactors; k++) {
        rmt_ensemble_fill_factor(e, k, st, 0, sf[k].rows, 0, sf[k].cols, c->a + off[k], sf[k].lda);
        sf[k].a = c->a + off[k];
    }
    return rmt_solve_product(c->solver, e->form, e->nfactors, sf, c->w, structural, info);
}

/* From the spectrum w[n] of a draw to its figures: a solver failure or a
 * non-finite eigenvalue makes a failed draw that contributes nothing to
 * any histogram or mean. */
static void finish_draw(const rmt_point *pt, uint32_t draw, const double *w, int64_t n, int info, rmt_draw_figs *f,
                        uint64_t *counts, double *eig)
{
    f->status = info;
    if (rmt_draw_injected_failure(pt->index, draw)) f->status = 99;
    if (f->status == 0)
        for (int64_t i = 0; i < n; i++)
            if (!isfinite(w[i])) {
                f->status = -1;
                break;
            }
    if (f->status == 0) {
        rmt_stats_draw(&pt->stat, n, w, f, counts);
    } else {
        rmt_draw_no_figures(f);
    }
    if (eig) {
        if (f->status == 0) memcpy(eig, w, sizeof(double) * (size_t)n);
        else for (int64_t i = 0; i < n; i++) eig[i] = NAN;
    }
}

/* What every draw starts with: its layout, cleared figures and counts, and
 * room for its spectrum. */
static rmt_status begin_draw(rmt_draw_ctx *c, const rmt_point *pt, uint32_t draw, rmt_layout *lay, rmt_draw_figs *f,
                             uint64_t *counts)
{
    rmt_ensemble_layout(&pt->ens, lay);
    memset(f, 0, sizeof *f);
    f->point = pt->index;
    f->draw = draw;
    memset(counts, 0, sizeof(uint64_t) * (size_t)rmt_stats_ncounts(&pt->stat));
    return grow(&c->w, &c->w_cap, (size_t)pt->ens.n);
}

rmt_status rmt_draw_run(rmt_draw_ctx *c, const rmt_point *pt, uint32_t draw, rmt_draw_figs *f, uint64_t *counts,
                        double *eig)
{
    double t0 = rmt_draw_now();
    const rmt_ensemble *e = &pt->ens;
    rmt_stream st = {pt->seed, pt->index, draw};
    rmt_layout lay;
    int64_t n = e->n;
    RMT_TRY(begin_draw(c, pt, draw, &lay, f, counts));
    int info = 0;
    switch (lay.form) {
    case RMT_FORM_DIAGONAL:
        rmt_ensemble_fill(e, &st, 0, n, 0, 1, c->w, n);
        qsort(c->w, (size_t)n, sizeof(double), cmp_double);
        break;
    case RMT_FORM_GRAM:
        RMT_TRY(grow(&c->a, &c->a_cap, (size_t)lay.rows * (size_t)lay.cols));
        rmt_ensemble_fill(e, &st, 0, lay.rows, 0, lay.cols, c->a, lay.rows);
        RMT_TRY(rmt_solve_gram(c->solver, lay.rows, lay.cols, c->a, lay.rows, c->w, &f->structural_zeros, &info));
        break;
    case RMT_FORM_PRODUCT:
        RMT_TRY(run_product(c, e, &st, &f->structural_zeros, &info));
        break;
    default: {
        /* rows x rows, then the exact zeros of degenerate rows (gp-hessian) */
        int64_t m = lay.rows;
        RMT_TRY(grow(&c->a, &c->a_cap, (size_t)m * (size_t)m));
        /* LAPACK reads the lower triangle only: generate just that half */
        for (int64_t j = 0; j < m; j++)
            rmt_ensemble_fill(e, &st, j, m, j, j + 1, c->a + j + (size_t)j * (size_t)m, m);
        RMT_TRY(rmt_solve_symmetric(c->solver, m, c->a, m, c->w + lay.zeros, &info));
        if (lay.zeros > 0) rmt_solve_add_zeros(c->w, lay.zeros, m);
        f->structural_zeros = lay.zeros;
        break;
    }
    }
    finish_draw(pt, draw, c->w, n, info, f, counts, eig);
    f->solver = lay.form == RMT_FORM_DIAGONAL ? RMT_SOLVER_NONE : RMT_SOLVER_LAPACK0 + rmt_solve_last_driver(c->solver);
    f->seconds = rmt_draw_now() - t0;
    return RMT_OK;
}

/* Fill this rank's block-cyclic part of the rows x cols matrix (factor < 0)
 * or of product factor `factor`, tile by tile: each tile of the distribution is a contiguous block of
 * global indices, so the ensemble fills it like any other block. */
static void fill_local(const rmt_ensemble *e, int factor, const rmt_stream *st, const rmt_grid *g, int64_t rows,
                       int64_t cols, double *a, int64_t lld, int lower_only)
{
    int64_t lr = rmt_grid_local(g, rows, 0), lc = rmt_grid_local(g, cols, 1);
    for (int64_t jl = 0; jl < lc; jl += RMT_GRID_NB) {
        int64_t j0 = rmt_grid_global(g, jl, 1), w = lc - jl < RMT_GRID_NB ? lc - jl : RMT_GRID_NB;
        for (int64_t il = 0; il < lr; il += RMT_GRID_NB) {
            int64_t i0 = rmt_grid_global(g, il, 0), h = lr - il < RMT_GRID_NB ? lr - il : RMT_GRID_NB;
            if (lower_only && i0 + h <= j0) continue; /* a tile above the diagonal: never read */
            double *tile = a + il + (size_t)jl * (size_t)lld;
            if (factor < 0) rmt_ensemble_fill(e, st, i0, i0 + h, j0, j0 + w, tile, lld);
            else rmt_ensemble_fill_factor(e, factor, st, i0, i0 + h, j0, j0 + w, tile, lld);
        }
    }
}

/* A product on the grid: each factor filled in its block-cyclic part, a
 * wishart factor Y Y^T acting as Y^T then Y. The gram and symmetric-part
 * forms combine the chain with PDGEMM; similar uses the factors as they are
 * (one symmetric factor, or S W with W = Y Y^T). */
static rmt_status run_product_grid(rmt_draw_ctx *c, rmt_grid *g, const rmt_ensemble *e, const rmt_stream *st,
                                   int64_t *structural, int *info)
{
    rmt_grid_map m[2 * RMT_MAX_FACTORS];
    int64_t rows[RMT_MAX_FACTORS], cols[RMT_MAX_FACTORS], lld[RMT_MAX_FACTORS];
    int gram[RMT_MAX_FACTORS] = {0};
    size_t off[RMT_MAX_FACTORS], total = 0;
    for (int k = 0; k < e->nfactors; k++) {
        rmt_ensemble_factor_shape(e, k, &rows[k], &cols[k], &gram[k]);
        int64_t lr = rmt_grid_local(g, rows[k], 0), lc = rmt_grid_local(g, cols[k], 1);
        lld[k] = lr > 1 ? lr : 1;
        off[k] = total;
        total += (size_t)lld[k] * (size_t)(lc > 1 ? lc : 1);
    }
    RMT_TRY(grow(&c->a, &c->a_cap, total));
    int nm = 0;
    for (int k = 0; k < e->nfactors; k++) {
        double *a = c->a + off[k];
        fill_local(e, k, st, g, rows[k], cols[k], a, lld[k], 0);
        if (gram[k]) m[nm++] = (rmt_grid_map){a, rows[k], cols[k], lld[k], 1};
        m[nm++] = (rmt_grid_map){a, rows[k], cols[k], lld[k], 0};
    }
    switch (e->form) {
    case RMT_PROD_GRAM:
        return rmt_grid_gram_chain(g, nm, m, c->w, structural, info);
    case RMT_PROD_SYMPART:
        *structural = 0; /* its zeros are numerical, as on one rank */
        return rmt_grid_sympart_chain(g, nm, m, c->w, info);
    case RMT_PROD_SIMILAR:
        if (e->nfactors == 1) {
            if (gram[0]) return rmt_grid_gram(g, rows[0], cols[0], c->a, lld[0], c->w, structural, info);
            *structural = 0;
            return rmt_grid_symmetric(g, rows[0], c->a, lld[0], c->w, info);
        } else {
            int iw = gram[0] ? 0 : 1;
            rmt_grid_map y = {c->a + off[iw], rows[iw], cols[iw], lld[iw], 0};
            rmt_grid_map sm = {c->a + off[1 - iw], rows[1 - iw], cols[1 - iw], lld[1 - iw], 0};
            return rmt_grid_similar(g, &y, &sm, gram[1 - iw], c->w, structural, info);
        }
    default:
        return RMT_ERR(RMT_ERUNTIME, "unknown product form %d (bug)", e->form);
    }
}

rmt_status rmt_draw_run_grid(rmt_draw_ctx *c, rmt_grid *g, const rmt_point *pt, uint32_t draw, rmt_draw_figs *f,
                             uint64_t *counts, double *eig)
{
    double t0 = rmt_draw_now();
    const rmt_ensemble *e = &pt->ens;
    rmt_stream st = {pt->seed, pt->index, draw};
    rmt_layout lay;
    int64_t n = e->n;
    RMT_TRY(begin_draw(c, pt, draw, &lay, f, counts));
    rmt_grid_set_driver(g, pt->grid_solver);
    int info = 0;
    int64_t lr = rmt_grid_local(g, lay.rows, 0), lc = rmt_grid_local(g, lay.cols, 1), lld = lr > 1 ? lr : 1;
    /* a rank may own no rows or columns: keep a valid (non-NULL) buffer */
    RMT_TRY(grow(&c->a, &c->a_cap, (size_t)lld * (size_t)(lc > 1 ? lc : 1)));
    switch (lay.form) {
    case RMT_FORM_GRAM:
        fill_local(e, -1, &st, g, lay.rows, lay.cols, c->a, lld, 0);
        RMT_TRY(rmt_grid_gram(g, lay.rows, lay.cols, c->a, lld, c->w, &f->structural_zeros, &info));
        break;
    case RMT_FORM_SYMMETRIC:
        /* the solvers read the lower triangle (ELPA's is mirrored in solve) */
        fill_local(e, -1, &st, g, lay.rows, lay.rows, c->a, lld, 1);
        RMT_TRY(rmt_grid_symmetric(g, lay.rows, c->a, lld, c->w + lay.zeros, &info));
        if (lay.zeros > 0) rmt_solve_add_zeros(c->w, lay.zeros, lay.rows);
        f->structural_zeros = lay.zeros;
        break;
    case RMT_FORM_PRODUCT:
        RMT_TRY(run_product_grid(c, g, e, &st, &f->structural_zeros, &info));
        break;
    default:
        /* config refuses ranks_per_draw > 1 for these; a diagonal never needs a grid */
        return RMT_ERR(RMT_ERUNTIME, "ensemble %s cannot run on a process grid (bug)", rmt_ens_name(e->kind));
    }
    finish_draw(pt, draw, c->w, n, info, f, counts, eig);
    f->solver = rmt_grid_uses_elpa(g) ? RMT_SOLVER_ELPA : rmt_grid_uses_pdsyev(g) ? RMT_SOLVER_PDSYEV : RMT_SOLVER_PDSYEVR;
    f->seconds = rmt_draw_now() - t0;
    return RMT_OK;
}
