#include "solve_grid.h"

#include "solve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef RMT_HAVE_ELPA
#include <elpa/elpa.h>
#endif

/* BLACS and ScaLAPACK have no C header in Debian: declare what is used.
 * Fortran routines take every argument by reference, and one hidden length
 * (size_t with gfortran >= 8) per character argument, after the others. */
extern int Csys2blacs_handle(MPI_Comm comm);
extern void Cfree_blacs_system_handle(int handle);
extern void Cblacs_gridinit(int *ctxt, const char *order, int nprow, int npcol);
extern void Cblacs_gridinfo(int ctxt, int *nprow, int *npcol, int *myrow, int *mycol);
extern void Cblacs_gridexit(int ctxt);
extern int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
extern void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc,
                      const int *icsrc, const int *ictxt, const int *lld, int *info);
extern void pdsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *ia,
                     const int *ja, const int *desca, const double *vl, const double *vu, const int *il,
                     const int *iu, int *m, int *nz, double *w, double *z, const int *iz, const int *jz,
                     const int *descz, double *work, const int *lwork, int *iwork, const int *liwork, int *info,
                     size_t ljobz, size_t lrange, size_t luplo);
extern void pdsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia, const int *ja,
                    const int *desca, double *w, double *z, const int *iz, const int *jz, const int *descz,
                    double *work, const int *lwork, int *info, size_t ljobz, size_t luplo);
extern void pdgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
                    const double *alpha, const double *a, const int *ia, const int *ja, const int *desca,
                    const double *b, const int *ib, const int *jb, const int *descb, const double *beta, double *c,
                    const int *ic, const int *jc, const int *descc, size_t ltransa, size_t ltransb);
extern void pdtran_(const int *m, const int *n, const double *alpha, const double *a, const int *ia, const int *ja,
                    const int *desca, const double *beta, double *c, const int *ic, const int *jc, const int *descc);
extern void pdpotrf_(const char *uplo, const int *n, double *a, const int *ia, const int *ja, const int *desca, int *info,
                     size_t luplo);
extern void pdtrmm_(const char *side, const char *uplo, const char *transa, const char *diag, const int *m, const int *n,
                    const double *alpha, const double *a, const int *ia, const int *ja, const int *desca, double *b,
                    const int *ib, const int *jb, const int *descb, size_t lside, size_t luplo, size_t ltransa,
                    size_t ldiag);
extern void pdgelqf_(const int *m, const int *n, double *a, const int *ia, const int *ja, const int *desca, double *tau,
                     double *work, const int *lwork, int *info);
extern void pdsymm_(const char *side, const char *uplo, const int *m, const int *n, const double *alpha,
                    const double *a, const int *ia, const int *ja, const int *desca, const double *b, const int *ib,
                    const int *jb, const int *descb, const double *beta, double *c, const int *ic, const int *jc,
                    const int *descc, size_t lside, size_t luplo);
extern void pdsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha,
                    const double *a, const int *ia, const int *ja, const int *desca, const double *beta, double *c,
                    const int *ic, const int *jc, const int *descc, size_t luplo, size_t ltrans);

struct rmt_grid {
    MPI_Comm comm;        /* the group's communicator (borrowed) */
    int handle;           /* BLACS system handle of comm */
    int ctxt;             /* BLACS context of the grid */
    int nprow, npcol, myrow, mycol;
    int use_pdsyev;       /* 1: PDSYEV (default), 0: PDSYEVR (RMT_GRID_DRIVER=pdsyevr) */
    int use_elpa;         /* 1: ELPA's two-stage solver (RMT_GRID_DRIVER=elpa, when built with it) */
    int elpa_failed;      /* ELPA could not be set up on this grid: not tried again */
    int elpa_ran;         /* ELPA solved the last draw (not when n was too small for it) */
    int elpa_small_n;     /* the last n said to be too small for ELPA */
    int default_driver;   /* RMT_GRID_*: from RMT_GRID_DRIVER, else PDSYEV */
#ifdef RMT_HAVE_ELPA
    elpa_t elpa;          /* set up for elpa_n */
    int elpa_n;
#endif
    int work_n;           /* n the workspaces were sized for */
    double *work;
    int lwork;
    int *iwork;
    int liwork;
    double *gram;         /* local part of a Gram matrix */
    size_t gram_cap;
    double *sym;          /* ELPA: the transpose, to complete a lower triangle */
    size_t sym_cap;
    double *chain[3];     /* local parts of products along a chain, and L */
    size_t chain_cap[3];
    double *tau, *lq_work; /* PDGELQF's scalars and workspace */
    size_t tau_cap, lq_cap;
};

void rmt_grid_shape_for(int p, int *nprow, int *npcol)
{
    int r = (int)sqrt((double)p);
    while (r > 1 && p % r) r--;
    *nprow = r;
    *npcol = p / r;
}

int rmt_grid_driver_by_name(const char *name)
{
    return !strcmp(name, "auto") ? 0 : !strcmp(name, "pdsyev") ? RMT_GRID_PDSYEV
         : !strcmp(name, "pdsyevr") ? RMT_GRID_PDSYEVR : !strcmp(name, "elpa") ? RMT_GRID_ELPA : -1;
}

/* The driver when the config does not name one: RMT_GRID_DRIVER, else PDSYEV. */
static int default_driver(void)
{
    const char *d = getenv("RMT_GRID_DRIVER");
    int v = d ? rmt_grid_driver_by_name(d) : 0;
    return v > 0 ? v : RMT_GRID_PDSYEV;
}

rmt_status rmt_grid_check_env(void)
{
    const char *d = getenv("RMT_GRID_DRIVER");
    if (d && *d && rmt_grid_driver_by_name(d) < 0)
        return RMT_ERR(RMT_EUSAGE, "RMT_GRID_DRIVER: '%s' is not a grid solver (auto, pdsyev, pdsyevr, elpa)", d);
    return RMT_OK;
}

const char *rmt_grid_solver_name(int driver)
{
    if (driver == 0) driver = default_driver();
    if (driver == RMT_GRID_ELPA && !rmt_grid_have_elpa()) driver = RMT_GRID_PDSYEV;
    return driver == RMT_GRID_ELPA ? "elpa" : driver == RMT_GRID_PDSYEVR ? "pdsyevr" : "pdsyev";
}

rmt_grid *rmt_grid_create(MPI_Comm comm)
{
    rmt_grid *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    int p = 1;
    MPI_Comm_size(comm, &p);
    g->comm = comm;
    rmt_grid_shape_for(p, &g->nprow, &g->npcol);
    g->handle = Csys2blacs_handle(comm);
    g->ctxt = g->handle;
    Cblacs_gridinit(&g->ctxt, "Row", g->nprow, g->npcol);
    Cblacs_gridinfo(g->ctxt, &g->nprow, &g->npcol, &g->myrow, &g->mycol);
    /* PDSYEV by default: for eigenvalues only it reduces to tridiagonal form
     * and needs O(n) workspace, where PDSYEVR's values-only workspace holds
     * another copy of the local matrix (measured at n = 6000 on 1x2: peak
     * 185 MB per rank against 310-560 MB) */
    g->default_driver = default_driver();
    rmt_grid_set_driver(g, g->default_driver);
    return g;
}

void rmt_grid_destroy(rmt_grid *g)
{
    if (!g) return;
#ifdef RMT_HAVE_ELPA
    if (g->elpa) elpa_deallocate(g->elpa, &(int){0});
#endif
    Cblacs_gridexit(g->ctxt);
    Cfree_blacs_system_handle(g->handle);
    free(g->work);
    free(g->iwork);
    free(g->gram);
    free(g->sym);
    for (int k = 0; k < 3; k++) free(g->chain[k]);
    free(g->tau);
    free(g->lq_work);
    free(g);
}

int rmt_grid_uses_pdsyev(const rmt_grid *g) { return g->use_pdsyev; }

const char *rmt_grid_driver(const rmt_grid *g) { return g->use_elpa ? "elpa" : g->use_pdsyev ? "pdsyev" : "pdsyevr"; }

int rmt_grid_uses_elpa(const rmt_grid *g) { return g->elpa_ran; }

int rmt_grid_have_elpa(void)
{
#ifdef RMT_HAVE_ELPA
    return 1;
#else
    return 0;
#endif
}

void rmt_grid_set_driver(rmt_grid *g, int driver)
{
    if (driver == 0) driver = g->default_driver;
    g->use_pdsyev = driver != RMT_GRID_PDSYEVR;
    g->use_elpa = 0;
#ifdef RMT_HAVE_ELPA
    if (driver == RMT_GRID_ELPA) {
        static int elpa_ready = -1; /* elpa_init once per process */
        if (elpa_ready < 0) elpa_ready = elpa_init(ELPA_API_VERSION) == ELPA_OK;
        g->use_elpa = elpa_ready && !g->elpa_failed;
    }
#endif
}

#ifdef RMT_HAVE_ELPA
/* ELPA's two-stage solver on the same block-cyclic layout; one handle per
 * n, set up once. Returns 0, or -1 when ELPA cannot be set up (the caller
 * falls back to ScaLAPACK). */
static int elpa_eig(rmt_grid *g, int n, double *a, int lld, double *w, int *info)
{
    int err = 0;
    if (!g->elpa || g->elpa_n != n) {
        if (g->elpa) elpa_deallocate(g->elpa, &err);
        g->elpa = elpa_allocate(&err);
        if (err != ELPA_OK) return -1;
        int nn = n, nb = RMT_GRID_NB, zero = 0;
        int lc = numroc_(&nn, &nb, &g->mycol, &zero, &g->npcol);
        elpa_set(g->elpa, "na", n, &err);
        elpa_set(g->elpa, "nev", n, &err);
        elpa_set(g->elpa, "local_nrows", lld, &err);
        elpa_set(g->elpa, "local_ncols", lc, &err);
        elpa_set(g->elpa, "nblk", RMT_GRID_NB, &err);
        elpa_set(g->elpa, "mpi_comm_parent", (int)MPI_Comm_c2f(g->comm), &err);
        elpa_set(g->elpa, "process_row", g->myrow, &err);
        elpa_set(g->elpa, "process_col", g->mycol, &err);
        if (err != ELPA_OK || elpa_setup(g->elpa) != ELPA_OK) return -1;
        elpa_set(g->elpa, "solver", ELPA_SOLVER_2STAGE, &err);
        g->elpa_n = n;
    }
    elpa_eigenvalues(g->elpa, a, w, &err);
    *info = err == ELPA_OK ? 0 : 2000 + (err < 0 ? -err : err);
    return 0;
}
#endif

int64_t rmt_grid_local(const rmt_grid *g, int64_t n, int is_col)
{
    int nn = (int)n, nb = RMT_GRID_NB, zero = 0;
    int me = is_col ? g->mycol : g->myrow, np = is_col ? g->npcol : g->nprow;
    return numroc_(&nn, &nb, &me, &zero, &np);
}

int64_t rmt_grid_global(const rmt_grid *g, int64_t l, int is_col)
{
    int64_t me = is_col ? g->mycol : g->myrow, np = is_col ? g->npcol : g->nprow;
    return ((l / RMT_GRID_NB) * np + me) * RMT_GRID_NB + l % RMT_GRID_NB;
}

double rmt_grid_bytes(int64_t n, int p, int driver)
{
    int r, c;
    rmt_grid_shape_for(p, &r, &c);
    /* local part of the matrix (blocks rounded up), eigenvalues, and PDSYEVR's
     * values-only workspace, which is O(n) plus a few local panels */
    double lr = ceil((double)n / RMT_GRID_NB / r) * RMT_GRID_NB, lc = ceil((double)n / RMT_GRID_NB / c) * RMT_GRID_NB;
    if (lr > (double)n) lr = (double)n;
    if (lc > (double)n) lc = (double)n;
    /* PDSYEVR's workspace holds about three more local matrices, ELPA about six
     * (peak resident memory measured at n = 3000 and 6000 on 1x2 grids) */
    if (driver == 0) driver = default_driver();
    if (driver == RMT_GRID_ELPA && !rmt_grid_have_elpa()) driver = RMT_GRID_PDSYEV;
    double copies = driver == RMT_GRID_ELPA ? 7.0 : driver == RMT_GRID_PDSYEVR ? 4.0 : 1.0;
    return 8.0 * (copies * lr * lc + 2.0 * (double)n + 4.0 * RMT_GRID_NB * (lr + lc) + 40.0 * (double)n);
}

/* Throughput of a 2-rank group against two ranks with LAPACK each, t1 / (2
 * t2), measured by bench/grid-efficiency on the reference machine (2 cores,
 * quiet; one Wigner draw; results/BENCHMARKS.md section 5b): t1 = one
 * rank's LAPACK draw while the other rank runs one too (0.482, 3.02, 20.4 s
 * at n = 2000, 4000, 8000, with rmtmc's two-stage band), t2 = the 1x2
 * grid's draw (PDSYEV 0.471, 4.18, 33.1 s; PDSYEVR 0.999, 7.33, 52.5 s;
 * ELPA 0.590, 3.52, 21.1 s). */
static const struct {
    double n, eff[4]; /* by driver: -, pdsyev, pdsyevr, elpa */
} grid_eff[] = {
    {2000, {0, 0.51, 0.24, 0.41}},
    {4000, {0, 0.36, 0.21, 0.43}},
    {8000, {0, 0.31, 0.19, 0.48}},
};

double rmt_grid_efficiency(int driver, int64_t n, int p)
{
    if (p <= 1) return 1.0;
    if (driver == 0) driver = default_driver();
    if (driver == RMT_GRID_ELPA && !rmt_grid_have_elpa()) driver = RMT_GRID_PDSYEV;
    const int m = (int)(sizeof grid_eff / sizeof grid_eff[0]);
    /* p ranks at n are taken to be as efficient as 2 ranks with the same
     * local matrix, n sqrt(2 / p) (not measured beyond 2 ranks here) */
    double x = log((double)(n > 1 ? n : 1) * sqrt(2.0 / p)), e2;
    /* smaller shares than measured: unknown, and worse; say 0 (not chosen
     * unless memory leaves no other choice) */
    if (x < log(grid_eff[0].n) - 1e-9) return 0.0;
    if (x >= log(grid_eff[m - 1].n)) e2 = grid_eff[m - 1].eff[driver];
    else {
        int i = 0;
        while (x > log(grid_eff[i + 1].n)) i++;
        double u = (x - log(grid_eff[i].n)) / (log(grid_eff[i + 1].n) - log(grid_eff[i].n));
        e2 = (1 - u) * grid_eff[i].eff[driver] + u * grid_eff[i + 1].eff[driver];
    }
    return e2 < 1.0 ? e2 : 1.0;
}

int rmt_grid_driver_forced(void)
{
    const char *d = getenv("RMT_GRID_DRIVER");
    return d && *d && rmt_grid_driver_by_name(d) > 0; /* unset, empty or "auto": the config or the model chooses */
}

static rmt_status desc_for(const rmt_grid *g, int64_t m, int64_t n, int64_t lld, int desc[9])
{
    if (m > 0x7fffffff || n > 0x7fffffff || lld > 0x7fffffff)
        return RMT_ERR(RMT_ERUNTIME, "dimension beyond ScaLAPACK's integer range");
    int mm = (int)m, nn = (int)n, nb = RMT_GRID_NB, zero = 0, ld = (int)(lld > 1 ? lld : 1), info = 0;
    descinit_(desc, &mm, &nn, &nb, &nb, &zero, &zero, &g->ctxt, &ld, &info);
    if (info != 0) return RMT_ERR(RMT_ERUNTIME, "descinit: argument %d is illegal (bug)", -info);
    return RMT_OK;
}

/* Room for the local part of a rows x cols matrix in *buf (grown, never
 * shrunk); *lld gets its leading dimension. */
static rmt_status local_buf(const rmt_grid *g, double **buf, size_t *cap, int64_t rows, int64_t cols, int64_t *lld)
{
    int64_t lr = rmt_grid_local(g, rows, 0), lc = rmt_grid_local(g, cols, 1);
    *lld = lr > 1 ? lr : 1;
    size_t need = (size_t)*lld * (size_t)(lc > 1 ? lc : 1);
    if (need > *cap) {
        free(*buf);
        *buf = malloc(sizeof(double) * need);
        *cap = *buf ? need : 0;
        if (!*buf) return RMT_ERR(RMT_ERUNTIME, "out of memory for a distributed %lld x %lld matrix", (long long)rows,
                                  (long long)cols);
    }
    return RMT_OK;
}

/* Copy this rank's part of a distributed rows x cols matrix (same layout,
 * leading dimensions lds and ldd). */
static void copy_local(const rmt_grid *g, int64_t rows, int64_t cols, const double *src, int64_t lds, double *dst,
                       int64_t ldd)
{
    int64_t lr = rmt_grid_local(g, rows, 0), lc = rmt_grid_local(g, cols, 1);
    for (int64_t j = 0; j < lc; j++)
        memcpy(dst + (size_t)j * (size_t)ldd, src + (size_t)j * (size_t)lds, sizeof(double) * (size_t)lr);
}

/* Copy the lower triangle of the distributed n x n matrix a onto its upper
 * triangle (PDTRAN into scratch, then the entries above the diagonal). */
static rmt_status mirror_lower(rmt_grid *g, int n, double *a, const int *desc)
{
    const int one = 1;
    const double alpha = 1.0, beta = 0.0;
    int64_t lld;
    RMT_TRY(local_buf(g, &g->sym, &g->sym_cap, n, n, &lld));
    pdtran_(&n, &n, &alpha, a, &one, &one, desc, &beta, g->sym, &one, &one, desc);
    int64_t lr = rmt_grid_local(g, n, 0), lc = rmt_grid_local(g, n, 1);
    for (int64_t jl = 0; jl < lc; jl++) {
        int64_t j = rmt_grid_global(g, jl, 1);
        for (int64_t il = 0; il < lr; il++)
            if (rmt_grid_global(g, il, 0) < j) a[il + (size_t)jl * (size_t)lld] = g->sym[il + (size_t)jl * (size_t)lld];
    }
    return RMT_OK;
}

static rmt_status eig(rmt_grid *g, int nn, double *a, const int *desc, double *w, int *info)
{
#ifdef RMT_HAVE_ELPA
    g->elpa_ran = 0;
    /* ELPA fails (every draw, with an error) when a process of the grid
     * holds no block: n <= NB (P - 1) for P process rows or columns; those
     * draws are PDSYEV's */
    int most = g->nprow > g->npcol ? g->nprow : g->npcol, small = nn <= RMT_GRID_NB * (most - 1);
    if (g->use_elpa && small && g->elpa_small_n != nn) {
        g->elpa_small_n = nn;
        if (g->myrow == 0 && g->mycol == 0)
            fprintf(stderr, "rmtmc: n = %d is too small for ELPA on a %dx%d grid (a process would hold no block of %d): "
                    "pdsyev\n", nn, g->nprow, g->npcol, RMT_GRID_NB);
    }
    if (g->use_elpa && !small) {
        /* every caller provides the lower triangle, as ScaLAPACK reads it;
         * ELPA reads the whole matrix, so complete it here */
        RMT_TRY(mirror_lower(g, nn, a, desc));
        g->elpa_ran = 1;
        if (elpa_eig(g, nn, a, desc[8], w, info) == 0) return RMT_OK;
        g->elpa_ran = 0;
        g->use_elpa = 0; /* say so once, then use ScaLAPACK for good */
        g->elpa_failed = 1;
        fprintf(stderr, "rmtmc: ELPA cannot be set up for n = %d; using pdsyev\n", nn);
    }
#endif
    const int one = 1;
    int m = 0, nz = 0, i0 = 0;
    double v0 = 0, zdummy = 0;
    if (g->work_n != nn) {
        /* workspace query, once per n */
        double wq = 0;
        int iq = 0, lq = -1, q = 0;
        if (g->use_pdsyev)
            pdsyev_("N", "L", &nn, a, &one, &one, desc, w, &zdummy, &one, &one, desc, &wq, &lq, &q, 1, 1);
        else
            pdsyevr_("N", "A", "L", &nn, a, &one, &one, desc, &v0, &v0, &i0, &i0, &m, &nz, w, &zdummy, &one, &one,
                     desc, &wq, &lq, &iq, &lq, &q, 1, 1, 1);
        if (q != 0) return RMT_ERR(RMT_ERUNTIME, "ScaLAPACK workspace query failed (info %d)", q);
        free(g->work);
        free(g->iwork);
        /* generous: PDSYEVR's query is known to be tight on some grids */
        g->lwork = (int)(wq * 1.2) + 4 * RMT_GRID_NB * RMT_GRID_NB + 1000;
        g->liwork = (iq > 0 ? iq : 1) * 2 + 1000;
        g->work = malloc(sizeof(double) * (size_t)g->lwork);
        g->iwork = malloc(sizeof(int) * (size_t)g->liwork);
        if (!g->work || !g->iwork) {
            g->work_n = 0;
            return RMT_ERR(RMT_ERUNTIME, "out of memory for the ScaLAPACK workspace (n = %d)", nn);
        }
        g->work_n = nn;
    }
    int q = 0;
    if (g->use_pdsyev)
        pdsyev_("N", "L", &nn, a, &one, &one, desc, w, &zdummy, &one, &one, desc, g->work, &g->lwork, &q, 1, 1);
    else
        pdsyevr_("N", "A", "L", &nn, a, &one, &one, desc, &v0, &v0, &i0, &i0, &m, &nz, w, &zdummy, &one, &one, desc,
                 g->work, &g->lwork, g->iwork, &g->liwork, &q, 1, 1, 1);
    /* INFO < 0 is an argument error: a bug here, not a property of the draw */
    if (q < 0) return RMT_ERR(RMT_ERUNTIME, "%s: argument %d had an illegal value (bug)", rmt_grid_driver(g), -q);
    if (q == 0 && !g->use_pdsyev && m != nn) q = 1000 + m; /* not every eigenvalue was found */
    *info = q;
    return RMT_OK;
}

rmt_status rmt_grid_symmetric(rmt_grid *g, int64_t n, double *a, int64_t lld, double *w, int *info)
{
    int desc[9];
    *info = 0;
    if (n == 0) return RMT_OK;
    RMT_TRY(desc_for(g, n, n, lld, desc));
    return eig(g, (int)n, a, desc, w, info);
}

rmt_status rmt_grid_gram(rmt_grid *g, int64_t rows, int64_t cols, const double *z, int64_t lld, double *w,
                         int64_t *structural, int *info)
{
    int64_t m = rows < cols ? rows : cols;
    int dz[9], dc[9];
    const int one = 1;
    const double alpha = 1.0, beta = 0.0;
    RMT_TRY(desc_for(g, rows, cols, lld, dz));
    int64_t lldc;
    RMT_TRY(local_buf(g, &g->gram, &g->gram_cap, m, m, &lldc));
    RMT_TRY(desc_for(g, m, m, lldc, dc));
    int mm = (int)m, kk = (int)(rows < cols ? cols : rows);
    /* Z Z^T and Z^T Z share their nonzero eigenvalues: form the smaller one */
    pdsyrk_("L", cols < rows ? "T" : "N", &mm, &kk, &alpha, z, &one, &one, dz, &beta, g->gram, &one, &one, dc, 1, 1);
    int64_t zeros = rows - m;
    RMT_TRY(eig(g, mm, g->gram, dc, w + zeros, info));
    rmt_solve_add_zeros(w, zeros, m);
    *structural = zeros;
    return RMT_OK;
}

/* Room for the local part of a rows x cols matrix in scratch slot k. */
static rmt_status chain_buf(rmt_grid *g, int k, int64_t rows, int64_t cols, int64_t *lld)
{
    return local_buf(g, &g->chain[k], &g->chain_cap[k], rows, cols, lld);
}

static int64_t map_out(const rmt_grid_map *m) { return m->trans ? m->cols : m->rows; }
static int64_t map_in(const rmt_grid_map *m) { return m->trans ? m->rows : m->cols; }

/* The product m[to-1] ... m[from] (out x in) into scratch slot `slot`
 * (slot and slot ^ 1 are used in turn; the result's slot is returned in
 * *res). */
static rmt_status chain_product(rmt_grid *g, const rmt_grid_map *m, int from, int to, int *res, int64_t *lld_out)
{
    const int one = 1;
    const double alpha = 1.0, beta = 0.0;
    int dm[9], dc[9], dp[9];
    int cur = 0;
    int64_t in = map_in(&m[from]), lld = 0;
    /* first map: op(A) itself */
    RMT_TRY(chain_buf(g, cur, map_out(&m[from]), in, &lld));
    RMT_TRY(desc_for(g, m[from].rows, m[from].cols, m[from].lld, dm));
    RMT_TRY(desc_for(g, map_out(&m[from]), in, lld, dc));
    if (m[from].trans) {
        int mm = (int)map_out(&m[from]), nn = (int)in;
        pdtran_(&mm, &nn, &alpha, m[from].a, &one, &one, dm, &beta, g->chain[cur], &one, &one, dc);
    } else {
        copy_local(g, m[from].rows, m[from].cols, m[from].a, m[from].lld, g->chain[cur], lld);
    }
    int64_t rows = map_out(&m[from]);
    for (int i = from + 1; i < to; i++) {
        int nxt = cur ^ 1;
        int64_t out = map_out(&m[i]), lldn = 0;
        RMT_TRY(chain_buf(g, nxt, out, in, &lldn));
        RMT_TRY(desc_for(g, m[i].rows, m[i].cols, m[i].lld, dm));
        RMT_TRY(desc_for(g, rows, in, lld, dp));
        RMT_TRY(desc_for(g, out, in, lldn, dc));
        int mm = (int)out, nn = (int)in, kk = (int)rows;
        pdgemm_(m[i].trans ? "T" : "N", "N", &mm, &nn, &kk, &alpha, m[i].a, &one, &one, dm, g->chain[cur], &one, &one,
                dp, &beta, g->chain[nxt], &one, &one, dc, 1, 1);
        cur = nxt;
        rows = out;
        lld = lldn;
    }
    *res = cur;
    *lld_out = lld;
    return RMT_OK;
}

rmt_status rmt_grid_gram_chain(rmt_grid *g, int nm, const rmt_grid_map *m, double *w, int64_t *structural, int *info)
{
    const int one = 1;
    const double alpha = 1.0, beta = 0.0;
    *info = 0;
    *structural = 0;
    int64_t n0 = map_in(&m[0]);
    int r = 0;
    for (int i = 1; i < nm; i++)
        if (map_out(&m[i]) < map_out(&m[r])) r = i;
    int64_t R = map_out(&m[r]);
    int slot = 0;
    int64_t lld = 0;
    if (R >= n0) {
        /* no narrowing: P^T P of the whole chain (n0 x n0) */
        RMT_TRY(chain_product(g, m, 0, nm, &slot, &lld));
        int64_t out = map_out(&m[nm - 1]);
        int dp[9];
        RMT_TRY(desc_for(g, out, n0, lld, dp));
        int64_t lldg;
        RMT_TRY(local_buf(g, &g->gram, &g->gram_cap, n0, n0, &lldg));
        int dc[9], nn = (int)n0, kk = (int)out;
        RMT_TRY(desc_for(g, n0, n0, lldg, dc));
        pdsyrk_("L", "T", &nn, &kk, &alpha, g->chain[slot], &one, &one, dp, &beta, g->gram, &one, &one, dc, 1, 1);
        return eig(g, nn, g->gram, dc, w, info);
    }
    /* A: the chain up to the thinnest output (R x n0); C = A A^T = L L^T */
    RMT_TRY(chain_product(g, m, 0, r + 1, &slot, &lld));
    int da[9], dl[9], RR = (int)R, nn0 = (int)n0;
    RMT_TRY(desc_for(g, R, n0, lld, da));
    int64_t lldl = 0;
    RMT_TRY(chain_buf(g, 2, R, R, &lldl));
    RMT_TRY(desc_for(g, R, R, lldl, dl));
    pdsyrk_("L", "N", &RR, &nn0, &alpha, g->chain[slot], &one, &one, da, &beta, g->chain[2], &one, &one, dl, 1, 1);
    int64_t zeros = n0 - R;
    if (r == nm - 1) {
        /* nothing after the narrowing: eig(P^T P) = eig(A A^T) plus zeros */
        RMT_TRY(eig(g, RR, g->chain[2], dl, w + zeros, info));
    } else {
        int q = 0;
        pdpotrf_("L", &RR, g->chain[2], &one, &one, dl, &q, 1);
        if (q < 0) return RMT_ERR(RMT_ERUNTIME, "pdpotrf: argument %d is illegal (bug)", -q);
        if (q > 0) {
            *info = 3000 + q; /* A A^T not positive definite: a degenerate draw */
            return RMT_OK;
        }
        /* B: the rest of the chain (out x R); X = B L (PDTRMM reads L's lower
         * triangle only); the spectrum is that of X^T X (R x R, out >= R) */
        int64_t out = map_out(&m[nm - 1]);
        RMT_TRY(chain_product(g, m, r + 1, nm, &slot, &lld));
        int db[9], OUT = (int)out;
        RMT_TRY(desc_for(g, out, R, lld, db));
        pdtrmm_("R", "L", "N", "N", &OUT, &RR, &alpha, g->chain[2], &one, &one, dl, g->chain[slot], &one, &one, db, 1,
                1, 1, 1);
        /* X^T X overwrites L, which is no longer needed */
        pdsyrk_("L", "T", &RR, &OUT, &alpha, g->chain[slot], &one, &one, db, &beta, g->chain[2], &one, &one, dl, 1, 1);
        RMT_TRY(eig(g, RR, g->chain[2], dl, w + zeros, info));
    }
    rmt_solve_add_zeros(w, zeros, R);
    *structural = zeros;
    return RMT_OK;
}

rmt_status rmt_grid_sympart_chain(rmt_grid *g, int nm, const rmt_grid_map *m, double *w, int *info)
{
    const int one = 1;
    const double half = 0.5;
    *info = 0;
    int64_t n0 = map_in(&m[0]);
    if (map_out(&m[nm - 1]) != n0) return RMT_ERR(RMT_ERUNTIME, "symmetric part of a non-square product (bug)");
    int slot = 0;
    int64_t lld = 0, lldg = 0;
    RMT_TRY(chain_product(g, m, 0, nm, &slot, &lld));
    RMT_TRY(local_buf(g, &g->gram, &g->gram_cap, n0, n0, &lldg));
    int dp[9], dg[9], nn = (int)n0;
    RMT_TRY(desc_for(g, n0, n0, lld, dp));
    RMT_TRY(desc_for(g, n0, n0, lldg, dg));
    /* G = P, then G = P / 2 + P^T / 2 (PDTRAN: C = beta C + alpha A^T) */
    copy_local(g, n0, n0, g->chain[slot], lld, g->gram, lldg);
    pdtran_(&nn, &nn, &half, g->chain[slot], &one, &one, dp, &half, g->gram, &one, &one, dg);
    return eig(g, nn, g->gram, dg, w, info);
}

rmt_status rmt_grid_similar(rmt_grid *g, const rmt_grid_map *y, const rmt_grid_map *s, int s_gram, double *w,
                            int64_t *structural, int *info)
{
    const int one = 1;
    const double alpha = 1.0, beta = 0.0;
    *info = 0;
    *structural = 0;
    int64_t n = y->rows, tw = y->cols, mp = tw < n ? tw : n;
    const double *yl = y->a;
    int dy[9], ds[9], N = (int)n, MP = (int)mp;
    RMT_TRY(desc_for(g, n, tw, y->lld, dy));
    RMT_TRY(desc_for(g, s->rows, s->cols, s->lld, ds));
    if (tw > n) {
        /* a wide Y = L Q (PDGELQF, as one rank's LQ): Y Y^T = L L^T, and
         * eig(S L L^T) = eig(L^T S L); L is the lower triangle of the
         * factored copy's first n columns */
        int64_t lldl = 0;
        int TW = (int)tw, q = 0;
        RMT_TRY(chain_buf(g, 2, n, tw, &lldl));
        int dl[9];
        RMT_TRY(desc_for(g, n, tw, lldl, dl));
        copy_local(g, n, tw, y->a, y->lld, g->chain[2], lldl);
        int64_t lr = rmt_grid_local(g, n, 0);
        size_t ntau = (size_t)(lr > 0 ? lr : 1);
        if (ntau > g->tau_cap) {
            free(g->tau);
            g->tau = malloc(sizeof(double) * ntau);
            g->tau_cap = g->tau ? ntau : 0;
            if (!g->tau) return RMT_ERR(RMT_ERUNTIME, "out of memory for an LQ factorization");
        }
        double wq = 0;
        int lq = -1;
        pdgelqf_(&N, &TW, g->chain[2], &one, &one, dl, g->tau, &wq, &lq, &q);
        if (q != 0) return RMT_ERR(RMT_ERUNTIME, "pdgelqf workspace query: info %d (bug)", q);
        size_t need = (size_t)wq + 1;
        if (need > g->lq_cap) {
            free(g->lq_work);
            g->lq_work = malloc(sizeof(double) * need);
            g->lq_cap = g->lq_work ? need : 0;
            if (!g->lq_work) return RMT_ERR(RMT_ERUNTIME, "out of memory for an LQ factorization");
        }
        lq = (int)need;
        pdgelqf_(&N, &TW, g->chain[2], &one, &one, dl, g->tau, g->lq_work, &lq, &q);
        if (q != 0) return RMT_ERR(RMT_ERUNTIME, "pdgelqf: argument %d is illegal (bug)", -q);
        /* in the first n columns L is the lower triangle; above it lie the
         * Householder vectors of Q: clear them */
        int64_t lc = rmt_grid_local(g, n, 1);
        for (int64_t jl = 0; jl < lc; jl++) {
            int64_t j = rmt_grid_global(g, jl, 1);
            for (int64_t il = 0; il < lr; il++)
                if (rmt_grid_global(g, il, 0) < j) g->chain[2][il + (size_t)jl * (size_t)lldl] = 0.0;
        }
        yl = g->chain[2];
        memcpy(dy, dl, sizeof dy);
    }
    int64_t zeros = n - mp, inner = 0;
    if (s_gram) {
        /* S = V V^T: Y^T V V^T Y = D D^T with D = Y^T V (mp x ts) */
        int64_t ts = s->cols, lldd = 0;
        int TS = (int)ts, dd[9];
        RMT_TRY(chain_buf(g, 0, mp, ts, &lldd));
        RMT_TRY(desc_for(g, mp, ts, lldd, dd));
        pdgemm_("T", "N", &MP, &TS, &N, &alpha, yl, &one, &one, dy, s->a, &one, &one, ds, &beta, g->chain[0], &one,
                &one, dd, 1, 1);
        RMT_TRY(rmt_grid_gram(g, mp, ts, g->chain[0], lldd, w + zeros, &inner, info));
    } else {
        /* Y^T S Y: B = S Y (PDSYMM reads S's lower triangle), then Y^T B */
        int64_t lldb = 0, lldg = 0;
        int db[9], dg[9];
        RMT_TRY(chain_buf(g, 0, n, mp, &lldb));
        RMT_TRY(desc_for(g, n, mp, lldb, db));
        RMT_TRY(local_buf(g, &g->gram, &g->gram_cap, mp, mp, &lldg));
        RMT_TRY(desc_for(g, mp, mp, lldg, dg));
        pdsymm_("L", "L", &N, &MP, &alpha, s->a, &one, &one, ds, yl, &one, &one, dy, &beta, g->chain[0], &one, &one,
                db, 1, 1);
        pdgemm_("T", "N", &MP, &MP, &N, &alpha, yl, &one, &one, dy, g->chain[0], &one, &one, db, &beta, g->gram, &one,
                &one, dg, 1, 1);
        RMT_TRY(eig(g, MP, g->gram, dg, w + zeros, info));
    }
    if (*info) return RMT_OK;
    rmt_solve_add_zeros(w, zeros, mp);
    *structural = zeros + inner;
    return RMT_OK;
}
