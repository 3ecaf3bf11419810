#include "results.h"

#include "journal.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Rows the master fills one draw at a time, in memory it touches for the
 * first time: ask for transparent huge pages (Linux, where enabled as
 * "madvise"), so that a 2 MB page fault serves ~10 000 draws' figures
 * rather than a 4 kB one 20. Measured on 2 ranks with 10^6 tiny draws: the
 * master's busy time per draw received 0.15 -> 0.09 us (results/SCALING.md).
 * Advice only: without huge pages nothing changes. */
static void *rows_calloc(size_t count, size_t size)
{
    void *p = calloc(count, size);
    size_t bytes = count * size, page = (size_t)sysconf(_SC_PAGESIZE);
    if (p && bytes >= ((size_t)4 << 20)) {
        uintptr_t a = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
        uintptr_t e = ((uintptr_t)p + bytes) & ~(uintptr_t)(page - 1);
#ifdef MADV_HUGEPAGE
        if (e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#endif
    }
    return p;
}

/* Results with rows for points [begin, end); a batch of merge's points has
 * no counts for the others either (a run writes them all, as zeros) */
static rmt_status create(const rmt_plan *plan, uint32_t slice_i, uint32_t slice_k, uint32_t begin, uint32_t end,
                         int batch, rmt_results **out)
{
    rmt_results *r = calloc(1, sizeof *r);
    if (!r) return RMT_ERR(RMT_ERUNTIME, "out of memory");
    r->plan = plan;
    r->p_begin = begin;
    r->p_end = end;
    r->slice_i = slice_i;
    r->slice_k = slice_k;
    r->batch = batch;
    r->pts = calloc(plan->npoints ? plan->npoints : 1, sizeof(rmt_point_result));
    if (!r->pts) { free(r); return RMT_ERR(RMT_ERUNTIME, "out of memory"); }
    for (uint32_t i = 0; i < plan->npoints; i++) {
        const rmt_point *pt = &plan->points[i];
        rmt_point_result *p = &r->pts[i];
        if (batch && (i < begin || i >= end)) continue;
        p->counts = calloc((size_t)rmt_stats_ncounts(&pt->stat) + 1, sizeof(uint64_t));
        if (!p->counts) {
            rmt_results_destroy(r);
            return RMT_ERR(RMT_ERUNTIME, "out of memory for the results of point %u", i);
        }
        if (i < r->p_begin || i >= r->p_end) continue; /* another slice's: no rows */
        p->have = calloc(pt->draws, 1);
        p->figs = rows_calloc(pt->draws, sizeof(rmt_draw_figs));
        int spectra = rmt_stats_needs_spectra(&pt->stat);
        if (spectra) p->eig = rows_calloc((size_t)pt->draws * (size_t)pt->ens.n, sizeof(double));
        if (!p->have || !p->figs || (spectra && !p->eig)) {
            rmt_results_destroy(r);
            return RMT_ERR(RMT_ERUNTIME, "out of memory for the results of point %u", i);
        }
        r->total_draws += pt->draws;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(r->created_utc, sizeof r->created_utc, "%Y-%m-%dT%H:%M:%SZ", &tm);
    *out = r;
    return RMT_OK;
}

rmt_status rmt_results_create(const rmt_plan *plan, uint32_t slice_i, uint32_t slice_k, rmt_results **out)
{
    uint32_t begin = 0, end = plan->npoints;
    if (slice_k == 0) return create(plan, 0, 1, begin, end, 0, out);
    rmt_plan_slice(plan, slice_i, slice_k, &begin, &end);
    return create(plan, slice_i, slice_k, begin, end, 0, out);
}

rmt_status rmt_results_create_batch(const rmt_plan *plan, uint32_t begin, uint32_t end, rmt_results **out)
{
    return create(plan, 0, 1, begin, end, 1, out);
}

double rmt_results_column_bytes(const rmt_point *pt) { return 72.0 + 8.0 * pt->stat.moments; }

double rmt_results_bytes(const rmt_plan *plan, uint32_t begin, uint32_t end, uint32_t *biggest)
{
    double keep = 0, extra = 0, most = 0;
    *biggest = UINT32_MAX;
    for (uint32_t i = begin; i < end; i++) {
        const rmt_point *pt = &plan->points[i];
        keep += (double)pt->draws * (sizeof(rmt_draw_figs) + 1.0);
        /* its histograms: density and gap-ratio counts, spacing counts */
        const rmt_statcfg *st = &pt->stat;
        int64_t sp_bins = st->sp_unfold != RMT_UNFOLD_NONE ? st->sp_bins : 0;
        keep += 8.0 * (double)(rmt_stats_ncounts(st) + 1 + sp_bins);
        /* writing (or restoring) a point: its rows by column (h5out.c), a
         * histogram's edges and its two theories, the counts read back */
        double columns = (double)pt->draws * rmt_results_column_bytes(pt);
        double hist = 8.0 * fmax((double)rmt_stats_ncounts(st) + 1, fmax((double)st->bins + 1,
                                 3.0 * (double)(st->gr_bins > sp_bins ? st->gr_bins : sp_bins)));
        extra = fmax(extra, fmax(columns, hist));
        if (!rmt_stats_needs_spectra(&pt->stat)) continue;
        double spectra = (double)pt->draws * (double)pt->ens.n * sizeof(double);
        keep += spectra;
        /* unfolding: three copies of the spectra, and each draw's number-variance sums */
        double unfold = 3 * spectra + (double)pt->draws * 8.0 * 3 * RMT_NV_COUNT;
        extra = fmax(extra, fmax(pt->stat.sp_unfold != RMT_UNFOLD_NONE ? unfold : 0, spectra + columns));
        if (spectra > most) {
            most = spectra;
            *biggest = i;
        }
    }
    return keep + extra;
}

void rmt_results_destroy(rmt_results *r)
{
    if (!r) return;
    if (r->pts)
        for (uint32_t i = 0; i < r->plan->npoints; i++) {
            free(r->pts[i].have);
            free(r->pts[i].figs);
            free(r->pts[i].counts);
            free(r->pts[i].eig);
            rmt_local_free(&r->pts[i].local);
        }
    free(r->pts);
    free(r->peak_rss);
    rmt_journal_close(r->journal, 0); /* a run that stopped: kept for --resume */
    free(r);
}

/* Record draw f (and its spectrum) once; 1 when it was new. */
static int record(rmt_results *r, const rmt_draw_figs *f, const double *eig)
{
    const rmt_point *pt = &r->plan->points[f->point];
    rmt_point_result *p = &r->pts[f->point];
    if (!p->have || p->have[f->draw]) return 0; /* no rows: another slice's point */
    p->have[f->draw] = 1;
    p->figs[f->draw] = *f;
    p->done++;
    r->done_draws++;
    if (isfinite(f->seconds)) {
        p->seconds += f->seconds;
        r->seconds += f->seconds;
    }
    if (f->status != 0) {
        p->failed++;
        r->failed_draws++;
    }
    if (p->eig) {
        double *row = p->eig + (size_t)f->draw * (size_t)pt->ens.n;
        if (eig) memcpy(row, eig, sizeof(double) * (size_t)pt->ens.n);
        else
            for (int64_t i = 0; i < pt->ens.n; i++) row[i] = NAN; /* a draw not run (status -2): no spectrum */
    }
    return 1;
}

rmt_status rmt_results_add(rmt_results *r, const rmt_draw_figs *f, const uint64_t *counts, const double *eig)
{
    if (f->point >= r->plan->npoints) return RMT_ERR(RMT_ERUNTIME, "result for unknown point %u", f->point);
    const rmt_point *pt = &r->plan->points[f->point];
    if (f->draw >= pt->draws) return RMT_ERR(RMT_ERUNTIME, "result for unknown draw %u of point %u", f->draw, f->point);
    rmt_point_result *p = &r->pts[f->point];
    if (!record(r, f, eig)) return RMT_OK;
    if (r->journal) rmt_journal_draw(r->journal, f, p->eig && eig ? eig : NULL, pt->ens.n);
    if (f->status == 0) {
        if (counts) rmt_results_add_counts(r, f->point, counts);
        p->below += f->below;
        p->above += f->above;
    }
    return RMT_OK;
}

void rmt_results_add_counts(rmt_results *r, uint32_t point, const uint64_t *counts)
{
    rmt_point_result *p = &r->pts[point];
    if (!p->counts) return; /* another batch's point (merge) */
    const int64_t nc = rmt_stats_ncounts(&r->plan->points[point].stat);
    for (int64_t k = 0; k < nc; k++) p->counts[k] += counts[k];
    if (r->journal) rmt_journal_counts(r->journal, point, counts, nc);
}

void rmt_results_restore_draw(rmt_results *r, const rmt_draw_figs *f, const double *eig) { (void)record(r, f, eig); }

void rmt_results_estimate(const rmt_results *r, uint32_t point, const char *field, int k, double *mean,
                          double *se)
{
    const rmt_point *pt = &r->plan->points[point];
    const rmt_point_result *p = &r->pts[point];
    double *x = malloc(sizeof(double) * (pt->draws ? pt->draws : 1));
    if (!x) {
        *mean = *se = NAN;
        return;
    }
    /* the figure's place in rmt_draw_figs, found once rather than per draw */
    size_t at;
    if (!strcmp(field, "zero_fraction")) at = offsetof(rmt_draw_figs, zero_fraction);
    else if (!strcmp(field, "mean_gap_ratio")) at = offsetof(rmt_draw_figs, mean_gap_ratio);
    else if (!strcmp(field, "lambda_max")) at = offsetof(rmt_draw_figs, lambda_max);
    else if (!strcmp(field, "moment") && k >= 1 && k <= RMT_MAX_MOMENTS)
        at = offsetof(rmt_draw_figs, moments) + sizeof(double) * (size_t)(k - 1);
    else at = SIZE_MAX;
    int64_t m = 0;
    for (uint32_t d = 0; at != SIZE_MAX && p->have && d < pt->draws; d++) {
        if (!p->have[d] || p->figs[d].status != 0) continue;
        memcpy(&x[m++], (const char *)&p->figs[d] + at, sizeof(double));
    }
    rmt_stats_mean_stderr(x, m, 1, mean, se);
    free(x);
}

/* |mean - 1| of unfolded spacings beyond which the unfolding has failed:
 * every unfolding here makes the mean level spacing 1 by construction, to
 * a few per cent in the bulk. A shared shift of the diagonal larger than
 * the spectrum's width (gp-hessian kp = 1, kpp = 1e-4) gives 0.13-0.18
 * under pool unfolding. */
#define UNFOLD_MEAN_OFF 0.1

/* Share of the eigenvalues outside the density range beyond which a run
 * says so: an edge that finite n blurs past the "auto" margin (5 % of the
 * support's width) loses well under 1 % (Wigner n = 20: 0.075 %); a range
 * that misses part of the spectrum loses more, and the histogram then no
 * longer integrates to the density. */
#define RANGE_OUT_NOTE 0.01

static void range_notes(const rmt_results *r, FILE *notes)
{
    const rmt_plan *plan = r->plan;
    for (uint32_t i = r->p_begin; i < r->p_end; i++) {
        const rmt_point *pt = &plan->points[i];
        const rmt_point_result *p = &r->pts[i];
        if (pt->stat.bins <= 0) continue;
        double in = 0;
        for (int32_t k = 0; k < pt->stat.bins; k++) in += (double)p->counts[k];
        double out = (double)p->below + (double)p->above, all = in + out;
        if (!(all > 0) || !(out > RANGE_OUT_NOTE * all)) continue;
        fprintf(notes,
                "rmtmc: note: point %u: %.3g %% of the eigenvalues fell outside density.range [%.6g, %.6g] "
                "(%.3g %% below, %.3g %% above; counted in density/below and density/above), so the histogram "
                "misses that share of the density%s\n",
                i, 100.0 * out / all, pt->stat.lo, pt->stat.hi, 100.0 * (double)p->below / all,
                100.0 * (double)p->above / all,
                pt->stat.range_auto ? "; \"auto\" takes the ensemble's limiting support, which this n or "
                                      "sparsity exceeds: give \"range\": [low, high]"
                                    : "; widen \"range\"");
    }
}

void rmt_results_print_local(const rmt_results *r, FILE *to, FILE *notes, const char *out)
{
    const rmt_plan *plan = r->plan;
    range_notes(r, notes);
    int any = 0;
    for (uint32_t i = r->p_begin; i < r->p_end; i++)
        any |= plan->points[i].stat.sp_unfold != RMT_UNFOLD_NONE || plan->points[i].stat.gr_bins > 0;
    if (!any) return;
    fprintf(to, "%6s  %-22s  %-20s %9s %7s %9s %7s\n", "point", "gap ratio <r~> (+-se)", "spacings: unfolding",
            "count", "mean", "variance", "KS GOE");
    uint32_t shown = 0;
    for (uint32_t i = r->p_begin; i < r->p_end; i++) {
        const rmt_point *pt = &plan->points[i];
        const rmt_local *l = &r->pts[i].local;
        if (pt->stat.sp_unfold == RMT_UNFOLD_NONE && pt->stat.gr_bins == 0) continue;
        if (++shown > 20) {
            fprintf(to, "   ... more points in %s (/points)\n", out);
            break;
        }
        char gr[64] = "-", u[32] = "-";
        { /* mean_gap_ratio is recorded for every point, with gap_ratios or not */
            double m, se;
            rmt_results_estimate(r, i, "mean_gap_ratio", 0, &m, &se);
            if (isfinite(m) && isfinite(se)) snprintf(gr, sizeof gr, "%.4f +- %.4f", m, se);
            else if (isfinite(m)) snprintf(gr, sizeof gr, "%.4f +- n/a", m); /* one draw */
        }
        if (pt->stat.sp_unfold == RMT_UNFOLD_NONE) {
            fprintf(to, "%6u  %-22s  %-20s\n", i, gr, u);
            continue;
        }
        snprintf(u, sizeof u, "%s%s", rmt_unfolding_name(pt->stat.sp_unfold), pt->stat.sp_per_draw ? " per draw" : "");
        fprintf(to, "%6u  %-22s  %-20s %9lld %7.4f %9.4f %7.4f\n", i, gr, u, (long long)l->count, l->mean, l->var,
                l->ks_goe);
    }
    for (uint32_t i = r->p_begin; i < r->p_end; i++) {
        const rmt_point *pt = &plan->points[i];
        const rmt_local *l = &r->pts[i].local;
        if (pt->stat.sp_unfold == RMT_UNFOLD_NONE || l->count < 100 || !(fabs(l->mean - 1) > UNFOLD_MEAN_OFF)) continue;
        const char *why =
            pt->stat.sp_unfold == RMT_UNFOLD_THEORY
                ? ": the spectra do not follow the ensemble's limiting law here (finite n, sparsity); \"pool\" or "
                  "\"polynomial\" unfolding takes the measured levels"
            : pt->stat.sp_unfold == RMT_UNFOLD_POLYNOMIAL && pt->stat.sp_per_draw
                ? " (a higher \"degree\" may fit each spectrum better)"
                : ": the spectra shift between draws by more than their width (a shared diagonal shift?); "
                  "\"unfolding\": \"polynomial\" with \"per_draw\": true unfolds each draw by its own levels";
        fprintf(notes,
                "rmtmc: note: point %u: the unfolded spacings have mean %.3g where a working unfolding gives 1, so "
                "its spacing statistics are not meaningful%s; gap ratios need no unfolding\n",
                i, l->mean, why);
    }
}

rmt_status rmt_results_finalize(rmt_results *r)
{
    for (uint32_t i = 0; i < r->plan->npoints; i++) {
        const rmt_point *pt = &r->plan->points[i];
        rmt_point_result *p = &r->pts[i];
        if (pt->stat.sp_unfold == RMT_UNFOLD_NONE || !p->have) continue;
        uint8_t *usable = malloc(pt->draws ? pt->draws : 1);
        if (!usable) return RMT_ERR(RMT_ERUNTIME, "out of memory");
        for (uint32_t d = 0; d < pt->draws; d++) usable[d] = p->have[d] && p->figs[d].status == 0;
        rmt_status s = rmt_local_spacings(pt, p->eig, usable, &p->local);
        free(usable);
        if (s) return s;
    }
    return RMT_OK;
}
