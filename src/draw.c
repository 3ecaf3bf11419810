#include "draw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ensemble.h"
#include "solve.h"

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

const char *rmt_draw_driver(const rmt_draw_ctx *c) { return rmt_solve_driver_name(c->solver); }

static rmt_status grow(double **p, size_t *cap, size_t need)
{
    if (need <= *cap) return RMT_OK;
    free(*p);
    *p = malloc(sizeof(double) * (need ? need : 1));
    *cap = *p ? need : 0;
    if (!*p) return RMT_ERR(RMT_ERUNTIME, "out of memory (%zu doubles)", need);
    return RMT_OK;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int rmt_draw_injected_failure(uint32_t point, uint32_t draw)
{
    const char *env = getenv("RMT_FAIL_DRAWS");
    if (!env) return 0;
    const char *q = env;
    while (*q) {
        char *end;
        unsigned long p = strtoul(q, &end, 10);
        if (*end != ':') return 0;
        unsigned long d = strtoul(end + 1, &end, 10);
        if (p == point && d == draw) return 1;
        if (*end != ',') return 0;
        q = end + 1;
    }
    return 0;
}

rmt_status rmt_draw_run(rmt_draw_ctx *c, const rmt_point *pt, uint32_t draw, rmt_draw_figs *f, uint64_t *counts,
                        double *eig)
{
    double t0 = now();
    const rmt_ensemble *e = &pt->ens;
    rmt_stream st = {pt->seed, pt->index, draw};
    rmt_layout lay;
    rmt_ensemble_layout(e, &lay);
    int64_t n = e->n;
    memset(f, 0, sizeof *f);
    f->point = pt->index;
    f->draw = draw;
    memset(counts, 0, sizeof(uint64_t) * (size_t)rmt_stats_ncounts(&pt->stat));
    RMT_TRY(grow(&c->w, &c->w_cap, (size_t)n));
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
    default:
        RMT_TRY(grow(&c->a, &c->a_cap, (size_t)n * (size_t)n));
        rmt_ensemble_fill(e, &st, 0, n, 0, n, c->a, n);
        RMT_TRY(rmt_solve_symmetric(c->solver, n, c->a, n, c->w, &info));
        break;
    }
    f->status = info;
    if (rmt_draw_injected_failure(pt->index, draw)) f->status = 99;
    if (f->status == 0)
        for (int64_t i = 0; i < n; i++)
            if (!isfinite(c->w[i])) {
                f->status = -1;
                break;
            }
    if (f->status == 0) {
        rmt_stats_draw(&pt->stat, n, c->w, f, counts);
    } else {
        /* a failed draw contributes nothing to any histogram or mean */
        f->zero_fraction = f->lambda_min = f->lambda_max = f->mean_gap_ratio = NAN;
        for (int k = 0; k < RMT_MAX_MOMENTS; k++) f->moments[k] = NAN;
    }
    if (eig) {
        if (f->status == 0) memcpy(eig, c->w, sizeof(double) * (size_t)n);
        else for (int64_t i = 0; i < n; i++) eig[i] = NAN;
    }
    f->seconds = now() - t0;
    return RMT_OK;
}
