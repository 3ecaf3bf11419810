#include "farm.h"

#include <math.h>
#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "draw.h"
#include "ensemble.h"
#include "journal.h"
#include "solve.h"
#include "solve_grid.h"

/* TAG_STOP: no more tasks (those queued still run); TAG_HALT: the run is
 * stopping (a signal): skip what is queued once the draw in hand ends;
 * TAG_SIGNAL: a rank other than 0 was signalled (to rank 0). */
enum { TAG_TASK = 1, TAG_STOP = 2, TAG_RESULT = 3, TAG_HALT = 4, TAG_SIGNAL = 5 };

#define RMT_STATUS_SKIPPED (-3) /* a draw a stopping worker did not run */
#define RMT_STATUS_NOMEM (-2)   /* a draw a worker could not run for lack of memory */

/* A checkpoint by time waits at least this many times as long as the last
 * one took: checkpoints then take at most 1/(1 + CKPT_SPACING) of the run. */
#define CKPT_SPACING 10.0

/* Results travel in batches of consecutive draws of one point, sized so a
 * message carries about BATCH_SECONDS of work (estimated from the draw's
 * flops at ~5 GFLOP/s): tiny draws then cost the master one message per
 * batch rather than per draw. A batch stays below BATCH_MAX draws and
 * BATCH_BYTES ... */
#define BATCH_SECONDS 0.02
#define BATCH_MAX 1024
#define BATCH_BYTES (64u << 20)

/* ... and below 1/BATCH_FAIR_DIV of a group's fair share of the draws not
 * yet handed out: a queue of up to 3 batches then holds at most a quarter
 * of it, so a group slower than the others by up to ~3x still ends within
 * about a draw of them (tests/test_units.c, test_farm_share; with a
 * quarter share per batch, a 1.7x slower group ended hundreds of tiny
 * draws late). */
#define BATCH_FAIR_DIV 12

/* The master, which answers no one while it computes, takes a draw of its
 * own only when that draw costs at most this many times a draw of the
 * last batch each busy group was sent: a group holds up to 3 batches, so
 * it does not run dry meanwhile. Without it, where a sweep steps to a
 * point 8x dearer (n doubled), the master took the first dear draws while
 * the groups ran out of cheap ones and waited for it. */
#define MASTER_DRAW_RATIO 2.0

/* rmt_master_computes (config.h): whether the master computes draws as
 * well as dispatching. */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

/* A rank other than 0 that was signalled tells rank 0, once, from wherever
 * it waits (for a task, for its group's next draw, for a phase to end), so
 * a signal that reaches some ranks only stops the run at once: rank 0
 * takes it as its own (take_signals). A rank in a draw tells it after the
 * draw, as it skips what is queued. */
static int signal_sent, signal_value, signals_taken;
static MPI_Request signal_req = MPI_REQUEST_NULL;

static void report_signal(void)
{
    if (!stop_signal || signal_sent) return;
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    if (r == 0) return;
    signal_sent = 1;
    signal_value = (int)stop_signal;
    MPI_Isend(&signal_value, 1, MPI_INT, 0, TAG_SIGNAL, MPI_COMM_WORLD, &signal_req);
}

/* Rank 0: a signal another rank reported is a stop here too. */
static void take_signals(void)
{
    for (;;) {
        int flag = 0, v = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_SIGNAL, MPI_COMM_WORLD, &flag, &st);
        if (!flag) return;
        MPI_Recv(&v, 1, MPI_INT, st.MPI_SOURCE, TAG_SIGNAL, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        signals_taken++;
        if (!stop_signal) stop_signal = v > 0 ? v : SIGTERM;
    }
}

/* Idle waits: 2 ms of polling, then sleeps of 50, 100, 200, ... up to
 * `most` ns, so that waiting ranks report a signal and, when the wait is
 * long, do not take cores from working ones (Open MPI's blocking calls poll
 * the CPU all the while). Start with {0, 0}. The polling keeps short waits
 * short: sleeping at once made 200 grid draws of 19 ms 2 % slower. A rank
 * asleep does not move its nonblocking operations on, so waits on a
 * collective sleep at most 100 us per step, and a leader with results in
 * flight does not sleep. */
typedef struct {
    double t0;
    int sleeps;
} idle_wait;

static void idle_pause(idle_wait *w, long most)
{
    double t = rmt_draw_now();
    if (w->t0 == 0) w->t0 = t;
    if (t - w->t0 < 2e-3) return;
    long ns = 50000L << (w->sleeps < 8 ? w->sleeps : 8);
    if (ns < most) w->sleeps++;
    struct timespec ts = {0, ns < most ? ns : most};
    nanosleep(&ts, NULL);
}

void rmt_farm_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* system calls interrupted by it go on */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}


/* A result message: a header, the histogram counts summed over the batch's
 * draws (when has_counts), then one block per draw. Summing on the worker
 * keeps the master's work and the bytes per draw independent of the
 * number of bins. */
typedef struct {
    uint32_t point;
    uint32_t has_counts;
} result_head;

static size_t counts_bytes(const rmt_point *pt) { return sizeof(uint64_t) * (size_t)rmt_stats_ncounts(&pt->stat); }

/* Bytes of one draw's block in a result message: its figures, and its
 * spectrum when the point needs spectra. */
static size_t result_bytes(const rmt_point *pt)
{
    return sizeof(rmt_draw_figs) + (rmt_stats_needs_spectra(&pt->stat) ? sizeof(double) * (size_t)pt->ens.n : 0);
}

/* Bytes of one draw's block: the figures alone for a draw that was not run. */
static size_t block_bytes(const rmt_point *pt, const rmt_draw_figs *f)
{
    return f->status == RMT_STATUS_SKIPPED || f->status == RMT_STATUS_NOMEM ? sizeof *f : result_bytes(pt);
}

/* The figures of a draw that did not run: status RMT_STATUS_SKIPPED or
 * RMT_STATUS_NOMEM, no figures (as for a draw whose solver failed). */
static void unrun_figs(rmt_draw_figs *f, uint32_t point, uint32_t draw, int32_t status)
{
    memset(f, 0, sizeof *f);
    f->point = point;
    f->draw = draw;
    f->status = status;
    rmt_draw_no_figures(f);
}

/* ------------------------------------------------------------- phases */

/* The ranks of a phase: every point of a phase has the same ranks_per_draw
 * g; the world is cut into groups of g consecutive ranks (group k: ranks
 * kg .. kg + g - 1, its leader kg); ranks beyond the last whole group sit
 * the phase out, so every group has the same grid shape and results do not
 * depend on the number of ranks. Rank 0 leads group 0 and is the master. */
typedef struct {
    int g;             /* ranks per draw */
    int groups;        /* whole groups in the world */
    MPI_Comm comm;     /* this rank's group (MPI_COMM_NULL when sitting out or g = 1) */
    rmt_grid *grid;    /* BLACS grid of the group (g > 1) */
} phase;

/* Collective on MPI_COMM_WORLD. */
static rmt_status phase_begin(phase *ph, int g, int rank, int size)
{
    memset(ph, 0, sizeof *ph);
    ph->g = g;
    ph->groups = size / g;
    ph->comm = MPI_COMM_NULL;
    if (g == 1) return RMT_OK;
    int color = rank < ph->groups * g ? rank / g : MPI_UNDEFINED;
    MPI_Comm_split(MPI_COMM_WORLD, color, rank, &ph->comm);
    if (ph->comm != MPI_COMM_NULL) {
        ph->grid = rmt_grid_create(ph->comm);
        if (!ph->grid) return RMT_ERR(RMT_ERUNTIME, "cannot create a %d-rank process grid", g);
    }
    return RMT_OK;
}

static void phase_end(phase *ph)
{
    rmt_grid_destroy(ph->grid);
    if (ph->comm != MPI_COMM_NULL) MPI_Comm_free(&ph->comm);
}

/* One draw, on one rank (g = 1) or collectively on the group's grid. */
static rmt_status run_draw(rmt_draw_ctx *ctx, const phase *ph, const rmt_point *pt, uint32_t draw, rmt_draw_figs *f,
                           uint64_t *counts, double *eig)
{
    if (ph->grid) return rmt_draw_run_grid(ctx, ph->grid, pt, draw, f, counts, eig);
    return rmt_draw_run(ctx, pt, draw, f, counts, eig);
}

/* Tell the group what to do next: (point, draw, 1) or stop (x, x, 0), and
 * learn whether any member was signalled. Collective on the group: a
 * maximum over the leader's message and everyone's signal, so the leader's
 * values win and a signal to a member alone stops the run as one to its
 * leader does (from the draw after this one). */
static void group_bcast(const phase *ph, uint32_t msg[3])
{
    if (ph->comm == MPI_COMM_NULL) return;
    int r = 0;
    MPI_Comm_rank(ph->comm, &r);
    uint32_t in[4] = {0, 0, 0, (uint32_t)stop_signal}, out[4];
    if (r == 0) memcpy(in, msg, 3 * sizeof *msg);
    MPI_Request req;
    MPI_Iallreduce(in, out, 4, MPI_UINT32_T, MPI_MAX, ph->comm, &req);
    idle_wait iw = {0, 0};
    for (int done = 0;;) {
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (done) break;
        report_signal();
        idle_pause(&iw, 100000L);
    }
    memcpy(msg, out, 3 * sizeof *msg);
    if (out[3] && !stop_signal) stop_signal = (sig_atomic_t)out[3];
}

/* ------------------------------------------------------------ progress */

typedef struct {
    rmt_progress mode;
    double start, last;
    uint64_t start_done;
    int ranks;
} progress;

/* Wall seconds the draws left take on `ranks` ranks: a point's own mean
 * draw time where it has finished draws, else its flops at the seconds per
 * flop of the largest measured point that is cubic-bound (>= 1e8 flops; a
 * small draw's time is mostly generation and bookkeeping), or at check's
 * cautious 5 GFLOP/s; spread over the groups that compute its draws (as
 * check's estimate). A sweep's points can differ in cost by orders of
 * magnitude, so the time left follows the work left, not the draws left. */
static double draw_seconds_left(const rmt_results *res, int ranks)
{
    double spf = 1.0 / 5e9, measured = 0, left = 0;
    for (uint32_t p = res->p_begin; p < res->p_end; p++) {
        double f = rmt_ensemble_flops(&res->plan->points[p].ens);
        const rmt_point_result *r = &res->pts[p];
        if (r->done > 0 && f >= 1e8 && f > measured && r->seconds > 0) {
            measured = f;
            spf = r->seconds / r->done / f;
        }
    }
    for (uint32_t p = res->p_begin; p < res->p_end; p++) {
        const rmt_point_result *r = &res->pts[p];
        const rmt_point *pt = &res->plan->points[p];
        double each = r->done > 0 ? r->seconds / r->done : rmt_ensemble_flops(&pt->ens) * spf;
        int g = pt->ranks_per_draw > 1 ? pt->ranks_per_draw : 1, groups = ranks / g;
        if (groups > 1 && !rmt_master_computes(groups, g)) groups--;
        left += (double)(pt->draws - r->done) * each / (groups > 0 ? groups : 1);
    }
    return left;
}

static void progress_show(progress *pg, const rmt_results *res, int final)
{
    if (pg->mode == RMT_PROGRESS_NONE) return;
    double t = rmt_draw_now();
    double every = pg->mode == RMT_PROGRESS_BAR ? 0.2 : 10.0;
    if (!final && t - pg->last < every) return;
    pg->last = t;
    uint64_t done = res->done_draws, total = res->total_draws;
    double rate = (t - pg->start) > 0 ? (double)(done - pg->start_done) / (t - pg->start) : 0;
    /* the draws' own time left, or at least what the draw rate so far
     * gives (a tiny draw's time is mostly outside the draw itself) */
    double by_rate = rate > 0 ? (double)(total - done) / rate : NAN;
    double left = fmax(draw_seconds_left(res, pg->ranks), isfinite(by_rate) ? by_rate : 0);
    if (!isfinite(by_rate) && done == 0) left = NAN;
    if (pg->mode == RMT_PROGRESS_BAR) {
        int width = 30, fill = total ? (int)((double)width * (double)done / (double)total) : width;
        char bar[64];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        char eta[32] = "?";
        if (isfinite(left)) snprintf(eta, sizeof eta, "%.0fs", left);
        fprintf(stderr, "\r[%s] %llu/%llu draws  %.1f/s  ETA %s   ", bar, (unsigned long long)done,
                (unsigned long long)total, rate, eta);
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "rmtmc: %llu/%llu draws (%.1f%%), %.2f draws/s, %s%.0f s left, %llu failed\n",
                (unsigned long long)done, (unsigned long long)total, total ? 100.0 * (double)done / (double)total : 100.0,
                rate, isfinite(left) ? "" : "~", isfinite(left) ? left : 0.0, (unsigned long long)res->failed_draws);
    }
    fflush(stderr);
}

/* ------------------------------------------------------------- workers */

/* A group member other than the leader: follows the leader's broadcasts
 * until told to stop. Collective on the group. */
static rmt_status member(const rmt_plan *plan, const phase *ph, rmt_draw_ctx *ctx)
{
    for (;;) {
        uint32_t msg[3];
        group_bcast(ph, msg);
        if (!msg[2]) return RMT_OK;
        const rmt_point *pt = &plan->points[msg[0]];
        rmt_draw_figs f;
        uint64_t *counts = calloc((size_t)rmt_stats_ncounts(&pt->stat) + 1, sizeof(uint64_t));
        if (!counts) return RMT_ERR(RMT_ERUNTIME, "out of memory");
        rmt_status s = run_draw(ctx, ph, pt, msg[1], &f, counts, NULL);
        free(counts);
        RMT_TRY(s);
    }
}

static int world_rank(void)
{
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

/* RMT_FAIL_RESULT_ALLOC set: a leader acts as if its result buffer could
 * not be allocated, so that the fallback below can be tested. Off unless set. */
static int result_alloc_fails(void)
{
    static int fails = -1;
    if (fails < 0) fails = getenv("RMT_FAIL_RESULT_ALLOC") != NULL;
    return fails;
}

/* Result messages a leader may have in flight: it sends without waiting for
 * the master (who answers only between its own draws), so a result never
 * holds up the next queued draw. */
#define SEND_RING 4

/* A group leader other than the master: takes draws from the master, runs
 * them with its group, sends back the figures. */
static rmt_status leader(const rmt_plan *plan, const phase *ph, rmt_draw_ctx *ctx)
{
    size_t caps[SEND_RING] = {0}, used;
    char *bufs[SEND_RING] = {NULL};
    MPI_Request reqs[SEND_RING];
    for (int r = 0; r < SEND_RING; r++) reqs[r] = MPI_REQUEST_NULL;
    int halted = 0; /* the master is stopping: what is queued here is not run */
    for (unsigned slot = 0;; slot = (slot + 1) % SEND_RING) {
        /* a task: draws task[1] .. task[1] + task[2] - 1 of point task[0] */
        uint32_t task[3], msg[3];
        MPI_Status st;
        if (halted) {
            msg[0] = msg[1] = msg[2] = 0;
            group_bcast(ph, msg);
            break;
        }
        idle_wait iw = {0, 0};
        for (int flag = 0;;) {
            MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
            if (flag) break;
            report_signal();
            /* results on their way may need this rank's progress */
            int sent = 0;
            MPI_Testall(SEND_RING, reqs, &sent, MPI_STATUSES_IGNORE);
            if (sent) idle_pause(&iw, 500000L);
        }
        MPI_Recv(task, 3, MPI_UINT32_T, 0, st.MPI_TAG, MPI_COMM_WORLD, &st);
        if (st.MPI_TAG == TAG_STOP || st.MPI_TAG == TAG_HALT) {
            msg[0] = msg[1] = msg[2] = 0;
            group_bcast(ph, msg);
            break;
        }
        const rmt_point *pt = &plan->points[task[0]];
        size_t one = result_bytes(pt), nc = (size_t)rmt_stats_ncounts(&pt->stat);
        size_t need = sizeof(result_head) + counts_bytes(pt) * 2 + one * task[2];
        /* this slot's previous message must be on its way before reuse */
        MPI_Wait(&reqs[slot], MPI_STATUS_IGNORE);
        if (need > caps[slot]) {
            free(bufs[slot]);
            bufs[slot] = malloc(need);
            caps[slot] = bufs[slot] ? need : 0;
        }
        char *buf = result_alloc_fails() ? NULL : bufs[slot];
        /* no room to run the batch: its figures alone, every draw reported
         * failed for lack of memory (status -2), still in one message */
        char *lean = NULL;
        if (!buf) {
            lean = malloc(sizeof(result_head) + sizeof(rmt_draw_figs) * task[2]);
            if (!lean) {
                fprintf(stderr, "rmtmc: rank %d: out of memory even for a batch's figures\n", world_rank());
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
            result_head h = {task[0], 0};
            memcpy(lean, &h, sizeof h);
            if (task[2] == 1)
                fprintf(stderr, "rmtmc: rank %d: no memory for the results of draw %u of point %u; "
                        "it is reported failed (status -2)\n", world_rank(), task[1], task[0]);
            else
                fprintf(stderr, "rmtmc: rank %d: no memory for the results of draws %u..%u of point %u; "
                        "they are reported failed (status -2)\n", world_rank(), task[1], task[1] + task[2] - 1, task[0]);
        }
        /* the batch's summed counts follow the header; one draw's counts go
         * to scratch at the end of the buffer */
        uint64_t *sum = buf ? (uint64_t *)(buf + sizeof(result_head)) : NULL;
        uint64_t *counts = buf ? (uint64_t *)(buf + need - counts_bytes(pt)) : NULL;
        if (buf) {
            result_head h = {task[0], 1};
            memcpy(buf, &h, sizeof h);
            memset(sum, 0, counts_bytes(pt));
        }
        used = sizeof(result_head) + (buf ? counts_bytes(pt) : 0);
        for (uint32_t b = 0; b < task[2]; b++) {
            rmt_draw_figs f;
            uint32_t draw = task[1] + b;
            /* the master stopping: the draws queued here are not wanted */
            if (!halted) {
                int flag = 0;
                MPI_Iprobe(0, TAG_HALT, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
                if (flag) {
                    uint32_t h[3];
                    MPI_Recv(h, 3, MPI_UINT32_T, 0, TAG_HALT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                    halted = 1;
                }
            }
            /* signalled too (or a member of the group was): skip the draws
             * queued here, and say so, so that a master that was not
             * signalled stops as well (status -3: not run) */
            int ok = 0, skipped = stop_signal != 0 || halted;
            if (!skipped && buf) {
                int done = 0;
                MPI_Testall(SEND_RING, reqs, &done, MPI_STATUSES_IGNORE);
                msg[0] = task[0];
                msg[1] = draw;
                msg[2] = 1;
                group_bcast(ph, msg);
                double *eig = rmt_stats_needs_spectra(&pt->stat) ? (double *)(buf + used + sizeof f) : NULL;
                ok = run_draw(ctx, ph, pt, draw, &f, counts, eig) == RMT_OK;
                if (ok && f.status == 0)
                    for (size_t q = 0; q < nc; q++) sum[q] += counts[q];
                if (!ok && ph->comm != MPI_COMM_NULL) {
                    /* on a grid the members may be waiting in a collective
                     * of this draw for ever: end the job */
                    fprintf(stderr, "rmtmc: rank %d: draw %u of point %u: %s\n", world_rank(), draw, task[0],
                            rmt_err_message());
                    fflush(stderr);
                    MPI_Abort(MPI_COMM_WORLD, 1);
                }
                if (!ok) {
                    /* a resource failure on this rank: the draw is reported failed (status -2) */
                    fprintf(stderr, "rmtmc: draw %u of point %u: %s\n", draw, task[0], rmt_err_message());
                    rmt_err_clear();
                }
            }
            if (ok) {
                memcpy(buf + used, &f, sizeof f);
                used += one;
            } else {
                unrun_figs(&f, task[0], draw, skipped ? RMT_STATUS_SKIPPED : RMT_STATUS_NOMEM);
                memcpy((buf ? buf : lean) + used, &f, sizeof f);
                used += sizeof f;
            }
        }
        if (buf) {
            MPI_Isend(buf, (int)used, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD, &reqs[slot]);
            /* let the transport move what it can now; on a network a large
             * message may need this rank's help, given before every batch */
            int done = 0;
            MPI_Testall(SEND_RING, reqs, &done, MPI_STATUSES_IGNORE);
        } else {
            MPI_Send(lean, (int)used, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD);
            free(lean);
        }
    }
    MPI_Waitall(SEND_RING, reqs, MPI_STATUSES_IGNORE);
    for (int r = 0; r < SEND_RING; r++) free(bufs[r]);
    return RMT_OK;
}

/* -------------------------------------------------------------- master */

typedef struct {
    const rmt_plan *plan;
    rmt_results *res;
    const rmt_farm_opts *o;
    progress pg;
    double last_ckpt;      /* when the last checkpoint ended */
    double light_cost;     /* how long the last light checkpoint took */
    uint64_t last_ckpt_draws; /* the draws the last checkpoint holds */
    uint64_t failed_before; /* failed draws a resumed run starts with: max_failures counts afresh */
    double full_cost;       /* how long the last full checkpoint took (0: none yet) */
    double last_full;       /* when it ended */
    double file_bytes;      /* the size of the file it wrote */
    int journal_failed;     /* the journal could not be created: full checkpoints only */
    int have_ckpt;          /* the output holds this run's checkpoint (written, or resumed from) */
    cpu_set_t node_cores;   /* the cores the ranks on rank 0's node may use (their affinity masks) */
    int have_node_cores;
} master_state;

/* A full checkpoint rewrites the output file with every row so far; a
 * light one commits the journal (OUT.h5.journal) of what arrived since
 * the last full one, which --resume and merge apply. A checkpoint is light
 * once a full one takes longer than journal_from seconds (RMT_JOURNAL_FROM,
 * default JOURNAL_FROM; below that the file itself stays current for
 * readers), as long as the journal is smaller than the file: rewrites
 * then come as the file doubles, and all of them write about twice its
 * final size, where a rewrite every checkpoint_seconds wrote it again and
 * again. The last checkpoint (complete) is full and removes the journal. */
#define JOURNAL_FROM 0.5

static double journal_from(void)
{
    const char *e = getenv("RMT_JOURNAL_FROM"); /* checked by the cli */
    return e && *e ? strtod(e, NULL) : JOURNAL_FROM;
}

typedef enum { CKPT_DUE, CKPT_STOP, CKPT_FINAL } ckpt_kind;


/* Whether checkpoints may be light: a journal extends the file, and full
 * checkpoints are slow. */
static int journalling(const master_state *m)
{
    return m->res->journal && m->res->ckpt_id != 0 && m->full_cost > journal_from();
}

/* Whether a checkpoint of this kind would be light now: a stop's always
 * (quick, before a batch system's kill); a due one while the journal is
 * smaller than the file, or the last full checkpoint is more recent than
 * CKPT_SPACING times what it took. */
static int checkpoint_light(const master_state *m, ckpt_kind kind)
{
    if (kind == CKPT_FINAL || !journalling(m)) return 0;
    return kind == CKPT_STOP || (double)rmt_journal_bytes(m->res->journal) < m->file_bytes ||
           rmt_draw_now() - m->last_full < CKPT_SPACING * m->full_cost;
}

/* The least time between two checkpoints by time, over CKPT_SPACING:
 * what the next one is expected to take (a full one's spacing counts from
 * the last full one, checkpoint_light). */
static double checkpoint_cost(const master_state *m)
{
    if (!journalling(m)) return m->full_cost;
    return checkpoint_light(m, CKPT_DUE) ? m->light_cost : 0.0;
}

static rmt_status checkpoint(master_state *m, ckpt_kind kind)
{
    rmt_results *res = m->res;
    const rmt_farm_opts *o = m->o;
    double t0 = rmt_draw_now();
    rmt_status s = RMT_OK;
    int complete = kind == CKPT_FINAL && res->done_draws == res->total_draws;
    if (checkpoint_light(m, kind)) {
        s = rmt_journal_commit(res->journal);
        m->light_cost = rmt_draw_now() - t0;
    } else {
        uint64_t id = rmt_journal_new_id();
        res->ckpt_id = id;
        /* the final write has the cores of rank 0's node to itself (its
         * draw thread done, the other ranks there waiting in MPI_Finalize);
         * a checkpoint shares them with draws */
        if (kind == CKPT_FINAL && m->have_node_cores) rmt_local_set_cores(&m->node_cores);
        else rmt_local_set_threads(kind == CKPT_FINAL ? rmt_local_usable_cores() : 1);
        s = rmt_results_finalize(res);
        if (!s) s = rmt_h5out_write(o->output_path, res, &o->meta, complete);
        struct stat sb;
        m->file_bytes = !s && stat(o->output_path, &sb) == 0 ? (double)sb.st_size : 0.0;
        m->last_full = rmt_draw_now();
        m->full_cost = m->last_full - t0;
        /* the journal restarts from this file, once a full checkpoint is
         * slow enough to need one; a run that ends removes it */
        if (!s && complete) {
            rmt_journal_close(res->journal, 0);
            res->journal = NULL;
            rmt_journal_remove(o->output_path);
        } else if (!s && res->journal) {
            s = rmt_journal_restart(res->journal, id);
        } else if (!s && m->full_cost > journal_from() && kind == CKPT_DUE && !m->journal_failed) {
            rmt_status js = rmt_journal_open(o->output_path, id, 0, &res->journal);
            if (js) fprintf(stderr, "rmtmc: %s; every checkpoint rewrites the whole file\n", rmt_err_message());
            m->journal_failed = js != RMT_OK; /* said once; not tried again */
        }
    }
    res->master_ckpt_s += rmt_draw_now() - t0;
    if (!s) {
        m->have_ckpt = 1;
        m->last_ckpt_draws = res->done_draws;
    }
    return s;
}

/* The next draw not yet done among the points of this phase, in (point,
 * draw) order. */
typedef struct {
    uint32_t p, d;
} cursor;

static int next_task(const rmt_plan *plan, const rmt_results *res, int g, cursor *c, uint32_t task[2])
{
    while (c->p < res->p_end) {
        const rmt_point *pt = &plan->points[c->p];
        if (pt->ranks_per_draw == g)
            while (c->d < pt->draws) {
                uint32_t d = c->d++;
                if (!res->pts[c->p].have[d]) {
                    task[0] = c->p;
                    task[1] = d;
                    return 1;
                }
            }
        c->p++;
        c->d = 0;
    }
    return 0;
}

/* The next batch: up to `max` consecutive undone draws of one point,
 * task = (point, first draw, count). */
static int next_batch(const rmt_plan *plan, const rmt_results *res, int g, cursor *c, uint32_t max, uint32_t task[3])
{
    uint32_t t[2];
    if (!next_task(plan, res, g, c, t)) return 0;
    const rmt_point *pt = &plan->points[t[0]];
    uint32_t n = 1;
    while (n < max && c->p == t[0] && c->d < pt->draws && c->d == t[1] + n && !res->pts[t[0]].have[c->d]) {
        c->d++;
        n++;
    }
    task[0] = t[0];
    task[1] = t[1];
    task[2] = n;
    return 1;
}

/* The natural batch for about `seconds` of estimated work. */
static uint64_t natural_batch(const rmt_plan *plan, const rmt_results *res, int g, uint32_t p, uint32_t d, double seconds)
{
    cursor peek = {p, d};
    uint32_t nt[2];
    if (!next_task(plan, res, g, &peek, nt)) return 1;
    const rmt_point *pt = &plan->points[nt[0]];
    double t = rmt_ensemble_flops(&pt->ens) / 5e9;
    double b = t > 0 ? ceil(seconds / t) : BATCH_MAX;
    double bytes = (double)BATCH_BYTES / (double)result_bytes(pt);
    b = fmin(b, fmin((double)BATCH_MAX, bytes));
    return b < 1 ? 1 : (uint64_t)b;
}

/* farm.h */
uint64_t rmt_farm_natural_batch(const rmt_plan *plan, const rmt_results *res, int g, uint32_t p, uint32_t d)
{
    return natural_batch(plan, res, g, p, d, BATCH_SECONDS);
}

static uint64_t batch_size(const rmt_plan *plan, const rmt_results *res, int g, const cursor *c)
{
    return natural_batch(plan, res, g, c->p, c->d, BATCH_SECONDS);
}

/* farm.h */
uint64_t rmt_farm_batch(uint64_t natural, uint64_t left, uint64_t queued_all, uint64_t queued, uint64_t sharers)
{
    if (sharers < 1) sharers = 1;
    uint64_t fair = left / (BATCH_FAIR_DIV * sharers), bs = natural;
    if (bs > fair) bs = fair;
    if (bs < 1) bs = 1;
    /* the group's share of what is left, counting what every group holds */
    uint64_t target = (left + queued_all + sharers - 1) / sharers;
    if (queued + bs > target) bs = target > queued ? target - queued : 0;
    return bs == 0 && queued == 0 ? 1 : bs;
}

/* farm.h */
int rmt_farm_master_may_compute(double own, const double *tail, const int *outstanding, int ng)
{
    for (int k = 1; k < ng; k++)
        if (outstanding[k] > 0 && own > MASTER_DRAW_RATIO * tail[k]) return 0;
    return 1;
}

/* ------------------------------------------------- rank 0's own draws */

/* In a phase of one-rank draws rank 0 runs its own draws, a batch at a
 * time, in a second thread, while the main thread goes on answering the
 * other ranks, writing checkpoints and acting on signals. The thread makes
 * no MPI or HDF5 call: it fills and solves into its own buffers, as a
 * worker would into its result message, and the main thread records the
 * batch. Above RMT_MASTER_COMPUTES_MAX_GROUPS ranks it runs at a lower priority
 * (OWN_NICE more than the process), so that answering comes first. */
#define OWN_NICE 10

/* The thread's batches hold about this much estimated work, more than a
 * message's BATCH_SECONDS: each batch costs two thread wake-ups (~0.1 ms
 * in all here), 1 % of the run with BATCH_SECONDS (bench/ab), and the
 * share rule (rmt_farm_batch) still caps them near the end. */
#define OWN_BATCH_SECONDS 0.08

static int threads_allowed = 1;
static int own_abandoned; /* a draw left running after a stop */

/* farm.h */
void rmt_farm_threads_allowed(int yes) { threads_allowed = yes; }

/* farm.h */
int rmt_farm_draw_abandoned(void) { return own_abandoned; }

typedef enum { OWN_IDLE, OWN_TASK, OWN_DONE, OWN_QUIT } own_state;

typedef struct {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled on every change of state */
    own_state state;
    int lower_priority;
    /* the batch (OWN_TASK): draws first .. first + count - 1 of point */
    const rmt_point *pt;
    uint32_t point, first, count;
    /* its results (OWN_DONE), the thread's until then: each draw's
     * figures and, when the point needs them, its spectrum (ne values);
     * the counts of its successful draws summed */
    rmt_draw_figs *figs;
    double *eig;
    uint64_t *sum, *counts;
    size_t figs_cap, eig_cap, counts_cap, ne;
    uint32_t ran; /* draws of the batch run so far (with sum, under mu) */
    int no_room;  /* no memory for the batch's results: none was run */
    rmt_draw_ctx *ctx;
    pid_t tid; /* the thread's id, for its priority */
} own_worker;

/* Room for a batch's results; 0 when memory is short. */
static int own_room(own_worker *w, const rmt_point *pt, uint32_t count)
{
    size_t nc = (size_t)rmt_stats_ncounts(&pt->stat) + 1;
    w->ne = rmt_stats_needs_spectra(&pt->stat) ? (size_t)pt->ens.n : 0;
    if (count > w->figs_cap) {
        free(w->figs);
        w->figs = malloc(sizeof(rmt_draw_figs) * count);
        w->figs_cap = w->figs ? count : 0;
    }
    if (w->ne * count > w->eig_cap) {
        free(w->eig);
        w->eig = malloc(sizeof(double) * w->ne * count);
        w->eig_cap = w->eig ? w->ne * count : 0;
    }
    if (nc > w->counts_cap) {
        free(w->sum);
        free(w->counts);
        w->sum = malloc(sizeof(uint64_t) * nc);
        w->counts = malloc(sizeof(uint64_t) * nc);
        w->counts_cap = w->sum && w->counts ? nc : 0;
    }
    if (!w->figs || (w->ne && !w->eig) || !w->counts_cap) return 0;
    memset(w->sum, 0, sizeof(uint64_t) * nc);
    return 1;
}

static void *own_main(void *arg)
{
    own_worker *w = arg;
    /* BLAS threads per rank, as on the main thread (an OpenMP OpenBLAS
     * counts them per calling thread) */
    rmt_solve_init_threads();
    pid_t tid = (pid_t)syscall(SYS_gettid);
    /* lower, relative to the process's own niceness (a failure leaves it as it is) */
    if (w->lower_priority) setpriority(PRIO_PROCESS, (id_t)tid, getpriority(PRIO_PROCESS, (id_t)tid) + OWN_NICE);
    pthread_mutex_lock(&w->mu);
    w->tid = tid;
    for (;;) {
        while (w->state != OWN_TASK && w->state != OWN_QUIT) pthread_cond_wait(&w->cv, &w->mu);
        if (w->state == OWN_QUIT) break;
        const rmt_point *pt = w->pt;
        uint32_t count = w->count;
        pthread_mutex_unlock(&w->mu);
        int room = own_room(w, pt, count);
        size_t nc = (size_t)rmt_stats_ncounts(&pt->stat);
        uint32_t b = 0;
        for (; b < count; b++) {
            pthread_mutex_lock(&w->mu);
            int quit = w->state == OWN_QUIT;
            pthread_mutex_unlock(&w->mu);
            if (quit) break;
            rmt_draw_figs *f = room ? &w->figs[b] : NULL;
            uint32_t draw = w->first + b;
            rmt_status s = room ? rmt_draw_run(w->ctx, pt, draw, f, w->counts, w->ne ? w->eig + w->ne * b : NULL)
                                : RMT_ERR(RMT_ERUNTIME, "out of memory");
            if (!room) {
                /* no room even for the figures: the batch is lost; the
                 * main thread reports it failed */
                rmt_err_clear();
                break;
            }
            if (s) {
                /* a resource failure: the draw is reported failed (status -2), as a worker does */
                fprintf(stderr, "rmtmc: draw %u of point %u: %s\n", draw, w->point, rmt_err_message());
                rmt_err_clear();
                unrun_figs(f, w->point, draw, RMT_STATUS_NOMEM);
            }
            /* the draws run so far are the main thread's to record on a stop */
            pthread_mutex_lock(&w->mu);
            if (!s && f->status == 0)
                for (size_t q = 0; q < nc; q++) w->sum[q] += w->counts[q];
            w->ran = b + 1;
            pthread_mutex_unlock(&w->mu);
        }
        pthread_mutex_lock(&w->mu);
        w->ran = room ? b : 0;
        w->no_room = !room;
        if (w->state == OWN_QUIT) break; /* abandoned meanwhile */
        w->state = OWN_DONE;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* RMT_FAIL_THREAD set: the thread "cannot start", so that the fallback
 * can be tested. Off unless set. */
static int thread_fails(void)
{
    const char *v = getenv("RMT_FAIL_THREAD");
    return v && v[0] && strcmp(v, "0") != 0;
}

/* Start the thread; NULL when threads are not allowed or cannot start
 * (the master then computes between its answers, as on grids). */
static own_worker *own_start(int lower_priority)
{
    if (!threads_allowed || thread_fails()) return NULL;
    own_worker *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->ctx = rmt_draw_create();
    w->lower_priority = lower_priority;
    if (!w->ctx || pthread_mutex_init(&w->mu, NULL)) {
        rmt_draw_destroy(w->ctx);
        free(w);
        return NULL;
    }
    /* waits time out on the monotonic clock: a clock stepped back must not
     * keep the main thread from its answers */
    pthread_condattr_t ca;
    int bad = pthread_condattr_init(&ca);
    if (!bad) {
        bad = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) || pthread_cond_init(&w->cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    if (bad) {
        pthread_mutex_destroy(&w->mu);
        rmt_draw_destroy(w->ctx);
        free(w);
        return NULL;
    }
    /* signals go to the main thread, which acts on them */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int failed = pthread_create(&w->th, NULL, own_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (failed) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        rmt_draw_destroy(w->ctx);
        free(w);
        return NULL;
    }
    return w;
}

static own_state own_get(own_worker *w)
{
    pthread_mutex_lock(&w->mu);
    own_state st = w->state;
    pthread_mutex_unlock(&w->mu);
    return st;
}

static void own_post(own_worker *w, const rmt_plan *plan, const uint32_t task[3])
{
    pthread_mutex_lock(&w->mu);
    w->pt = &plan->points[task[0]];
    w->point = task[0];
    w->first = task[1];
    w->count = task[2];
    w->ran = 0; /* own_drain reads nothing of the batch (sum included) until a draw is run */
    w->state = OWN_TASK;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Wait up to `seconds` for the draw in hand to end (returns at once when
 * there is none). */
static void own_wait(own_worker *w, double seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    double t = (double)until.tv_nsec * 1e-9 + seconds;
    until.tv_sec += (time_t)t;
    until.tv_nsec = (long)((t - floor(t)) * 1e9);
    pthread_mutex_lock(&w->mu);
    while (w->state == OWN_TASK)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until)) break;
    pthread_mutex_unlock(&w->mu);
}

/* Record the draws of the thread's batch run so far (all of it once
 * OWN_DONE): their figures and spectra, and their counts summed. */
static rmt_status own_record_ran(own_worker *w, rmt_results *res)
{
    rmt_status s = RMT_OK;
    for (uint32_t b = 0; b < w->ran && !s; b++) {
        const rmt_draw_figs *f = &w->figs[b];
        s = rmt_results_add(res, f, NULL, w->ne && f->status != RMT_STATUS_NOMEM ? w->eig + w->ne * b : NULL);
    }
    if (!s && w->ran) rmt_results_add_counts(res, w->point, w->sum);
    return s;
}

/* Record the finished batch (OWN_DONE), as a worker's result message is
 * recorded, and make the thread idle. */
static rmt_status own_collect(own_worker *w, rmt_results *res)
{
    rmt_status s = RMT_OK;
    if (w->no_room) {
        /* no memory for the batch's results: every draw reported failed (status -2) */
        fprintf(stderr, "rmtmc: rank 0: no memory for the results of draws %u..%u of point %u; they are reported failed "
                "(status -2)\n", w->first, w->first + w->count - 1, w->point);
        for (uint32_t b = 0; b < w->count && !s; b++) {
            rmt_draw_figs f;
            unrun_figs(&f, w->point, w->first + b, RMT_STATUS_NOMEM);
            s = rmt_results_add(res, &f, NULL, NULL);
        }
    } else {
        s = own_record_ran(w, res);
    }
    pthread_mutex_lock(&w->mu);
    w->state = OWN_IDLE;
    pthread_mutex_unlock(&w->mu);
    return s;
}

/* On a stop: record what the thread has finished, a whole batch or the
 * draws of the one in hand run so far, so that the checkpoint holds them;
 * a draw still running is left out. */
static rmt_status own_drain(own_worker *w, rmt_results *res)
{
    if (!w) return RMT_OK;
    own_state st = own_get(w);
    if (st == OWN_DONE) return own_collect(w, res);
    if (st != OWN_TASK) return RMT_OK;
    pthread_mutex_lock(&w->mu); /* the thread waits to publish its next draw */
    rmt_status s = own_record_ran(w, res);
    pthread_mutex_unlock(&w->mu);
    return s;
}

/* End the thread. Idle, it is joined and freed; in the middle of a draw
 * (after a signal or a failure) it is left to finish on its own and what
 * it holds is not freed: the process is about to end, and no one waits for
 * a draw that may take minutes. */
static void own_end(own_worker *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    int busy = w->state == OWN_TASK;
    pid_t tid = w->tid;
    w->state = OWN_QUIT;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (busy) {
        /* leave the core to the others while they finish their draws */
        if (tid) setpriority(PRIO_PROCESS, (id_t)tid, 19);
        pthread_detach(w->th);
        own_abandoned = 1;
        return;
    }
    pthread_join(w->th, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    rmt_draw_destroy(w->ctx);
    free(w->figs);
    free(w->eig);
    free(w->sum);
    free(w->counts);
    free(w);
}

/* Compute one draw on the master (with its group) and record it. */
static rmt_status compute_local(master_state *m, const phase *ph, rmt_draw_ctx *ctx, const uint32_t task[2])
{
    const rmt_point *pt = &m->plan->points[task[0]];
    size_t nb = (size_t)rmt_stats_ncounts(&pt->stat), ne = rmt_stats_needs_spectra(&pt->stat) ? (size_t)pt->ens.n : 0;
    uint64_t *counts = calloc(nb + 1, sizeof(uint64_t));
    double *eig = ne ? malloc(sizeof(double) * ne) : NULL;
    rmt_status s = RMT_OK;
    if (!counts || (ne && !eig)) s = RMT_ERR(RMT_ERUNTIME, "out of memory");
    uint32_t msg[3] = {task[0], task[1], 1};
    if (!s) group_bcast(ph, msg);
    rmt_draw_figs f;
    if (!s) s = run_draw(ctx, ph, pt, task[1], &f, counts, eig);
    if (!s) s = rmt_results_add(m->res, &f, counts, eig);
    free(counts);
    free(eig);
    return s;
}

/* Hand out the draws of one phase and collect them. */
static rmt_status master_phase(master_state *m, const phase *ph, rmt_draw_ctx *ctx, int size)
{
    const rmt_plan *plan = m->plan;
    rmt_results *res = m->res;
    const rmt_farm_opts *o = m->o;
    rmt_status s = RMT_OK;
    /* one-rank draws: rank 0's own run in a thread, so it computes at any
     * size and never keeps the others waiting; otherwise between answers */
    own_worker *own = ph->g == 1 ? own_start(ph->groups > RMT_MASTER_COMPUTES_MAX_GROUPS) : NULL;
    if (ph->g == 1 && !own && size > 1)
        fprintf(stderr, "rmtmc: rank 0 cannot start a thread for its own draws (%s); it computes them between its "
                "answers, and above %d ranks not at all\n",
                !threads_allowed ? "MPI gives no MPI_THREAD_FUNNELED"
                : thread_fails() ? "RMT_FAIL_THREAD is set" : "no memory or no thread",
                RMT_MASTER_COMPUTES_MAX_GROUPS);
    int computes = own != NULL || rmt_master_computes_between_answers(ph->groups);
    /* a master computing between answers leaves the groups waiting for
     * up to a draw: they hold one batch more */
    int depth = computes && !own ? 3 : 2;
    int ng = ph->groups;
    int *outstanding = calloc((size_t)ng + 1, sizeof(int));
    uint64_t *queued = calloc((size_t)ng + 1, sizeof(uint64_t)); /* draws sent and not yet returned */
    double *tail = calloc((size_t)ng + 1, sizeof(double)); /* flops of a draw of the last batch sent to each group */
    uint64_t queued_all = 0;
    MPI_Request rreq = MPI_REQUEST_NULL; /* the result being received */
    int rpending = 0, rbytes = 0, rsource = 0;
    char *stopped = calloc((size_t)ng + 1, 1);
    size_t rcap = 0;
    char *rbuf = NULL;
    cursor cur = {res->p_begin, 0};
    uint32_t task[3] = {0, 0, 0};
    long in_flight = 0;
    int more = 1;
    if (!outstanding || !stopped || !queued || !tail) {
        s = RMT_ERR(RMT_ERUNTIME, "out of memory");
        goto out;
    }
    /* a stop that came between phases (another rank's): hand out nothing */
    take_signals();
    if (stop_signal) more = 0;
    /* Deal the first batches round-robin to the leaders (ranks k g, k = 1 ..
     * groups - 1), at most `depth` each and no more than a fair share, so
     * that with few draws the master's own group gets its part too. */
    uint64_t left = 0;
    for (cursor c2 = cur; next_task(plan, res, ph->g, &c2, task);) left++;
    uint64_t sharers = (uint64_t)(computes ? ng : (ng > 1 ? ng - 1 : 1));
    for (int q = 0; q < depth && more; q++)
        for (int k = 1; k < ng && more; k++) {
            uint64_t bs = rmt_farm_batch(batch_size(plan, res, ph->g, &cur), left, queued_all, queued[k], sharers);
            if (bs == 0) continue; /* it holds its share */
            more = next_batch(plan, res, ph->g, &cur, (uint32_t)bs, task);
            if (!more) break;
            MPI_Send(task, 3, MPI_UINT32_T, k * ph->g, TAG_TASK, MPI_COMM_WORLD);
            tail[k] = rmt_ensemble_flops(&plan->points[task[0]].ens);
            queued[k] += task[2];
            queued_all += task[2];
            left -= task[2];
            outstanding[k]++;
            in_flight++;
        }
    for (int k = 1; k < ng; k++)
        if (outstanding[k] == 0) {
            MPI_Send(task, 3, MPI_UINT32_T, k * ph->g, TAG_STOP, MPI_COMM_WORLD);
            stopped[k] = 1;
        }
    for (;;) {
        int handled = 0;
        for (;;) {
            const double t_iter = rmt_draw_now(); /* counted as busy when a result is handled */
            /* one result is received at a time, without blocking: a large
             * message may need its sender's progress, and the master goes on
             * with its own draws meanwhile */
            int flag = 0;
            if (!rpending) {
                MPI_Status st;
                MPI_Message mh;
                MPI_Improbe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &flag, &mh, &st);
                if (!flag) break;
                MPI_Get_count(&st, MPI_BYTE, &rbytes);
                if ((size_t)rbytes > rcap) {
                    free(rbuf);
                    rbuf = malloc((size_t)rbytes);
                    rcap = rbuf ? (size_t)rbytes : 0;
                    if (!rbuf) {
                        s = RMT_ERR(RMT_ERUNTIME, "out of memory");
                        goto out;
                    }
                }
                rsource = st.MPI_SOURCE;
                MPI_Imrecv(rbuf, rbytes, MPI_BYTE, &mh, &rreq);
                rpending = 1;
            }
            MPI_Test(&rreq, &flag, MPI_STATUS_IGNORE);
            if (!flag) break;
            rpending = 0;
            int bytes = rbytes, w = rsource, k = w / ph->g;
            /* a batch: the header, the summed counts, then each draw's figures
             * and (for a draw that ran, when the point needs it) its spectrum */
            result_head h;
            if ((size_t)bytes < sizeof h) {
                s = RMT_ERR(RMT_ERUNTIME, "rank %d sent a truncated result (%d bytes)", w, bytes);
                goto out;
            }
            memcpy(&h, rbuf, sizeof h);
            if (h.point >= plan->npoints) {
                s = RMT_ERR(RMT_ERUNTIME, "rank %d sent a result for unknown point %u", w, h.point);
                goto out;
            }
            const rmt_point *pt = &plan->points[h.point];
            size_t off = sizeof h + (h.has_counts ? counts_bytes(pt) : 0);
            uint64_t nblocks = 0;
            if ((size_t)bytes < off) {
                s = RMT_ERR(RMT_ERUNTIME, "rank %d sent a truncated result (%d bytes)", w, bytes);
                goto out;
            }
            while (off < (size_t)bytes) {
                rmt_draw_figs f;
                if ((size_t)bytes - off < sizeof f) {
                    s = RMT_ERR(RMT_ERUNTIME, "rank %d sent a truncated result (%d bytes)", w, bytes);
                    goto out;
                }
                memcpy(&f, rbuf + off, sizeof f);
                size_t blk = block_bytes(pt, &f);
                if (f.point != h.point || (size_t)bytes - off < blk) {
                    s = RMT_ERR(RMT_ERUNTIME, "rank %d sent a malformed result of %d bytes for point %u", w, bytes,
                                h.point);
                    goto out;
                }
                const double *ev = blk > sizeof f && rmt_stats_needs_spectra(&pt->stat)
                                       ? (const double *)(rbuf + off + sizeof f)
                                       : NULL;
                if (f.status == RMT_STATUS_SKIPPED) {
                    /* a signalled worker: not a result; stop the run here too */
                    if (!stop_signal) stop_signal = SIGTERM;
                } else if ((s = rmt_results_add(res, &f, NULL, ev))) {
                    goto out;
                }
                off += blk;
                nblocks++;
            }
            if (h.has_counts) rmt_results_add_counts(res, h.point, (const uint64_t *)(rbuf + sizeof h));
            res->master_received += nblocks;
            queued[k] -= nblocks < queued[k] ? nblocks : queued[k];
            queued_all -= nblocks < queued_all ? nblocks : queued_all;
            outstanding[k]--;
            in_flight--;
            handled = 1;
            /* refill, but toward the end never past this group's share of
             * what is left (queued everywhere plus unassigned), so the last
             * draws are not queued behind one group while others idle; the
             * master, between its own draws here, takes what it keeps */
            uint64_t bs = rmt_farm_batch(batch_size(plan, res, ph->g, &cur), left, queued_all, queued[k], sharers);
            if (!stop_signal && more && bs == 0) {
                /* over its share: let it work through its queue first */
            } else if (!stop_signal && more && (more = next_batch(plan, res, ph->g, &cur, (uint32_t)bs, task))) {
                MPI_Send(task, 3, MPI_UINT32_T, w, TAG_TASK, MPI_COMM_WORLD);
                tail[k] = rmt_ensemble_flops(&plan->points[task[0]].ens);
                queued[k] += task[2];
                queued_all += task[2];
                left -= task[2];
                outstanding[k]++;
                in_flight++;
            } else if (!stopped[k] && !stop_signal) {
                MPI_Send(task, 3, MPI_UINT32_T, w, TAG_STOP, MPI_COMM_WORLD);
                stopped[k] = 1;
            }
            res->master_busy_s += rmt_draw_now() - t_iter;
        }
        take_signals();
        if (stop_signal) break;
        if (o->max_failures >= 0 && (int64_t)(res->failed_draws - m->failed_before) > o->max_failures) {
            if ((s = checkpoint(m, CKPT_STOP))) goto out;
            s = RMT_ERR(RMT_ERUNTIME,
                        "%llu draws failed, more than max_failures = %lld; stopped (see draws/status in %s; "
                        "--resume goes on, counting failures afresh)",
                        (unsigned long long)(res->failed_draws - m->failed_before), (long long)o->max_failures,
                        o->output_path);
            goto out;
        }
        progress_show(&m->pg, res, 0);
        /* by time: every checkpoint_seconds, but never sooner than
         * CKPT_SPACING times what the next one is expected to take (the last
         * of its kind), since a full checkpoint rewrites every row so far and
         * the groups wait meanwhile: on a long, large run they would
         * otherwise come to take all the time */
        if ((o->checkpoint_seconds > 0 &&
             rmt_draw_now() - m->last_ckpt >= fmax(o->checkpoint_seconds, CKPT_SPACING * checkpoint_cost(m))) ||
            (o->checkpoint_draws > 0 && (int64_t)(res->done_draws - m->last_ckpt_draws) >= o->checkpoint_draws)) {
            if ((s = checkpoint(m, CKPT_DUE))) goto out;
            m->last_ckpt = rmt_draw_now();
        }
        if (handled) continue;
        cursor peek = cur;
        uint32_t ptask[2] = {0, 0};
        if (more && !next_task(plan, res, ph->g, &peek, ptask)) more = 0;
        own_state os = own ? own_get(own) : OWN_IDLE;
        if (os == OWN_DONE) {
            if ((s = own_collect(own, res))) goto out;
            continue;
        }
        if (own && os == OWN_IDLE && more) {
            /* the thread is free: give it the next batch, sized as a
             * group's. Its draws are not counted in queued_all: where a
             * group's result comes with the thread's end (equal draws), or
             * just before it, the group would otherwise be refilled past
             * its share and end the run a draw late (6 draws on 2 ranks: 4
             * draw times instead of 3; counting only the draws of the batch
             * not yet run, 5.8 s instead of 4.4 s in bench/ab "large", the
             * thread's last draw being a few ms from its end). The batch is
             * at most a twelfth of a fair share (rmt_farm_batch), so the
             * groups' shares are off by no more than that. */
            uint64_t nat = natural_batch(plan, res, ph->g, cur.p, cur.d, OWN_BATCH_SECONDS);
            uint64_t bs = rmt_farm_batch(nat, left, queued_all, 0, sharers);
            if ((more = next_batch(plan, res, ph->g, &cur, (uint32_t)bs, task))) {
                left -= task[2];
                own_post(own, plan, task);
                continue;
            }
        }
        if (!own && computes && more &&
            rmt_farm_master_may_compute(rmt_ensemble_flops(&plan->points[ptask[0]].ens), tail, outstanding, ng)) {
            cur = peek;
            left--;
            if ((s = compute_local(m, ph, ctx, ptask))) goto out;
            continue;
        }
        if (!more) {
            for (int k = 1; k < ng; k++)
                if (!stopped[k]) {
                    MPI_Send(task, 3, MPI_UINT32_T, k * ph->g, TAG_STOP, MPI_COMM_WORLD);
                    stopped[k] = 1;
                }
            if (in_flight == 0 && os == OWN_IDLE) break;
        }
        /* nothing to do: yield the core rather than spin; while the thread
         * runs a batch, wake when it ends, or after 2 ms to answer the
         * groups (they hold 2 batches of an estimated 20 ms each, which
         * can be 3x less: Wishart n = 500 on 2 ranks took 6 % longer with
         * 5 ms; 0.5 ms cost 2 % of a run), or after 20 ms with no groups */
        if (os == OWN_TASK) {
            own_wait(own, ng > 1 ? 2e-3 : 20e-3);
        } else {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
    }
    if (stop_signal) {
        if (o->progress == RMT_PROGRESS_BAR) fputc('\n', stderr);
        /* tell every group to stop after the draw in hand, those sent
         * TAG_STOP with draws still queued too, before the checkpoint is
         * written (no draw starts meanwhile); their late results are
         * drained and dropped while the phase ends (they are not in the
         * checkpoint) */
        for (int k = 1; k < ng; k++) MPI_Send(task, 3, MPI_UINT32_T, k * ph->g, TAG_HALT, MPI_COMM_WORLD);
        if ((s = own_drain(own, res))) goto out;
        /* a checkpoint that holds every draw (one being written when the
         * signal came, or the file a resume just read) is not written again */
        if (!(m->have_ckpt && m->last_ckpt_draws == res->done_draws) && (s = checkpoint(m, CKPT_STOP))) goto out;
        uint32_t msg[3] = {0, 0, 0};
        group_bcast(ph, msg);
        s = RMT_ERR(RMT_EINTERRUPT, "stopped by signal %d after %llu of %llu draws; checkpoint in %s (continue with --resume)",
                    (int)stop_signal, (unsigned long long)res->done_draws, (unsigned long long)res->total_draws,
                    o->output_path);
        goto out;
    }
    /* the master's own group goes on to the next phase */
    uint32_t msg[3] = {0, 0, 0};
    group_bcast(ph, msg);
out:
    own_end(own);
    if (rpending) MPI_Wait(&rreq, MPI_STATUS_IGNORE); /* rbuf is in use until then */
    free(outstanding);
    free(queued);
    free(tail);
    free(stopped);
    free(rbuf);
    return s;
}

/* ----------------------------------------------------------------- run */

/* Seconds the groups get to finish the draw in hand after a stop, before
 * the job is ended with MPI_Abort (Slurm's default KillWait is 30 s). */
#define STOP_GRACE 20.0

/* Receive and drop whatever results are waiting (after a stop). */
static void drain_results(void)
{
    for (;;) {
        int flag = 0, bytes = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &flag, &st);
        if (!flag) return;
        MPI_Get_count(&st, MPI_BYTE, &bytes);
        char *buf = malloc(bytes > 0 ? (size_t)bytes : 1);
        if (!buf) return; /* left for MPI_Finalize; the job ends anyway */
        MPI_Recv(buf, bytes, MPI_BYTE, st.MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        free(buf);
    }
}

/* Each rank's peak resident memory, gathered to the master (bytes). */
static void gather_rss(rmt_results *res, int rank, int size)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    int64_t mine = (int64_t)ru.ru_maxrss * 1024; /* Linux reports KiB */
    int64_t *all = rank == 0 ? calloc((size_t)size, sizeof(int64_t)) : NULL;
    /* out of memory on rank 0: the file goes without peak_rss */
    int have = rank != 0 || all;
    MPI_Bcast(&have, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!have) return;
    MPI_Gather(&mine, 1, MPI_INT64_T, all, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
    if (rank == 0 && all) {
        free(res->peak_rss);
        res->peak_rss = all;
        res->nranks = size;
    }
}

rmt_status rmt_farm_run(const rmt_plan *plan, rmt_results *res, const rmt_farm_opts *opts)
{
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* the phases: the distinct ranks_per_draw of the points, ascending (the
     * master broadcasts its slice of the points, which decides them) */
    uint32_t range[2] = {res ? res->p_begin : 0, res ? res->p_end : 0};
    MPI_Bcast(range, 2, MPI_UINT32_T, 0, MPI_COMM_WORLD);
    rmt_draw_ctx *ctx = rmt_draw_create();
    if (!ctx) {
        fprintf(stderr, "rmtmc: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    master_state m;
    memset(&m, 0, sizeof m);
    {
        /* the cores of rank 0's node, for its final write (checkpoint) */
        MPI_Comm node;
        cpu_set_t mine;
        CPU_ZERO(&mine);
        int ok = sched_getaffinity(0, sizeof mine, &mine) == 0, all = 0;
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
        MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, node);
        MPI_Reduce(&mine, &m.node_cores, (int)sizeof mine, MPI_BYTE, MPI_BOR, 0, node);
        m.have_node_cores = all && CPU_COUNT(&m.node_cores) > 0;
        MPI_Comm_free(&node);
    }
    if (rank == 0) {
        m.plan = plan;
        m.res = res;
        m.o = opts;
        m.pg = (progress){opts->progress, rmt_draw_now(), rmt_draw_now(), res->done_draws, size};
        m.last_ckpt = rmt_draw_now();
        m.last_ckpt_draws = res->done_draws;
        m.failed_before = res->failed_draws;
        m.have_ckpt = res->restored;
        /* a resumed run continues the journal its file names (the intact
         * part rmt_journal_replay applied); any other is stale. A run
         * starts one once a full checkpoint is slow (checkpoint). */
        if (res->ckpt_id && res->journal_keep) {
            rmt_status js = rmt_journal_open(opts->output_path, res->ckpt_id, res->journal_keep, &res->journal);
            if (js) fprintf(stderr, "rmtmc: %s; every checkpoint rewrites the whole file\n", rmt_err_message());
            /* its file was slow to write (it has a journal): a guess, until
             * the next full checkpoint is timed */
            m.full_cost = 2.0 * journal_from() + 1e-3;
            m.last_full = rmt_draw_now();
            m.file_bytes = 0;
            struct stat sb;
            if (stat(opts->output_path, &sb) == 0) m.file_bytes = (double)sb.st_size;
        } else {
            /* a journal a resume did not use is stale: say so as it goes */
            if (rmt_journal_remove(opts->output_path) && res->restored)
                fprintf(stderr, "rmtmc: note: %s.journal does not extend %s's checkpoint (an older one, or damaged): "
                        "removed\n", opts->output_path, opts->output_path);
        }
    }
    rmt_status s = RMT_OK;
    int g = 0;
    const double t_run = rmt_draw_now();
    for (;;) {
        /* next group size above g present in the slice */
        int next = 0;
        for (uint32_t p = range[0]; p < range[1]; p++) {
            int q = plan->points[p].ranks_per_draw;
            if (q > g && (next == 0 || q < next)) next = q;
        }
        if (next == 0) break;
        g = next;
        phase ph;
        s = phase_begin(&ph, g, rank, size);
        if (!s) {
            if (rank == 0) s = master_phase(&m, &ph, ctx, size);
            else if (ph.groups * g <= rank) s = RMT_OK; /* sits this phase out */
            else if (rank % g == 0) s = leader(plan, &ph, ctx);
            else s = member(plan, &ph, ctx);
        }
        if (s != RMT_OK && s != RMT_EINTERRUPT && size > 1) {
            /* a failure: others may be deep in a draw; end the job now, what
             * is on disk is the last checkpoint */
            fprintf(stderr, "rmtmc: %s\n", rmt_err_message());
            fflush(stderr);
            MPI_Abort(MPI_COMM_WORLD, (int)s);
        }
        /* wait for the phase to end everywhere without spinning: ranks that
         * sat out (or finished early) must not take cores from those working.
         * After a stop the master drops late results meanwhile, and ends the
         * job the hard way if the groups take longer than STOP_GRACE. */
        MPI_Request req;
        MPI_Ibarrier(MPI_COMM_WORLD, &req);
        double t0 = rmt_draw_now();
        int said = 0;
        for (int done = 0; !done;) {
            MPI_Test(&req, &done, MPI_STATUS_IGNORE);
            if (done) break;
            if (rank != 0) {
                report_signal();
                /* a stop sent after this leader's last task: take it */
                int flag = 0;
                MPI_Iprobe(0, TAG_HALT, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
                if (flag) {
                    uint32_t h[3];
                    MPI_Recv(h, 3, MPI_UINT32_T, 0, TAG_HALT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                }
            }
            if (rank == 0) take_signals(); /* a stop, if another phase follows */
            if (rank == 0 && s == RMT_EINTERRUPT) {
                drain_results();
                if (!said && rmt_draw_now() - t0 > 1.0) {
                    /* a batch log shows why the job has not ended yet */
                    fprintf(stderr, "rmtmc: checkpoint written; waiting up to %.0f s for the other ranks to finish "
                            "the draws in hand\n", STOP_GRACE);
                    fflush(stderr);
                    said = 1;
                }
                if (rmt_draw_now() - t0 > STOP_GRACE) {
                    fprintf(stderr, "rmtmc: %s\n", rmt_err_message());
                    fflush(stderr);
                    MPI_Abort(MPI_COMM_WORLD, (int)s);
                }
            }
            struct timespec ts = {0, 500000};
            nanosleep(&ts, NULL);
        }
        /* every rank learns whether the run goes on (a stop is decided by the master) */
        int code = rank == 0 ? (int)s : 0;
        MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (rank != 0 && code != 0) s = (rmt_status)code;
        phase_end(&ph);
        if (s) break;
    }
    rmt_draw_destroy(ctx);
    /* every report is received before MPI_Finalize (those sent late too) */
    int nsent = 0;
    MPI_Reduce(&signal_sent, &nsent, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    for (; rank == 0 && signals_taken < nsent; signals_taken++) {
        int v = 0;
        MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, TAG_SIGNAL, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    MPI_Wait(&signal_req, MPI_STATUS_IGNORE);
    if (s) return s;
    gather_rss(res, rank, size);
    if (rank != 0) return RMT_OK;
    progress_show(&m.pg, res, 1);
    res->master_run_s = rmt_draw_now() - t_run;
    return checkpoint(&m, CKPT_FINAL);
}
