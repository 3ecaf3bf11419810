/* Shared by the physics tests: run a config on one rank through the path
 * `rmtmc run` takes (config -> draw -> results -> finalize), without MPI.
 * Header-only: each test program includes it once, after cmocka.h. */
#ifndef RMT_TESTS_RUNCFG_H
#define RMT_TESTS_RUNCFG_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "draw.h"
#include "results.h"
#include "solve.h"

typedef struct {
    rmt_plan *plan;
    rmt_results *res;
} run;

/* Every draw of every point must succeed (status 0). */
static run run_config(const char *json)
{
    run r = {NULL, NULL};
    rmt_err_clear();
    if (rmt_config_parse(json, strlen(json), "test.json", &r.plan)) fail_msg("config: %s", rmt_err_message());
    assert_int_equal(rmt_results_create(r.plan, 0, 0, &r.res), RMT_OK);
    rmt_solve_init_threads();
    rmt_draw_ctx *c = rmt_draw_create();
    assert_non_null(c);
    for (uint32_t p = 0; p < r.plan->npoints; p++) {
        const rmt_point *pt = &r.plan->points[p];
        uint64_t *counts = calloc((size_t)rmt_stats_ncounts(&pt->stat) + 1, sizeof(uint64_t));
        double *eig = rmt_stats_needs_spectra(&pt->stat) ? malloc(sizeof(double) * (size_t)pt->ens.n) : NULL;
        for (uint32_t d = 0; d < pt->draws; d++) {
            rmt_draw_figs f;
            assert_int_equal(rmt_draw_run(c, pt, d, &f, counts, eig), RMT_OK);
            assert_int_equal(f.status, 0);
            assert_int_equal(rmt_results_add(r.res, &f, counts, eig), RMT_OK);
        }
        free(counts);
        free(eig);
    }
    rmt_draw_destroy(c);
    assert_int_equal(rmt_results_finalize(r.res), RMT_OK);
    return r;
}

static void run_free(run *r)
{
    rmt_results_destroy(r->res);
    rmt_plan_destroy(r->plan);
}

#endif
