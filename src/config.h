/* config: the only user of cJSON. Reads and validates a JSON config,
 * expands sweeps into points, and produces plain structs (rmt_plan) that
 * the master broadcasts; workers never see JSON.
 *
 * Not collective: only rank 0 calls rmt_config_load(); the points array is
 * plain data that cli broadcasts as bytes. */
#ifndef RMT_CONFIG_H
#define RMT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define RMT_MAX_MOMENTS 16
#define RMT_MAX_N 1000000000LL  /* far beyond any memory; the memory check is the real bound */

#define RMT_MAX_FACTORS 8   /* factors of a product */
#define RMT_MAX_SPIKES 8    /* entries of a "spikes" list */

typedef enum {
    RMT_ENS_WIGNER = 1,
    RMT_ENS_WISHART = 2,
    RMT_ENS_DIAGONAL = 3,
    RMT_ENS_PRODUCT = 4,
    RMT_ENS_GP_HESSIAN = 5
} rmt_ens_kind;

/* Factor types of a product. */
typedef enum {
    RMT_FAC_GAUSSIAN = 1,  /* rows x cols, entries N(0, 1/rows) */
    RMT_FAC_WIGNER = 2,    /* n x n, as the wigner ensemble */
    RMT_FAC_WISHART = 3    /* n x n, W = Z Z^T / t as the wishart ensemble */
} rmt_factor_kind;

/* Which symmetric spectrum of a product P = Fk ... F1 is taken. */
typedef enum {
    RMT_PROD_GRAM = 1,     /* P^T P */
    RMT_PROD_SIMILAR = 2,  /* P itself, through a symmetric matrix similar to it */
    RMT_PROD_SYMPART = 3   /* (P + P^T) / 2 */
} rmt_product_form;

/* Rank 0 runs its own one-rank draws in a second thread, so it computes
 * them at any size while it goes on answering the others. A draw on a
 * process grid needs rank 0's group in step with it, so the master runs it
 * between its answers, and the other groups, each holding a few draws,
 * wait for no answer meanwhile as long as they are few: with grids of
 * g > 1 ranks the master computes when there are at most this many groups,
 * and beyond that only dispatches (its group idles). What the master must
 * answer grows with the groups, not the ranks: 4 groups of 64 ranks send
 * no more than 4 ranks do. */
#define RMT_MASTER_COMPUTES_MAX_GROUPS 16

/* Whether rank 0 (with its group) computes draws when the ranks are cut
 * into `groups` groups of g ranks: the farm, the "auto" group sizes and
 * check --time all ask this. Without the thread (grids, or no thread to be
 * had) it computes between its answers, and only for few groups. */
static inline int rmt_master_computes_between_answers(int groups)
{
    return groups <= RMT_MASTER_COMPUTES_MAX_GROUPS;
}

static inline int rmt_master_computes(int groups, int g)
{
    return g == 1 || rmt_master_computes_between_answers(groups);
}

/* Points a config may expand to: every rank holds the whole plan. */
#define RMT_MAX_POINTS 1000000u

/* One matrix with its modifiers: a factor of a product, or the matrix of a
 * wigner/wishart ensemble. A zeroed struct has no modifiers. */
typedef struct {
    int32_t kind;      /* rmt_factor_kind */
    int32_t nspikes;   /* entries used in spikes */
    int64_t rows;      /* the factor maps R^cols to R^rows (n x n for wigner and wishart) */
    int64_t cols;
    int64_t t;         /* wishart: columns of Z, resolved from "ratio" */
    double keep;       /* percolation: probability P in (0, 1] that an entry is kept; 0 = no percolation */
    int32_t sparse;    /* 1 when keep came from "mean_degree" (P = c / n): the sparse regime */
    int32_t pad_;
    double mean_degree;            /* c when sparse */
    double spikes[RMT_MAX_SPIKES]; /* theta_i: adds theta_i e_i e_i^T, i = 0..nspikes-1 */
} rmt_factor;

/* One ensemble with every sweep resolved. A zeroed tail (everything after
 * t) is the plain ensemble: no percolation, no spikes. */
typedef struct {
    int32_t kind;   /* rmt_ens_kind */
    int32_t form;   /* product: rmt_product_form */
    int64_t n;      /* matrix dimension: eigenvalues per draw (product: N0; gp-hessian: n + degeneracy) */
    int64_t t;      /* wishart: columns of Z, resolved from "ratio" = n/t when given */
    rmt_factor mod; /* wigner/wishart: percolation and spikes (kind, rows, cols, t mirror the ensemble) */
    int32_t nfactors;                     /* product: factors used */
    int32_t pad_;
    rmt_factor factors[RMT_MAX_FACTORS];  /* product: F1 .. Fk, P = Fk ... F1 */
    int64_t gp_n;         /* gp-hessian: n, the non-degenerate block */
    int64_t degeneracy;   /* gp-hessian: d zero rows and columns */
    int64_t outliers;     /* gp-hessian: m diagonal outliers */
    double outlier_scale; /* gp-hessian: s, outliers add (1 + z^2) s */
    double kp, kpp;       /* gp-hessian: k' and k'' */
    double k0;            /* gp-hessian: 0 = unconditioned; else shared variance kp^2 (1 - 1/k0) */
} rmt_ensemble;

/* What to measure at a point. */
typedef struct {
    int32_t bins;          /* density bins; 0 = no density histogram */
    int32_t zero_tol_auto; /* 1: tolerance n * eps * max|lambda| per draw */
    double lo, hi;         /* density range, resolved from "auto" */
    double zero_tol;       /* absolute zero tolerance when not auto */
    int32_t moments;       /* K: (1/n) tr H^k for k = 1..K; 0 = none */
    int32_t eigenvalues;   /* 1: store every spectrum */
    int32_t gr_bins;       /* gap-ratio histogram bins on [0, gr_max]; 0 = no gap ratios */
    double gr_max;
    int32_t sp_unfold;     /* rmt_unfolding; 0 = no spacings */
    int32_t sp_bins;       /* spacing histogram bins on [0, sp_max] */
    double sp_max;
    int32_t sp_degree;     /* polynomial unfolding: degree of the fitted CDF */
    int32_t sp_per_draw;   /* polynomial unfolding: 1 = each draw's own CDF fitted, 0 = the pooled CDF */
    int32_t range_auto;    /* 1: the density range came from "auto" (the ensemble's support) */
    double sp_bulk_lo, sp_bulk_hi; /* keep spacings whose unfolded position lies in this fraction of the range */
} rmt_statcfg;

typedef enum {
    RMT_UNFOLD_NONE = 0,
    RMT_UNFOLD_POOL = 1,       /* against the pooled eigenvalues of the other draws */
    RMT_UNFOLD_THEORY = 2,     /* the ensemble's limiting CDF */
    RMT_UNFOLD_POLYNOMIAL = 3  /* a polynomial fitted to the pooled empirical CDF */
} rmt_unfolding;

/* One point of the expanded sweep: all a worker needs, no pointers, so an
 * array of them travels as bytes. */
typedef struct {
    uint32_t index;        /* global point index, in file order */
    uint32_t experiment;   /* index into rmt_plan.exp_names */
    uint32_t seed;         /* config "seed" */
    uint32_t draws;        /* draws requested */
    int32_t ranks_per_draw; /* ranks sharing one draw on a ScaLAPACK grid; 0 = "auto" until cli resolves it */
    int32_t grid_solver;    /* eigensolver on grids: 0 default, 1 pdsyev, 2 pdsyevr, 3 elpa (config "solver") */
    rmt_ensemble ens;
    rmt_statcfg stat;
    double zero_mass_theory; /* NaN when unknown */
    double lambda_max_theory; /* limit of the largest eigenvalue (edge or BBP outlier); NaN when unknown */
    double moments_theory[RMT_MAX_MOMENTS]; /* (1/n) tr H^k, k = 1..16, in theory; NaN when unknown */
} rmt_point;

typedef struct {
    /* Shared by every rank (cli broadcasts these). */
    uint32_t npoints;
    rmt_point *points;          /* [npoints], owned */

    /* Master only. */
    char *config_path;          /* as given on the command line */
    char *config_json;          /* canonical: keys sorted, no whitespace */
    char sha256[65];            /* hex SHA-256 of config_json */
    char *name;                 /* top-level name */
    char *output_path;          /* output.path, or NAME.h5 when absent */
    uint32_t seed;
    uint32_t nexp;
    char **exp_names;           /* [nexp] */
    char **exp_prefix;          /* [nexp] JSON path prefix: "" or "experiments[i]." */
    char **exp_rpd_path;        /* [nexp] where its ranks_per_draw is set: "experiments[i].ranks_per_draw",
                                   or "ranks_per_draw" when it is the top level's (or the default) */
    char **params_json;         /* [npoints] the point's ensemble, sweeps resolved */
    uint32_t nswept;
    char **swept_paths;         /* [nswept] e.g. "ensemble.ratio" */
    double *swept;              /* [npoints * nswept], NaN where a point has no such sweep */
    double checkpoint_seconds;  /* output.checkpoint_seconds; 0 = only at the end */
    int64_t checkpoint_draws;   /* output.checkpoint_draws; 0 = not by count */
    int64_t max_failures;       /* stop once more draws than this failed; -1 = never */
} rmt_plan;

/* The first JSON path at which two configs (JSON texts) differ, e.g.
 * "output.checkpoint_seconds" or "experiments[1].draws" ("" for the whole
 * document when one does not parse) into path; 0 when they are equal. */
int rmt_config_difference(const char *a, const char *b, char *path, size_t len);

/* Whether configs a and b (JSON) give the same results: equal but for the
 * settings that say only where and how often to write and when to give up:
 * output.path, output.checkpoint_seconds, output.checkpoint_draws and
 * max_failures. A file may be resumed, and slices merged, across those. */
int rmt_config_same_results(const char *a, const char *b);
/* As rmt_config_same_results, but the number of draws (top level and each
 * experiment's) may differ too: a run resumed with more draws. */
int rmt_config_same_but_draws(const char *a, const char *b);
/* As rmt_config_difference, leaving those output settings aside (and with
 * but_draws, the numbers of draws). */
int rmt_config_results_difference(const char *a, const char *b, char *path, size_t len, int but_draws);

/* Parse and validate the config file at path. On success *out owns a new
 * plan. On failure returns RMT_EUSAGE (bad file or config) with a message
 * "PATH: JSON.PATH: what is wrong". */
rmt_status rmt_config_load(const char *path, rmt_plan **out);

/* The same from text in memory; label names it in messages. */
rmt_status rmt_config_parse(const char *text, size_t len, const char *label, rmt_plan **out);

/* A one-point plan for `rmtmc analyze`: rows spectra of n eigenvalues read
 * from source, measured as the config at path says (its keys: name,
 * statistics, output.eigenvalues, and optionally an ensemble naming the
 * theory to compare with); path NULL measures density, zero mass, moments,
 * pool-unfolded spacings and gap ratios. A density range "auto" without an
 * ensemble is [data_lo, data_hi] widened by 5% on each side. A run's config
 * is read too: what only a run uses (seed, draws, ranks_per_draw, solver,
 * output.path and the checkpoint settings) is left aside and named in
 * ignored[ignored_len] ("" when none). */
rmt_status rmt_config_load_analyze(const char *path, const char *source, int64_t n, uint32_t rows, double data_lo,
                                   double data_hi, char *ignored, size_t ignored_len, rmt_plan **out);

/* Resolve ranks_per_draw "auto" for a run on `ranks` ranks with
 * bytes_per_rank of memory each (the group size and, unless the config or
 * RMT_GRID_DRIVER names one, the grid solver that finish the point soonest
 * by the measured grid efficiencies of rmt_grid_efficiency), and refuse (exit 2, with the point's JSON
 * path) a point whose draw cannot fit or whose group is larger than the
 * run. describe says where the budget comes from. */
rmt_status rmt_config_check_memory(rmt_plan *plan, int ranks, double bytes_per_rank, const char *describe);

/* Bytes one rank needs for one draw of e on a group of g ranks with grid
 * solver driver (RMT_GRID_*, 0: the default). */
double rmt_point_bytes(const rmt_ensemble *e, int g, int driver);

/* A plan holding only npoints/points, as workers build it. */
rmt_plan *rmt_plan_create_shared(uint32_t npoints);

/* Free a plan; accepts NULL. */
void rmt_plan_destroy(rmt_plan *plan);

/* Slice i of k (0 <= i < k; --points I/K) of the points: [*begin, *end),
 * contiguous in point order; k = 0 gives every point. */
void rmt_plan_slice(const rmt_plan *plan, uint32_t i, uint32_t k, uint32_t *begin, uint32_t *end);

/* Human-readable name of an ensemble kind ("wigner", ...). */
const char *rmt_ens_name(int32_t kind);

/* The order of the symmetric eigenproblem a draw of e solves (the small
 * side of a gram matrix, ...): what a process grid diagonalizes. */
int64_t rmt_config_solved_dim(const rmt_ensemble *e);

/* A size in bytes in the largest binary unit that keeps it >= 1, three
 * significant digits: "3.2 GiB", "12 KiB", "512 bytes". */
void rmt_format_bytes(double b, char *buf, size_t len);

#endif
