#include "h5out.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "local.h"
#include "theory.h"
#include "version.h"

void rmt_h5out_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* HDF5 1.10 (Debian 12's 1.10.8) frees a file whose H5Fclose fails (a full
 * disk fails the flush of its metadata) yet keeps its ID, and shutting the
 * library down closes that ID again: a segfault in H5F__close_cb, at
 * MPI_Finalize or at exit (HDFFV-11052, fixed upstream after 1.10.8). So the
 * library is started before MPI_Init, which keeps it from tying its
 * shutdown to MPI_Finalize (a delete callback on MPI_COMM_SELF), and without
 * its atexit handler: it is never shut down, the process's exit releases
 * it. rmtmc opens no file through MPI-IO, and closes every file it opens. */
void rmt_h5out_start(void)
{
    H5dont_atexit();
    H5open();
    rmt_h5out_quiet();
}

/* Write helpers return 0 on success, -1 on failure; the caller turns one
 * failure into one message. */

static int attr_str(hid_t obj, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
    int rc = -1;
    if (t < 0 || sp < 0) goto out;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) goto out;
    a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) goto out;
    if (H5Awrite(a, t, &value) < 0) goto out;
    rc = 0;
out:
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return rc;
}

static int attr_num(hid_t obj, const char *name, hid_t type, const void *value)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    if (sp < 0) return -1;
    hid_t a = H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (a >= 0 && H5Awrite(a, type, value) >= 0) ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return rc;
}

static int attr_f64(hid_t o, const char *n, double v) { return attr_num(o, n, H5T_NATIVE_DOUBLE, &v); }
static int attr_i64(hid_t o, const char *n, int64_t v) { return attr_num(o, n, H5T_NATIVE_INT64, &v); }

/* A float64 attribute holding the array x[len]. */
static int attr_f64_array(hid_t obj, const char *name, const double *x, hsize_t len)
{
    hid_t sp = H5Screate_simple(1, &len, NULL);
    if (sp < 0) return -1;
    hid_t a = H5Acreate2(obj, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (a >= 0 && H5Awrite(a, H5T_NATIVE_DOUBLE, x) >= 0) ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return rc;
}

/* A dataset of rank 1 or 2 (dims[1] == 0 means rank 1). Stored little-endian
 * so files compare equal across machines. */
static int dset(hid_t loc, const char *name, hid_t memtype, hid_t filetype, hsize_t d0, hsize_t d1, const void *data)
{
    hsize_t dims[2] = {d0, d1};
    hid_t sp = H5Screate_simple(d1 ? 2 : 1, dims, NULL);
    if (sp < 0) return -1;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t d = H5Dcreate2(loc, name, filetype, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    int rc = -1;
    if (d >= 0) rc = (d0 == 0 || H5Dwrite(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0) ? 0 : -1;
    if (d >= 0) H5Dclose(d);
    H5Pclose(lcpl);
    H5Sclose(sp);
    return rc;
}

static int dset_f64(hid_t l, const char *n, hsize_t d0, hsize_t d1, const double *x)
{
    return dset(l, n, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, d0, d1, x);
}
static int dset_u64(hid_t l, const char *n, hsize_t d0, const uint64_t *x)
{
    return dset(l, n, H5T_NATIVE_UINT64, H5T_STD_U64LE, d0, 0, x);
}
static int dset_i64(hid_t l, const char *n, hsize_t d0, const int64_t *x)
{
    return dset(l, n, H5T_NATIVE_INT64, H5T_STD_I64LE, d0, 0, x);
}
static int dset_i32(hid_t l, const char *n, hsize_t d0, const int32_t *x)
{
    return dset(l, n, H5T_NATIVE_INT32, H5T_STD_I32LE, d0, 0, x);
}
static int scalar_u64(hid_t l, const char *n, uint64_t v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(l, n, H5T_STD_U64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (d >= 0 && H5Dwrite(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) >= 0) ? 0 : -1;
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp);
    return rc;
}

static int dset_strs(hid_t l, const char *n, hsize_t d0, const char *const *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    int rc = dset(l, n, t, t, d0, 0, s);
    H5Tclose(t);
    return rc;
}

static void utc_now(char *buf, size_t n)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* What ran, by solver, over the finished draws of this run's points:
 * "dsyevr 120, dsyevd_2stage 6" (the root attribute `solver` states the
 * rule; with "auto" the group size and grid solver depend on the ranks). */
static const struct {
    int code;
    const char *name;
} solver_names[] = {{RMT_SOLVER_NONE, "none"},
                    {RMT_SOLVER_LAPACK0 + 0, "dsyevd"},
                    {RMT_SOLVER_LAPACK0 + 1, "dsyevr"},
                    {RMT_SOLVER_LAPACK0 + 2, "dsyev"},
                    {RMT_SOLVER_LAPACK0 + 3, "dsyevd_2stage"},
                    {RMT_SOLVER_LAPACK0 + 4, "dsyev_2stage"},
                    {RMT_SOLVER_PDSYEV, "pdsyev"},
                    {RMT_SOLVER_PDSYEVR, "pdsyevr"},
                    {RMT_SOLVER_ELPA, "elpa"}};
enum { NSOLVERS = sizeof solver_names / sizeof *solver_names };

/* A file being written: points go in as they come (in batches, for
 * merge), then the summary and the root attributes, which hold figures
 * of every point, gathered on the way. */
struct rmt_h5_writer {
    char *path, *tmp;
    hid_t f;
    int rc;                        /* 0 until a write fails */
    const rmt_plan *plan;
    size_t P, K;                   /* points; moments of the summary (the most any point has) */
    int64_t *pi;                   /* [3P]: point, draws done, n */
    double *v;                     /* [5P]: zero mass mean, stderr, theory; mean gap ratio, stderr */
    double *mom;                   /* [3PK]: moments, stderr, theory */
    double *lmx;                   /* [3P]: lambda_max mean, stderr, theory */
    uint64_t solvers[NSOLVERS + 1]; /* draws by solver, the last: unknown codes */
    uint64_t requested, done, failed; /* over the points that have rows */
};

static void count_solvers(rmt_h5_writer *w, const rmt_results *r, uint32_t i)
{
    for (uint32_t d = 0; r->pts[i].have && d < r->plan->points[i].draws; d++) {
        if (!r->pts[i].have[d]) continue;
        int k = 0;
        while (k < NSOLVERS && solver_names[k].code != r->pts[i].figs[d].solver) k++;
        w->solvers[k]++;
    }
}

static void solvers_run(const rmt_h5_writer *w, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int k = 0; k < NSOLVERS; k++)
        if (w->solvers[k] && at < len)
            at += (size_t)snprintf(buf + at, len - at, "%s%s %llu", at ? ", " : "", solver_names[k].name,
                                   (unsigned long long)w->solvers[k]);
    if (w->solvers[NSOLVERS] && at < len)
        snprintf(buf + at, len - at, "%sunknown %llu", at ? ", " : "", (unsigned long long)w->solvers[NSOLVERS]);
}

static int write_root(hid_t f, const rmt_h5_writer *w, const rmt_results *r, const rmt_h5_meta *m, int complete)
{
    const rmt_plan *p = r->plan;
    char host[256] = "", fin[32] = "";
    gethostname(host, sizeof host - 1);
    if (complete) utc_now(fin, sizeof fin);
    const char *job = getenv("SLURM_JOB_ID");
    int rc = 0;
    rc |= attr_str(f, "format", "rmtmc-1");
    rc |= attr_str(f, "rmtmc_version", RMT_VERSION);
    rc |= attr_str(f, "config_json", p->config_json);
    rc |= attr_str(f, "config_sha256", p->sha256);
    rc |= attr_i64(f, "seed", p->seed);
    rc |= attr_str(f, "created_utc", r->created_utc);
    rc |= attr_str(f, "finished_utc", fin);
    rc |= attr_i64(f, "complete", complete ? 1 : 0);
    /* a checkpoint's id: its journal (OUT.h5.journal) names it */
    if (!complete && r->ckpt_id) rc |= attr_i64(f, "checkpoint_id", (int64_t)r->ckpt_id);
    rc |= attr_i64(f, "mpi_ranks", m->mpi_ranks);
    rc |= attr_str(f, "hostname", host);
    if (job) rc |= attr_str(f, "slurm_job_id", job);
    const char *task = getenv("SLURM_ARRAY_TASK_ID"), *nodes = getenv("SLURM_JOB_NODELIST");
    if (task) rc |= attr_str(f, "slurm_array_task_id", task);
    if (nodes) rc |= attr_str(f, "slurm_job_nodelist", nodes);
    if (r->slice_k > 1) {
        char sl[64];
        snprintf(sl, sizeof sl, "%u/%u", r->slice_i, r->slice_k);
        rc |= attr_str(f, "points_slice", sl);
    }
    rc |= attr_str(f, "command_line", m->command_line ? m->command_line : "");
    rc |= attr_str(f, "solver", m->solver ? m->solver : "");
    char ran[256];
    solvers_run(w, ran, sizeof ran);
    rc |= attr_str(f, "solvers_run", ran);
    rc |= attr_i64(f, "draws_requested", (int64_t)w->requested);
    rc |= attr_i64(f, "draws_done", (int64_t)w->done);
    rc |= attr_i64(f, "failed_draws", (int64_t)w->failed);
    if (r->master_run_s > 0) {
        /* what the master spent on other groups' results (results.h) */
        rc |= attr_i64(f, "master_draws_received", (int64_t)r->master_received);
        rc |= attr_f64(f, "master_busy_seconds", r->master_busy_s);
        rc |= attr_f64(f, "master_checkpoint_seconds", r->master_ckpt_s);
        rc |= attr_f64(f, "master_run_seconds", r->master_run_s);
    }
    if (r->peak_rss && r->nranks > 0) {
        hsize_t nr = (hsize_t)r->nranks;
        hid_t sp = H5Screate_simple(1, &nr, NULL);
        hid_t a = H5Acreate2(f, "peak_rss_bytes", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        rc |= (a >= 0 && H5Awrite(a, H5T_NATIVE_INT64, r->peak_rss) >= 0) ? 0 : -1;
        if (a >= 0) H5Aclose(a);
        H5Sclose(sp);
    }
    return rc;
}

/* A histogram on [0, max] with its theory beside it: the probability of each
 * bin under the GOE law and under the Poisson law (multiply by the total to
 * compare with counts), and chi-square distances to each as attributes. */
static int write_hist(hid_t g, const char *name, const uint64_t *counts, int64_t B, double max,
                      double (*goe)(double), double (*poi)(double))
{
    hid_t h = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (h < 0) return -1;
    double *edges = malloc(sizeof(double) * (size_t)(B + 1)), *tg = malloc(sizeof(double) * (size_t)B),
           *tp = malloc(sizeof(double) * (size_t)B);
    int rc = -1;
    if (edges && tg && tp) {
        for (int64_t k = 0; k <= B; k++) edges[k] = rmt_stats_edge(0, max, B, k);
        for (int64_t k = 0; k < B; k++) {
            tg[k] = goe(edges[k + 1]) - goe(edges[k]);
            tp[k] = poi(edges[k + 1]) - poi(edges[k]);
        }
        int64_t dg = 0, dp = 0;
        double cg = rmt_local_chi2(counts, B, max, goe, &dg), cp = rmt_local_chi2(counts, B, max, poi, &dp);
        rc = 0;
        rc |= dset_f64(h, "edges", (hsize_t)B + 1, 0, edges);
        rc |= dset_u64(h, "counts", (hsize_t)B, counts);
        rc |= dset_f64(h, "theory_goe", (hsize_t)B, 0, tg);
        rc |= dset_f64(h, "theory_poisson", (hsize_t)B, 0, tp);
        rc |= attr_f64(h, "chi2_per_dof_goe", cg);
        rc |= attr_i64(h, "chi2_dof_goe", dg);
        rc |= attr_f64(h, "chi2_per_dof_poisson", cp);
        rc |= attr_i64(h, "chi2_dof_poisson", dp);
    }
    free(edges);
    free(tg);
    free(tp);
    H5Gclose(h);
    return rc;
}

static int write_spacings(hid_t g, const rmt_point *pt, const rmt_local *l)
{
    uint64_t zero = 0;
    int rc = write_hist(g, "spacings", l->counts ? l->counts : &zero, l->counts ? pt->stat.sp_bins : 0,
                        pt->stat.sp_max, rmt_theory_spacing_cdf_goe, rmt_theory_spacing_cdf_poisson);
    hid_t h = H5Gopen2(g, "spacings", H5P_DEFAULT);
    if (h < 0) return -1;
    double nvg[RMT_NV_COUNT], nvp[RMT_NV_COUNT];
    for (int k = 0; k < RMT_NV_COUNT; k++) {
        nvg[k] = rmt_theory_number_variance_goe(l->nv_L[k]);
        nvp[k] = rmt_theory_number_variance_poisson(l->nv_L[k]);
    }
    rc |= attr_str(h, "unfolding", rmt_unfolding_name(pt->stat.sp_unfold));
    if (pt->stat.sp_unfold == RMT_UNFOLD_POLYNOMIAL) {
        rc |= attr_i64(h, "degree", pt->stat.sp_degree);
        rc |= attr_i64(h, "per_draw", pt->stat.sp_per_draw);
    }
    rc |= attr_i64(h, "count", l->count);
    rc |= attr_i64(h, "draws_used", l->draws_used);
    rc |= attr_f64(h, "mean", l->mean);
    rc |= attr_f64(h, "variance", l->var);
    rc |= attr_f64(h, "ks_goe", l->ks_goe);
    rc |= attr_f64(h, "ks_poisson", l->ks_poisson);
    rc |= attr_f64(h, "bulk_low", pt->stat.sp_bulk_lo);
    rc |= attr_f64(h, "bulk_high", pt->stat.sp_bulk_hi);
    rc |= scalar_u64(h, "below", l->below);
    rc |= scalar_u64(h, "above", l->above);
    rc |= dset_f64(h, "number_variance_L", RMT_NV_COUNT, 0, l->nv_L);
    rc |= dset_f64(h, "number_variance", RMT_NV_COUNT, 0, l->nv);
    rc |= dset_f64(h, "number_variance_goe", RMT_NV_COUNT, 0, nvg);
    rc |= dset_f64(h, "number_variance_poisson", RMT_NV_COUNT, 0, nvp);
    H5Gclose(h);
    return rc;
}

static int write_point(hid_t f, const rmt_results *r, uint32_t i, int complete)
{
    const rmt_point *pt = &r->plan->points[i];
    const rmt_point_result *p = &r->pts[i];
    char name[32];
    snprintf(name, sizeof name, "points/%06u", i);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t g = H5Gcreate2(f, name, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    if (g < 0) return -1;
    int rc = 0;
    double zm, zse, gr, grse;
    rmt_results_estimate(r, i, "zero_fraction", 0, &zm, &zse);
    rmt_results_estimate(r, i, "mean_gap_ratio", 0, &gr, &grse);
    rc |= attr_str(g, "params_json", r->plan->params_json[i]);
    rc |= attr_str(g, "experiment", r->plan->exp_names[pt->experiment]);
    rc |= attr_i64(g, "n", pt->ens.n);
    rc |= attr_i64(g, "draws_requested", pt->draws);
    rc |= attr_i64(g, "draws_done", p->done);
    rc |= attr_i64(g, "draws_failed", p->failed);
    rc |= attr_f64(g, "zero_mass_mean", zm);
    rc |= attr_f64(g, "zero_mass_stderr", zse);
    rc |= attr_f64(g, "zero_mass_theory", pt->zero_mass_theory);
    {
        /* the largest eigenvalue against its limit (spectral edge or BBP outlier) */
        double lm, lse;
        rmt_results_estimate(r, i, "lambda_max", 0, &lm, &lse);
        rc |= attr_f64(g, "lambda_max_mean", lm);
        rc |= attr_f64(g, "lambda_max_stderr", lse);
        rc |= attr_f64(g, "lambda_max_theory", pt->lambda_max_theory);
        if (pt->stat.moments > 0) rc |= attr_f64_array(g, "moments_theory", pt->moments_theory, (hsize_t)pt->stat.moments);
    }
    rc |= attr_f64(g, "mean_gap_ratio", gr);
    rc |= attr_f64(g, "mean_gap_ratio_stderr", grse);

    /* per-draw rows, in draw index order */
    size_t m = p->done, K = (size_t)pt->stat.moments, n = (size_t)pt->ens.n;
    int64_t *idx = malloc(sizeof(int64_t) * (m ? m : 1));
    int64_t *sz = malloc(sizeof(int64_t) * (m ? m : 1));
    int32_t *status = malloc(sizeof(int32_t) * (m ? m : 1) * 2), *solver = status ? status + (m ? m : 1) : NULL;
    double *col = malloc(sizeof(double) * (m ? m : 1) * 6);
    double *mom = malloc(sizeof(double) * (m ? m : 1) * (K ? K : 1));
    /* spectra go into checkpoints and job-array parts too when spacings need
     * them: resuming and merging unfold against all draws */
    int store = rmt_stats_needs_spectra(&pt->stat) && (pt->stat.eigenvalues || !complete || r->slice_k > 1);
    double *eig = store ? malloc(sizeof(double) * (m ? m : 1) * n) : NULL;
    if (!idx || !sz || !status || !col || !mom || (store && !eig)) {
        rc = -1;
        goto out;
    }
    size_t row = 0;
    for (uint32_t d = 0; p->have && d < pt->draws; d++) {
        if (!p->have[d]) continue;
        const rmt_draw_figs *fg = &p->figs[d];
        idx[row] = d;
        sz[row] = fg->structural_zeros;
        status[row] = fg->status;
        solver[row] = fg->solver;
        col[0 * m + row] = fg->zero_fraction;
        col[1 * m + row] = fg->lambda_min;
        col[2 * m + row] = fg->lambda_max;
        col[3 * m + row] = fg->mean_gap_ratio;
        col[4 * m + row] = fg->seconds;
        for (size_t k = 0; k < K; k++) mom[row * K + k] = fg->moments[k];
        if (eig && p->eig) memcpy(eig + row * n, p->eig + (size_t)d * n, sizeof(double) * n);
        row++;
    }
    rc |= dset_i64(g, "draws/index", m, idx);
    rc |= dset_f64(g, "draws/zero_fraction", m, 0, col + 0 * m);
    rc |= dset_i64(g, "draws/structural_zeros", m, sz);
    rc |= dset_f64(g, "draws/lambda_min", m, 0, col + 1 * m);
    rc |= dset_f64(g, "draws/lambda_max", m, 0, col + 2 * m);
    rc |= dset_f64(g, "draws/mean_gap_ratio", m, 0, col + 3 * m);
    rc |= dset_f64(g, "draws/seconds", m, 0, col + 4 * m);
    rc |= dset_i32(g, "draws/status", m, status);
    rc |= dset_i32(g, "draws/solver", m, solver);
    if (rc == 0) {
        hid_t d = H5Dopen2(g, "draws/solver", H5P_DEFAULT);
        rc |= d >= 0 ? attr_str(d, "codes", RMT_SOLVER_NAMES) : -1;
        if (d >= 0) H5Dclose(d);
    }
    if (K) rc |= dset_f64(g, "draws/moments", m, K, mom);
    if (eig) rc |= dset_f64(g, "eigenvalues", m, n, eig);
    if (pt->stat.bins > 0) {
        size_t B = (size_t)pt->stat.bins;
        double *edges = malloc(sizeof(double) * (B + 1));
        if (!edges) {
            rc = -1;
            goto out;
        }
        for (size_t k = 0; k <= B; k++) edges[k] = rmt_stats_edge(pt->stat.lo, pt->stat.hi, (int64_t)B, (int64_t)k);
        rc |= dset_f64(g, "density/edges", B + 1, 0, edges);
        rc |= dset_u64(g, "density/counts", B, p->counts);
        rc |= scalar_u64(g, "density/below", p->below);
        rc |= scalar_u64(g, "density/above", p->above);
        free(edges);
    }
    if (pt->stat.gr_bins > 0) {
        const uint64_t *gc = p->counts + (pt->stat.bins > 0 ? pt->stat.bins : 0);
        rc |= write_hist(g, "gap_ratios", gc, pt->stat.gr_bins, pt->stat.gr_max, rmt_theory_ratio_cdf_goe,
                         rmt_theory_ratio_cdf_poisson);
        rc |= scalar_u64(g, "gap_ratios/above", gc[pt->stat.gr_bins]); /* ratios above max */
    }
    if (pt->stat.sp_unfold != RMT_UNFOLD_NONE) rc |= write_spacings(g, pt, &p->local);
out:
    free(idx);
    free(sz);
    free(status);
    free(col);
    free(mom);
    free(eig);
    H5Gclose(g);
    return rc;
}

/* A point's row of the summary, from r, which holds its draws. */
static void summary_row(rmt_h5_writer *w, const rmt_results *r, uint32_t i)
{
    const rmt_point *pt = &w->plan->points[i];
    size_t P = w->P, K = w->K;
    w->pi[P + i] = r->pts[i].done;
    rmt_results_estimate(r, i, "lambda_max", 0, &w->lmx[i], &w->lmx[P + i]);
    rmt_results_estimate(r, i, "zero_fraction", 0, &w->v[i], &w->v[P + i]);
    rmt_results_estimate(r, i, "mean_gap_ratio", 0, &w->v[3 * P + i], &w->v[4 * P + i]);
    for (size_t k = 0; k < K; k++) {
        double mm = NAN, se = NAN;
        if ((int)k < pt->stat.moments) rmt_results_estimate(r, i, "moment", (int)k + 1, &mm, &se);
        w->mom[i * K + k] = mm;
        w->mom[P * K + i * K + k] = se;
    }
}

static int write_summary(hid_t f, const rmt_h5_writer *w)
{
    const rmt_plan *p = w->plan;
    size_t P = w->P, K = w->K;
    hid_t g = H5Gcreate2(f, "summary", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return -1;
    int rc = 0;
    const char **names = malloc(sizeof(char *) * (P ? P : 1));
    double *sw = malloc(sizeof(double) * (P ? P : 1));
    if (!names || !sw) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < P; i++) names[i] = p->exp_names[p->points[i].experiment];
    rc |= dset_i64(g, "point", P, w->pi);
    rc |= dset_strs(g, "experiment", P, names);
    rc |= dset_i64(g, "n", P, w->pi + 2 * P);
    rc |= dset_i64(g, "draws_done", P, w->pi + P);
    for (uint32_t k = 0; k < p->nswept; k++) {
        for (size_t i = 0; i < P; i++) sw[i] = p->swept[i * p->nswept + k];
        rc |= dset_f64(g, p->swept_paths[k], P, 0, sw);
    }
    rc |= dset_f64(g, "zero_mass_mean", P, 0, w->v);
    rc |= dset_f64(g, "zero_mass_stderr", P, 0, w->v + P);
    rc |= dset_f64(g, "zero_mass_theory", P, 0, w->v + 2 * P);
    rc |= dset_f64(g, "mean_gap_ratio", P, 0, w->v + 3 * P);
    rc |= dset_f64(g, "mean_gap_ratio_stderr", P, 0, w->v + 4 * P);
    if (K) {
        rc |= dset_f64(g, "moments", P, K, w->mom);
        rc |= dset_f64(g, "moments_stderr", P, K, w->mom + P * K);
        rc |= dset_f64(g, "moments_theory", P, K, w->mom + 2 * P * K);
    }
    rc |= dset_f64(g, "lambda_max_mean", P, 0, w->lmx);
    rc |= dset_f64(g, "lambda_max_stderr", P, 0, w->lmx + P);
    rc |= dset_f64(g, "lambda_max_theory", P, 0, w->lmx + 2 * P);
out:
    free(names);
    free(sw);
    H5Gclose(g);
    return rc;
}

/* fsync a file or directory; a signal arriving meanwhile (a second
 * SIGTERM during the stop's checkpoint) does not make it fail */
static int fsync_path(const char *path, int dir)
{
    int fd, rc;
    do fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return -1;
    do rc = fsync(fd);
    while (rc != 0 && errno == EINTR);
    close(fd);
    return rc;
}

static void writer_free(rmt_h5_writer *w)
{
    free(w->path);
    free(w->tmp);
    free(w->pi);
    free(w->v);
    free(w->mom);
    free(w->lmx);
    free(w);
}

void rmt_h5out_abandon(rmt_h5_writer *w)
{
    if (!w) return;
    if (w->f >= 0) H5Fclose(w->f);
    unlink(w->tmp);
    writer_free(w);
}

/* The summary's moment columns: the most any point measures. */
static size_t summary_moments(const rmt_plan *plan)
{
    size_t K = 0;
    for (size_t i = 0; i < plan->npoints; i++)
        if ((size_t)plan->points[i].stat.moments > K) K = (size_t)plan->points[i].stat.moments;
    return K;
}

double rmt_h5out_summary_bytes(const rmt_plan *plan)
{
    /* pi, v, lmx and mom of rmt_h5_writer */
    return 8.0 * (11.0 + 3.0 * (double)summary_moments(plan)) * (double)plan->npoints;
}

rmt_status rmt_h5out_begin(const char *path, const rmt_plan *plan, rmt_h5_writer **out)
{
    *out = NULL;
    rmt_h5_writer *w = calloc(1, sizeof *w);
    if (!w) return RMT_ERR(RMT_ERUNTIME, "out of memory");
    w->f = -1;
    w->plan = plan;
    size_t P = plan->npoints, K = summary_moments(plan), P1 = P ? P : 1;
    w->P = P;
    w->K = K;
    size_t len = strlen(path) + 8;
    w->path = strdup(path);
    w->tmp = malloc(len);
    w->pi = malloc(sizeof(int64_t) * P1 * 3);
    w->v = malloc(sizeof(double) * P1 * 5);
    w->mom = malloc(sizeof(double) * P1 * (K ? K : 1) * 3);
    w->lmx = malloc(sizeof(double) * P1 * 3);
    if (!w->path || !w->tmp || !w->pi || !w->v || !w->mom || !w->lmx) {
        writer_free(w);
        return RMT_ERR(RMT_ERUNTIME, "out of memory");
    }
    snprintf(w->tmp, len, "%s.tmp", path);
    /* every point as if it had no draws, until its batch comes */
    for (size_t i = 0; i < P; i++) {
        const rmt_point *pt = &plan->points[i];
        w->pi[i] = (int64_t)i;
        w->pi[P + i] = 0;
        w->pi[2 * P + i] = pt->ens.n;
        for (int k = 0; k < 5; k++) w->v[k * P + i] = NAN;
        w->v[2 * P + i] = pt->zero_mass_theory;
        w->lmx[i] = w->lmx[P + i] = NAN;
        w->lmx[2 * P + i] = pt->lambda_max_theory;
        for (size_t k = 0; k < K; k++) {
            w->mom[i * K + k] = w->mom[P * K + i * K + k] = NAN;
            w->mom[2 * P * K + i * K + k] = (int)k < pt->stat.moments ? pt->moments_theory[k] : NAN;
        }
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* the oldest format that holds everything: readable by any HDF5 1.8+ tool */
    H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
    w->f = H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (w->f < 0) {
        rmt_status s = RMT_ERR(RMT_ERUNTIME, "%s: cannot create (HDF5)", w->tmp);
        rmt_h5out_abandon(w); /* a full disk may have left part of it */
        return s;
    }
    *out = w;
    return RMT_OK;
}

rmt_status rmt_h5out_points(rmt_h5_writer *w, const rmt_results *r, uint32_t begin, uint32_t end, int complete)
{
    for (uint32_t i = begin; i < end && w->rc == 0; i++) {
        w->rc |= write_point(w->f, r, i, complete);
        summary_row(w, r, i);
        count_solvers(w, r, i);
        if (r->pts[i].have) w->requested += r->plan->points[i].draws;
        w->done += r->pts[i].done;
        w->failed += r->pts[i].failed;
    }
    if (w->rc) return RMT_ERR(RMT_ERUNTIME, "%s: writing the HDF5 file failed (disk full?)", w->tmp);
    return RMT_OK;
}

volatile sig_atomic_t rmt_h5out_commits = 0, rmt_h5out_committing = 0;

/* rename(tmp, path), marked for a signal handler (merge's, analyze's, in
 * whichever thread the signal lands): while committing it lets the signal
 * pass, and after it the count of commits has moved. */
static int commit(const char *tmp, const char *path)
{
    __atomic_store_n(&rmt_h5out_committing, 1, __ATOMIC_SEQ_CST);
    int rc = rename(tmp, path);
    int e = errno;
    if (rc == 0) __atomic_add_fetch(&rmt_h5out_commits, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&rmt_h5out_committing, 0, __ATOMIC_SEQ_CST);
    errno = e;
    return rc;
}

rmt_status rmt_h5out_end(rmt_h5_writer *w, const rmt_results *r, const rmt_h5_meta *meta, int complete)
{
    rmt_status s = RMT_OK;
    int rc = w->rc;
    if (rc == 0) rc |= write_summary(w->f, w);
    if (rc == 0) rc |= write_root(w->f, w, r, meta, complete);
    herr_t closed = H5Fclose(w->f);
    w->f = -1;
    if (closed < 0) rc = -1;
    if (rc != 0) {
        s = RMT_ERR(RMT_ERUNTIME, "%s: writing the HDF5 file failed (disk full?)", w->tmp);
    } else if (fsync_path(w->tmp, 0) != 0 || commit(w->tmp, w->path) != 0) {
        s = RMT_ERR(RMT_ERUNTIME, "%s: cannot move into place: %s", w->path, strerror(errno));
    } else {
        fsync_path(dirname(w->path), 1); /* w->path is not used after this */
        writer_free(w);
        return RMT_OK;
    }
    unlink(w->tmp);
    writer_free(w);
    return s;
}

rmt_status rmt_h5out_write(const char *path, const rmt_results *r, const rmt_h5_meta *meta, int complete)
{
    rmt_h5_writer *w;
    rmt_status s = rmt_h5out_begin(path, r->plan, &w);
    if (!s) s = rmt_h5out_points(w, r, 0, r->plan->npoints, complete);
    if (s) {
        rmt_h5out_abandon(w);
        return s;
    }
    return rmt_h5out_end(w, r, meta, complete);
}

int rmt_h5in_is_hdf5(const char *path) { return H5Fis_hdf5(path) > 0; }

/* Names of the file's 2-D datasets (what analyze can read), for a message. */
typedef struct {
    char list[400];
    int found;
} twod_names;

static herr_t twod_visit(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    twod_names *t = op;
    if (info->type != H5L_TYPE_HARD || H5Oexists_by_name(g, name, H5P_DEFAULT) <= 0) return 0;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0) return 0; /* a group */
    hid_t sp = H5Dget_space(d);
    if (sp >= 0 && H5Sget_simple_extent_ndims(sp) == 2) {
        size_t at = strlen(t->list);
        if (t->found < 6 && at + strlen(name) + 4 < sizeof t->list)
            snprintf(t->list + at, sizeof t->list - at, "%s%s", t->found ? ", " : "", name);
        else if (t->found == 6 && at + 5 < sizeof t->list)
            snprintf(t->list + at, sizeof t->list - at, ", ...");
        t->found++;
    }
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(d);
    return 0;
}

rmt_status rmt_h5in_read_2d(const char *path, const char *name, int64_t *rows, int64_t *cols, double **data)
{
    *data = NULL;
    rmt_status s = RMT_OK;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d = H5I_INVALID_HID, sp = H5I_INVALID_HID,
          t = H5I_INVALID_HID;
    if (f < 0) return RMT_ERR(RMT_EUSAGE, "%s: cannot open as HDF5", path);
    int exists = H5Lexists(f, name, H5P_DEFAULT) > 0;
    if (!exists || (d = H5Dopen2(f, name, H5P_DEFAULT)) < 0) {
        hid_t g = exists ? H5Gopen2(f, name, H5P_DEFAULT) : H5I_INVALID_HID;
        if (g >= 0) {
            H5Gclose(g);
            s = RMT_ERR(RMT_EUSAGE, "%s: \"%s\" is a group, not a dataset; name a dataset in it (--dataset %s/NAME)",
                        path, name, name);
        } else {
            twod_names t = {"", 0};
            H5Lvisit(f, H5_INDEX_NAME, H5_ITER_INC, twod_visit, &t);
            if (t.found)
                s = RMT_ERR(RMT_EUSAGE, "%s: no dataset \"%s\"; its 2-D datasets: %s (use --dataset NAME)", path, name,
                            t.list);
            else
                s = RMT_ERR(RMT_EUSAGE, "%s: no dataset \"%s\", and no 2-D dataset to read (one spectrum per row)", path,
                            name);
        }
        goto out;
    }
    sp = H5Dget_space(d);
    t = H5Dget_type(d);
    hsize_t dims[2] = {0, 0};
    if (H5Sget_simple_extent_ndims(sp) != 2) {
        s = RMT_ERR(RMT_EUSAGE, "%s: dataset \"%s\" is not 2-D (one spectrum per row)", path, name);
        goto out;
    }
    H5Sget_simple_extent_dims(sp, dims, NULL);
    if (H5Tget_class(t) != H5T_FLOAT && H5Tget_class(t) != H5T_INTEGER) {
        s = RMT_ERR(RMT_EUSAGE, "%s: dataset \"%s\" is not numeric", path, name);
        goto out;
    }
    if (dims[0] == 0 || dims[1] == 0) {
        s = RMT_ERR(RMT_EUSAGE, "%s: dataset \"%s\" is empty (%llu x %llu)", path, name,
                    (unsigned long long)dims[0], (unsigned long long)dims[1]);
        goto out;
    }
    if (dims[0] > (hsize_t)(SIZE_MAX / sizeof(double)) / dims[1] || dims[0] > INT64_MAX / dims[1]) {
        s = RMT_ERR(RMT_EUSAGE, "%s: dataset \"%s\" is too large to read (%llu x %llu)", path, name,
                    (unsigned long long)dims[0], (unsigned long long)dims[1]);
        goto out;
    }
    *data = malloc(sizeof(double) * dims[0] * dims[1]);
    if (!*data) {
        s = RMT_ERR(RMT_ERUNTIME, "out of memory reading %s", name);
        goto out;
    }
    if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *data) < 0) {
        free(*data);
        *data = NULL;
        s = RMT_ERR(RMT_EUSAGE, "%s: cannot read dataset \"%s\" as float64", path, name);
        goto out;
    }
    *rows = (int64_t)dims[0];
    *cols = (int64_t)dims[1];
out:
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    H5Fclose(f);
    return s;
}

/* Whether attribute a (or dataset d) holds one element of type class
 * cls, as rmtmc writes them: a damaged or edited file may hold an array
 * there, which would be read past the single value's buffer. */
static int attr_is_one(hid_t a, H5T_class_t cls)
{
    hid_t sp = H5Aget_space(a), t = H5Aget_type(a);
    int ok = sp >= 0 && t >= 0 && H5Sget_simple_extent_npoints(sp) == 1 && H5Tget_class(t) == cls;
    if (cls == H5T_STRING && ok) ok = H5Tis_variable_str(t) > 0;
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    return ok;
}

static int dset_is_one(hid_t d, H5T_class_t cls)
{
    hid_t sp = H5Dget_space(d), t = H5Dget_type(d);
    int ok = sp >= 0 && t >= 0 && H5Sget_simple_extent_npoints(sp) == 1 && H5Tget_class(t) == cls;
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    return ok;
}

/* A variable-length string attribute, copied with malloc; NULL when
 * missing or not one such string. */
static char *read_attr_strdup(hid_t obj, const char *name)
{
    if (H5Aexists(obj, name) <= 0) return NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return NULL;
    char *v = NULL, *copy = NULL;
    if (attr_is_one(a, H5T_STRING)) {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
        if (H5Aread(a, t, &v) >= 0 && v) copy = strdup(v);
        if (v) H5free_memory(v);
        H5Tclose(t);
    }
    H5Aclose(a);
    return copy;
}

static int read_attr_str(hid_t obj, const char *name, char *buf, size_t len)
{
    char *v = read_attr_strdup(obj, name);
    int rc = v ? 0 : -1;
    if (v) snprintf(buf, len, "%s", v);
    free(v);
    return rc;
}

static int read_attr_i64(hid_t obj, const char *name, int64_t *v)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    int rc = (a >= 0 && attr_is_one(a, H5T_INTEGER) && H5Aread(a, H5T_NATIVE_INT64, v) >= 0) ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    return rc;
}

rmt_status rmt_h5in_state(const char *path, rmt_h5_state *st)
{
    memset(st, 0, sizeof *st);
    if (H5Fis_hdf5(path) <= 0) return RMT_ERR(RMT_EUSAGE, "%s: not an HDF5 file", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return RMT_ERR(RMT_EUSAGE, "%s: cannot open as HDF5: damaged (truncated, or a copy still in progress?)", path);
    char fmt[32] = "";
    int64_t complete = 0;
    int rc = read_attr_str(f, "format", fmt, sizeof fmt);
    st->config_json = read_attr_strdup(f, "config_json");
    rc |= read_attr_str(f, "config_sha256", st->sha256, sizeof st->sha256);
    rc |= read_attr_i64(f, "complete", &complete);
    if (H5Aexists(f, "points_slice") > 0 && read_attr_str(f, "points_slice", st->slice, sizeof st->slice)) rc = -1;
    H5Fclose(f);
    if (rc || strcmp(fmt, "rmtmc-1") || !st->config_json) {
        free(st->config_json);
        st->config_json = NULL;
        return RMT_ERR(RMT_EUSAGE, "%s: not an rmtmc output file (format rmtmc-1)", path);
    }
    st->complete = complete != 0;
    return RMT_OK;
}

/* Read dataset name of g (1-D, m elements, or m x k) as memtype into buf;
 * -1 when missing or of another size. */
static int read_rows(hid_t g, const char *name, hid_t memtype, hsize_t m, hsize_t k, void *buf)
{
    if (H5Lexists(g, name, H5P_DEFAULT) <= 0) return -1;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t sp = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    int nd = H5Sget_simple_extent_ndims(sp);
    /* the rank first: the dims of a damaged file's dataset may not fit */
    if (nd == (k ? 2 : 1)) H5Sget_simple_extent_dims(sp, dims, NULL);
    int rc = -1;
    if (nd == (k ? 2 : 1) && dims[0] == m && (!k || dims[1] == k))
        rc = (m == 0 || H5Dread(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0) ? 0 : -1;
    H5Sclose(sp);
    H5Dclose(d);
    return rc;
}

static int read_scalar_u64(hid_t g, const char *name, uint64_t *v)
{
    if (H5Lexists(g, name, H5P_DEFAULT) <= 0) return -1;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0) return -1;
    int rc = dset_is_one(d, H5T_INTEGER) && H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0 ? 0 : -1;
    H5Dclose(d);
    return rc;
}

static int restore_point(hid_t f, rmt_results *r, uint32_t i)
{
    const rmt_point *pt = &r->plan->points[i];
    rmt_point_result *p = &r->pts[i];
    char name[32];
    snprintf(name, sizeof name, "points/%06u", i);
    if (H5Lexists(f, "points", H5P_DEFAULT) <= 0 || H5Lexists(f, name, H5P_DEFAULT) <= 0) return -1;
    hid_t g = H5Gopen2(f, name, H5P_DEFAULT);
    if (g < 0) return -1;
    /* the point must be this plan's point i: same parameters */
    size_t pl = strlen(r->plan->params_json[i]) + 2;
    char *pj = malloc(pl);
    int same = pj && read_attr_str(g, "params_json", pj, pl) == 0 && !strcmp(pj, r->plan->params_json[i]);
    free(pj);
    if (!same) {
        H5Gclose(g);
        return -4;
    }
    int64_t done = 0;
    int rc = read_attr_i64(g, "draws_done", &done);
    size_t m = (size_t)done, K = (size_t)pt->stat.moments, n = (size_t)pt->ens.n;
    if (rc || done < 0 || done > pt->draws) {
        H5Gclose(g);
        return -1;
    }
    if (done > 0 && !p->have) {
        H5Gclose(g);
        return -7; /* draws of a point outside this run's slice */
    }
    int64_t *idx = malloc(sizeof(int64_t) * (m + 1)), *sz = malloc(sizeof(int64_t) * (m + 1));
    int32_t *status = malloc(sizeof(int32_t) * (m + 1) * 2), *solver = status ? status + m + 1 : NULL;
    double *col = malloc(sizeof(double) * (m + 1) * 5), *mom = malloc(sizeof(double) * (m + 1) * (K + 1));
    double *eig = p->eig ? malloc(sizeof(double) * (m + 1) * n) : NULL;
    if (!idx || !sz || !status || !col || !mom || (p->eig && !eig)) rc = -1;
    if (!rc) {
        rc |= read_rows(g, "draws/index", H5T_NATIVE_INT64, m, 0, idx);
        rc |= read_rows(g, "draws/structural_zeros", H5T_NATIVE_INT64, m, 0, sz);
        rc |= read_rows(g, "draws/status", H5T_NATIVE_INT32, m, 0, status);
        if (read_rows(g, "draws/solver", H5T_NATIVE_INT32, m, 0, solver)) memset(solver, 0, sizeof(int32_t) * (m + 1));
        rc |= read_rows(g, "draws/zero_fraction", H5T_NATIVE_DOUBLE, m, 0, col);
        rc |= read_rows(g, "draws/lambda_min", H5T_NATIVE_DOUBLE, m, 0, col + m);
        rc |= read_rows(g, "draws/lambda_max", H5T_NATIVE_DOUBLE, m, 0, col + 2 * m);
        rc |= read_rows(g, "draws/mean_gap_ratio", H5T_NATIVE_DOUBLE, m, 0, col + 3 * m);
        rc |= read_rows(g, "draws/seconds", H5T_NATIVE_DOUBLE, m, 0, col + 4 * m);
        if (K) rc |= read_rows(g, "draws/moments", H5T_NATIVE_DOUBLE, m, K, mom);
        if (eig && !rc && m > 0 && H5Lexists(g, "eigenvalues", H5P_DEFAULT) <= 0) rc = -2;
        else if (eig) rc |= read_rows(g, "eigenvalues", H5T_NATIVE_DOUBLE, m, n, eig);
    }
    /* counts add up, so parts of a job array merge by restoring each in turn */
    size_t nc = (size_t)rmt_stats_ncounts(&pt->stat);
    uint64_t *cts = calloc(nc + 1, sizeof(uint64_t)), below = 0, above = 0;
    if (!cts) rc = -1;
    if (!rc && m > 0 && pt->stat.bins > 0) {
        rc |= read_rows(g, "density/counts", H5T_NATIVE_UINT64, (hsize_t)pt->stat.bins, 0, cts);
        rc |= read_scalar_u64(g, "density/below", &below);
        rc |= read_scalar_u64(g, "density/above", &above);
    }
    if (!rc && m > 0 && pt->stat.gr_bins > 0) {
        uint64_t *gc = cts + (pt->stat.bins > 0 ? pt->stat.bins : 0);
        rc |= read_rows(g, "gap_ratios/counts", H5T_NATIVE_UINT64, (hsize_t)pt->stat.gr_bins, 0, gc);
        if (!rc && H5Lexists(g, "gap_ratios/above", H5P_DEFAULT) <= 0) rc = -5;
        if (!rc) rc |= read_scalar_u64(g, "gap_ratios/above", gc + pt->stat.gr_bins);
    }
    if (!rc) {
        for (size_t k = 0; k < nc; k++) p->counts[k] += cts[k];
        p->below += below;
        p->above += above;
    }
    free(cts);
    for (size_t row = 0; !rc && row < m; row++) {
        if (idx[row] < 0 || idx[row] >= pt->draws) {
            rc = -1;
            break;
        }
        if (p->have[idx[row]]) {
            rc = -3;
            break;
        }
        /* a successful draw's spectrum is finite (a draw with non-finite
         * eigenvalues is recorded as failed): else the file is damaged */
        for (size_t k = 0; eig && status[row] == 0 && k < n; k++)
            if (!isfinite(eig[row * n + k])) rc = -6;
        if (rc) break;
        rmt_draw_figs fg;
        memset(&fg, 0, sizeof fg);
        fg.point = i;
        fg.draw = (uint32_t)idx[row];
        fg.status = status[row];
        fg.solver = solver[row];
        fg.structural_zeros = sz[row];
        fg.zero_fraction = col[row];
        fg.lambda_min = col[m + row];
        fg.lambda_max = col[2 * m + row];
        fg.mean_gap_ratio = col[3 * m + row];
        fg.seconds = col[4 * m + row];
        for (size_t k = 0; k < K; k++) fg.moments[k] = mom[row * K + k];
        rmt_results_restore_draw(r, &fg, eig ? eig + row * n : NULL);
    }
    free(idx);
    free(sz);
    free(status);
    free(col);
    free(mom);
    free(eig);
    H5Gclose(g);
    return rc;
}

rmt_status rmt_h5in_restore(const char *path, rmt_results *r)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return RMT_ERR(RMT_EUSAGE, "%s: cannot open as HDF5: damaged (truncated, or a copy still in progress?)", path);
    read_attr_str(f, "created_utc", r->created_utc, sizeof r->created_utc);
    int64_t id = 0;
    r->ckpt_id = read_attr_i64(f, "checkpoint_id", &id) == 0 && id > 0 ? (uint64_t)id : 0;
    r->restored = 1;
    int rc = 0;
    uint32_t bad = 0;
    for (uint32_t i = 0; i < r->plan->npoints && !rc; i++) {
        if (r->batch && (i < r->p_begin || i >= r->p_end)) continue; /* another batch's */
        rc = restore_point(f, r, i);
        bad = i;
    }
    H5Fclose(f);
    if (rc == -2)
        return RMT_ERR(RMT_EUSAGE, "%s: point %u needs every draw's spectrum (for its spacings), and the file does not "
                       "keep them (a finished run keeps them only with \"output\": {\"eigenvalues\": true}; "
                       "checkpoints and --points parts always do)", path, bad);
    if (rc == -3)
        return RMT_ERR(RMT_EUSAGE, "%s: point %u has a draw that is already restored (overlapping parts, or a damaged "
                       "file)", path, bad);
    if (rc == -5)
        return RMT_ERR(RMT_EUSAGE, "%s: point %u has no gap_ratios/above (written by an older rmtmc: finish it with that "
                       "version, or run afresh)", path, bad);
    if (rc == -6)
        return RMT_ERR(RMT_EUSAGE, "%s: point %u has a successful draw whose stored spectrum is not finite (a damaged "
                       "file)", path, bad);
    if (rc == -7)
        return RMT_ERR(RMT_EUSAGE, "%s: point %u has draws done, and it is not in this run's --points slice (a file "
                       "of another slice, or a merged one)", path, bad);
    if (rc == -4)
        return RMT_ERR(RMT_EUSAGE, "%s: point %u has other parameters than this config's point %u (written in another "
                       "point order, or for another config)", path, bad, bad);
    if (rc) return RMT_ERR(RMT_EUSAGE, "%s: point %u cannot be restored (damaged, or not written for this config)", path, bad);
    return RMT_OK;
}
