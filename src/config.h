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

typedef enum {
    RMT_ENS_WIGNER = 1,
    RMT_ENS_WISHART = 2,
    RMT_ENS_DIAGONAL = 3
} rmt_ens_kind;

/* One ensemble with every sweep resolved. */
typedef struct {
    int32_t kind;   /* rmt_ens_kind */
    int32_t pad_;
    int64_t n;      /* matrix dimension */
    int64_t t;      /* wishart: columns of Z, resolved from "ratio" = n/t when given */
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
    int32_t pad2_;
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
    rmt_ensemble ens;
    rmt_statcfg stat;
    double zero_mass_theory; /* NaN when unknown */
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
    char **params_json;         /* [npoints] the point's ensemble, sweeps resolved */
    uint32_t nswept;
    char **swept_paths;         /* [nswept] e.g. "ensemble.ratio" */
    double *swept;              /* [npoints * nswept], NaN where a point has no such sweep */
    double checkpoint_seconds;  /* output.checkpoint_seconds; 0 = only at the end */
} rmt_plan;

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
 * ensemble is [data_lo, data_hi] widened by 5% on each side. */
rmt_status rmt_config_load_analyze(const char *path, const char *source, int64_t n, uint32_t rows, double data_lo,
                                   double data_hi, rmt_plan **out);

/* Refuse a plan whose largest draw needs more than bytes_per_rank (exit 2
 * with the point's JSON path). describe says where the budget comes from. */
rmt_status rmt_config_check_memory(const rmt_plan *plan, double bytes_per_rank, const char *describe);

/* A plan holding only npoints/points, as workers build it. */
rmt_plan *rmt_plan_create_shared(uint32_t npoints);

/* Free a plan; accepts NULL. */
void rmt_plan_destroy(rmt_plan *plan);

/* Human-readable name of an ensemble kind ("wigner", ...). */
const char *rmt_ens_name(int32_t kind);

#endif
