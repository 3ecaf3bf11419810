/* bench/gen_cost.c -- what fraction of an rmtmc draw is generation?
 *
 * Links the project's static library (build/librmt.a) and, for each
 * ensemble given as JSON (the "ensemble" object of a config), times
 *   fill: the matrix (or factors) filled exactly as src/draw.c fills them
 *         for one rank: rmt_ensemble_fill / rmt_ensemble_fill_factor over
 *         the stored matrix (a symmetric one's lower triangle), Philox4x32-10
 *         normals per entry;
 *   draw: rmt_draw_run, i.e. a whole draw as a worker runs it (fill, the
 *         LAPACK solve rmtmc picks, statistics);
 * on the same draw indices (fill of draw d, then draw d). One untimed
 * warm-up draw, then REPS draws; medians are printed. solve = draw - fill
 * (it includes the statistics, which are O(n)).
 * With -m N it times cblas_dgemm (N x N x N, 2 N^3 flops) instead: the
 * machine's roof for 4/3 n^3 eigenvalue rates.
 *
 * Usage: gen-cost [-r REPS] ENSEMBLE_JSON ...
 *        gen-cost [-r REPS] -m N ...
 *        gen-cost -s          (prints sizeof(rmt_draw_figs), the fixed part
 *                              of a result message, see src/farm.c)
 * Output records (whitespace separated):
 *   gen   LABEL N ROWS COLS FILL_S DRAW_S SOLVE_S FILL_FRAC REPS
 *   dgemm N SECONDS GFLOPS REPS
 * LABEL is the JSON with spaces removed. One BLAS thread
 * (rmt_solve_init_threads, as rmtmc ranks use).
 *
 * Build (see bench/gen-cost): cc -O2 -march=native -Isrc -Ibuild
 *   bench/gen_cost.c build/librmt.a + the libraries rmtmc links.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "bench_clock.h"

#include "config.h"
#include "draw.h"
#include "ensemble.h"
#include "solve.h"
#include "stats.h"


static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, int k)
{
    qsort(x, (size_t)k, sizeof *x, cmpd);
    return k % 2 ? x[k / 2] : 0.5 * (x[k / 2 - 1] + x[k / 2]);
}

/* Fill draw d exactly as src/draw.c does on one rank; returns doubles used. */
static void fill_draw(const rmt_point *pt, uint32_t d, double *a)
{
    const rmt_ensemble *e = &pt->ens;
    rmt_stream st = {pt->seed, pt->index, d};
    rmt_layout lay;
    rmt_ensemble_layout(e, &lay);
    if (lay.form == RMT_FORM_PRODUCT) {
        size_t off = 0;
        for (int k = 0; k < e->nfactors; k++) {
            int64_t r, c;
            int gram;
            rmt_ensemble_factor_shape(e, k, &r, &c, &gram);
            rmt_ensemble_fill_factor(e, k, &st, 0, r, 0, c, a + off, r);
            off += (size_t)r * (size_t)c;
        }
    } else if (lay.form == RMT_FORM_DIAGONAL) {
        rmt_ensemble_fill(e, &st, 0, e->n, 0, 1, a, e->n);
    } else if (lay.form == RMT_FORM_SYMMETRIC) {
        /* the lower triangle, column by column, as src/draw.c fills it */
        for (int64_t j = 0; j < lay.rows; j++)
            rmt_ensemble_fill(e, &st, j, lay.rows, j, j + 1, a + j + (size_t)j * (size_t)lay.rows, lay.rows);
    } else {
        rmt_ensemble_fill(e, &st, 0, lay.rows, 0, lay.cols, a, lay.rows);
    }
}

static size_t fill_doubles(const rmt_ensemble *e, int64_t *rows, int64_t *cols)
{
    rmt_layout lay;
    rmt_ensemble_layout(e, &lay);
    *rows = lay.rows;
    *cols = lay.cols;
    if (lay.form != RMT_FORM_PRODUCT) return (size_t)lay.rows * (size_t)lay.cols;
    size_t total = 0;
    for (int k = 0; k < e->nfactors; k++) {
        int64_t r, c;
        int gram;
        rmt_ensemble_factor_shape(e, k, &r, &c, &gram);
        total += (size_t)r * (size_t)c;
    }
    return total;
}

static int run_ensemble(const char *ens, int reps, rmt_draw_ctx *ctx)
{
    char *cfg = NULL;
    if (asprintf(&cfg,
                 "{\"name\":\"gen\",\"seed\":2020,\"draws\":%d,\"ensemble\":%s,\"statistics\":{\"density\":"
                 "{\"bins\":100,\"range\":\"auto\"},\"zero_mass\":{\"tolerance\":\"auto\"},\"moments\":4}}",
                 reps + 1, ens) < 0)
        return 1;
    rmt_plan *plan = NULL;
    if (rmt_config_parse(cfg, strlen(cfg), "gen-cost", &plan) != RMT_OK) {
        fprintf(stderr, "gen-cost: %s\n", rmt_err_message());
        free(cfg);
        return 1;
    }
    free(cfg);
    const rmt_point *pt = &plan->points[0];
    int64_t rows, cols;
    size_t nd = fill_doubles(&pt->ens, &rows, &cols);
    double *a = malloc(sizeof(double) * nd);
    uint64_t *counts = calloc((size_t)rmt_stats_ncounts(&pt->stat) + 1, sizeof(uint64_t));
    double *tf = malloc(sizeof(double) * (size_t)reps), *td = malloc(sizeof(double) * (size_t)reps);
    double *ts = malloc(sizeof(double) * (size_t)reps);
    if (!a || !counts || !tf || !td || !ts) {
        fprintf(stderr, "gen-cost: out of memory\n");
        return 1;
    }
    rmt_draw_figs f;
    if (rmt_draw_run(ctx, pt, (uint32_t)reps, &f, counts, NULL) != RMT_OK) { /* warm-up: workspaces, pages */
        fprintf(stderr, "gen-cost: %s\n", rmt_err_message());
        return 1;
    }
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        fill_draw(pt, (uint32_t)r, a);
        double t1 = now();
        if (rmt_draw_run(ctx, pt, (uint32_t)r, &f, counts, NULL) != RMT_OK || f.status != 0) {
            fprintf(stderr, "gen-cost: draw %d failed: %s\n", r, rmt_err_message());
            return 1;
        }
        double t2 = now();
        tf[r] = t1 - t0;
        td[r] = t2 - t1;
        ts[r] = (t2 - t1) - (t1 - t0);
    }
    char label[512];
    size_t k = 0;
    for (const char *p = ens; *p && k + 1 < sizeof label; p++)
        if (*p != ' ') label[k++] = *p;
    label[k] = '\0';
    double mf = median(tf, reps), md = median(td, reps), ms = median(ts, reps);
    printf("gen %s %lld %lld %lld %.6g %.6g %.6g %.4f %d\n", label, (long long)pt->ens.n, (long long)rows,
           (long long)cols, mf, md, ms, mf / md, reps);
    fflush(stdout);
    free(a);
    free(counts);
    free(tf);
    free(td);
    free(ts);
    rmt_plan_destroy(plan);
    return 0;
}

static int run_dgemm(int n, int reps)
{
    size_t nn = (size_t)n * (size_t)n;
    double *a = malloc(sizeof(double) * nn), *b = malloc(sizeof(double) * nn), *c = malloc(sizeof(double) * nn);
    double *t = malloc(sizeof(double) * (size_t)reps);
    if (!a || !b || !c || !t) return 1;
    for (size_t i = 0; i < nn; i++) {
        a[i] = (double)((i * 7919u) % 1000u) / 1000.0 - 0.5;
        b[i] = (double)((i * 104729u) % 997u) / 997.0 - 0.5;
    }
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n); /* warm-up */
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
        t[r] = now() - t0;
    }
    double m = median(t, reps);
    printf("dgemm %d %.6g %.4g %d\n", n, m, 2.0 * (double)n * n * n / m * 1e-9, reps);
    fflush(stdout);
    free(a);
    free(b);
    free(c);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    int reps = 3, rc = 0, dgemm = 0;
    rmt_solve_init_threads();
    rmt_draw_ctx *ctx = rmt_draw_create();
    if (!ctx) return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc) {
            reps = atoi(argv[++i]);
            if (reps < 1) reps = 1;
        } else if (!strcmp(argv[i], "-s")) {
            printf("sizeof_draw_figs %zu\n", sizeof(rmt_draw_figs));
        } else if (!strcmp(argv[i], "-m")) {
            dgemm = 1;
        } else if (dgemm) {
            rc |= run_dgemm(atoi(argv[i]), reps);
        } else {
            rc |= run_ensemble(argv[i], reps, ctx);
        }
    }
    rmt_draw_destroy(ctx);
    return rc;
}
