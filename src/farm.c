#include "farm.h"

#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "draw.h"

enum { TAG_TASK = 1, TAG_STOP = 2, TAG_RESULT = 3 };

/* With at most this many ranks the master computes draws as well as
 * dispatching: a laptop or a node keeps every core busy. Beyond it the
 * master only dispatches, so it answers a large farm without delay. */
#define MASTER_COMPUTES_MAX_RANKS 16

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

void rmt_farm_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Bytes of one result message for point pt. */
static size_t result_bytes(const rmt_point *pt)
{
    return sizeof(rmt_draw_figs) + sizeof(uint64_t) * (size_t)rmt_stats_ncounts(&pt->stat) +
           (rmt_stats_needs_spectra(&pt->stat) ? sizeof(double) * (size_t)pt->ens.n : 0);
}

/* The next draw not yet done, in (point, draw) order. */
typedef struct {
    uint32_t p, d;
} cursor;

static int next_task(const rmt_plan *plan, const rmt_results *res, cursor *c, uint32_t task[2])
{
    while (c->p < plan->npoints) {
        const rmt_point *pt = &plan->points[c->p];
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

/* ------------------------------------------------------------ progress */

typedef struct {
    rmt_progress mode;
    double start, last;
    uint64_t start_done;
} progress;

static void progress_show(progress *pg, const rmt_results *res, int final)
{
    if (pg->mode == RMT_PROGRESS_NONE) return;
    double t = now();
    double every = pg->mode == RMT_PROGRESS_BAR ? 0.2 : 10.0;
    if (!final && t - pg->last < every) return;
    pg->last = t;
    uint64_t done = res->done_draws, total = res->total_draws;
    double rate = (t - pg->start) > 0 ? (double)(done - pg->start_done) / (t - pg->start) : 0;
    double left = rate > 0 ? (double)(total - done) / rate : NAN;
    if (pg->mode == RMT_PROGRESS_BAR) {
        int width = 30, fill = total ? (int)((double)width * (double)done / (double)total) : width;
        char bar[64];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r[%s] %llu/%llu draws  %.1f/s  ETA %.0fs   ", bar, (unsigned long long)done,
                (unsigned long long)total, rate, isfinite(left) ? left : 0.0);
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "rmtmc: %llu/%llu draws (%.1f%%), %.2f draws/s, %s%.0f s left, %llu failed\n",
                (unsigned long long)done, (unsigned long long)total, total ? 100.0 * (double)done / (double)total : 100.0,
                rate, isfinite(left) ? "" : "~", isfinite(left) ? left : 0.0, (unsigned long long)res->failed_draws);
    }
    fflush(stderr);
}

/* -------------------------------------------------------------- worker */

static rmt_status worker(const rmt_plan *plan)
{
    rmt_draw_ctx *ctx = rmt_draw_create();
    size_t cap = 0;
    char *buf = NULL;
    rmt_status s = RMT_OK;
    if (!ctx) return RMT_ERR(RMT_ERUNTIME, "out of memory");
    for (;;) {
        uint32_t task[2];
        MPI_Status st;
        MPI_Recv(task, 2, MPI_UINT32_T, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
        if (st.MPI_TAG == TAG_STOP) break;
        const rmt_point *pt = &plan->points[task[0]];
        size_t need = result_bytes(pt);
        if (need > cap) {
            free(buf);
            buf = malloc(need);
            cap = buf ? need : 0;
        }
        rmt_draw_figs f;
        int ok = buf != NULL;
        if (ok) {
            uint64_t *counts = (uint64_t *)(buf + sizeof f);
            double *eig = rmt_stats_needs_spectra(&pt->stat) ? (double *)(counts + rmt_stats_ncounts(&pt->stat)) : NULL;
            ok = rmt_draw_run(ctx, pt, task[1], &f, counts, eig) == RMT_OK;
        }
        if (!ok) {
            /* a resource failure on this rank: report the draw as failed (status -2) */
            fprintf(stderr, "rmtmc: rank draw %u/%u: %s\n", task[0], task[1], rmt_err_message());
            rmt_err_clear();
            memset(&f, 0, sizeof f);
            f.point = task[0];
            f.draw = task[1];
            f.status = -2;
            MPI_Send(&f, (int)sizeof f, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD);
            continue;
        }
        memcpy(buf, &f, sizeof f);
        MPI_Send(buf, (int)need, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD);
    }
    free(buf);
    rmt_draw_destroy(ctx);
    return s;
}

/* -------------------------------------------------------------- master */

static rmt_status checkpoint(rmt_results *res, const rmt_farm_opts *o, int complete)
{
    RMT_TRY(rmt_results_finalize(res));
    return rmt_h5out_write(o->output_path, res, &o->meta, complete);
}

/* Compute one draw on the master and record it. */
static rmt_status compute_local(rmt_draw_ctx *ctx, const rmt_plan *plan, rmt_results *res, const uint32_t task[2],
                                uint64_t **counts, size_t *ccap, double **eig, size_t *ecap)
{
    const rmt_point *pt = &plan->points[task[0]];
    size_t nb = (size_t)rmt_stats_ncounts(&pt->stat), ne = rmt_stats_needs_spectra(&pt->stat) ? (size_t)pt->ens.n : 0;
    if (nb + 1 > *ccap) {
        free(*counts);
        *counts = malloc(sizeof(uint64_t) * (nb + 1));
        *ccap = *counts ? nb + 1 : 0;
    }
    if (ne > *ecap) {
        free(*eig);
        *eig = malloc(sizeof(double) * ne);
        *ecap = *eig ? ne : 0;
    }
    if (!*counts || (ne && !*eig)) return RMT_ERR(RMT_ERUNTIME, "out of memory");
    rmt_draw_figs f;
    RMT_TRY(rmt_draw_run(ctx, pt, task[1], &f, *counts, ne ? *eig : NULL));
    return rmt_results_add(res, &f, *counts, ne ? *eig : NULL);
}

static rmt_status master(const rmt_plan *plan, rmt_results *res, const rmt_farm_opts *o, int size)
{
    rmt_status s = RMT_OK;
    int computes = size <= MASTER_COMPUTES_MAX_RANKS;
    int depth = computes ? 3 : 2;
    rmt_draw_ctx *ctx = computes ? rmt_draw_create() : NULL;
    int *outstanding = calloc((size_t)size, sizeof(int));
    char *stopped = calloc((size_t)size, 1);
    size_t rcap = 0, ccap = 0, ecap = 0;
    char *rbuf = NULL;
    uint64_t *counts = NULL;
    double *eig = NULL;
    cursor cur = {0, 0};
    uint32_t task[2];
    long in_flight = 0;
    int more = 1;
    progress pg = {o->progress, now(), now(), res->done_draws};
    double last_ckpt = now();
    if ((computes && !ctx) || !outstanding || !stopped) {
        s = RMT_ERR(RMT_ERUNTIME, "out of memory");
        goto out;
    }
    for (int w = 1; w < size; w++) {
        for (int q = 0; q < depth && more; q++) {
            more = next_task(plan, res, &cur, task);
            if (!more) break;
            MPI_Send(task, 2, MPI_UINT32_T, w, TAG_TASK, MPI_COMM_WORLD);
            outstanding[w]++;
            in_flight++;
        }
        if (!more) {
            MPI_Send(task, 2, MPI_UINT32_T, w, TAG_STOP, MPI_COMM_WORLD);
            stopped[w] = 1;
        }
    }
    for (;;) {
        int handled = 0;
        for (;;) {
            int flag = 0;
            MPI_Status st;
            MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &flag, &st);
            if (!flag) break;
            int bytes = 0;
            MPI_Get_count(&st, MPI_BYTE, &bytes);
            if ((size_t)bytes > rcap) {
                free(rbuf);
                rbuf = malloc((size_t)bytes);
                rcap = rbuf ? (size_t)bytes : 0;
                if (!rbuf) {
                    s = RMT_ERR(RMT_ERUNTIME, "out of memory");
                    goto out;
                }
            }
            int w = st.MPI_SOURCE;
            MPI_Recv(rbuf, bytes, MPI_BYTE, w, TAG_RESULT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            rmt_draw_figs f;
            memcpy(&f, rbuf, sizeof f);
            const rmt_point *pt = &plan->points[f.point < plan->npoints ? f.point : 0];
            const uint64_t *cts = (const uint64_t *)(rbuf + sizeof f);
            const double *ev = (size_t)bytes == result_bytes(pt) && rmt_stats_needs_spectra(&pt->stat)
                                   ? (const double *)(cts + rmt_stats_ncounts(&pt->stat))
                                   : NULL;
            if ((size_t)bytes != result_bytes(pt) && f.status == 0) {
                s = RMT_ERR(RMT_ERUNTIME, "rank %d sent a result of %d bytes for point %u", w, bytes, f.point);
                goto out;
            }
            if ((s = rmt_results_add(res, &f, cts, ev))) goto out;
            outstanding[w]--;
            in_flight--;
            handled = 1;
            if (!stop_signal && more && (more = next_task(plan, res, &cur, task))) {
                MPI_Send(task, 2, MPI_UINT32_T, w, TAG_TASK, MPI_COMM_WORLD);
                outstanding[w]++;
                in_flight++;
            } else if (!stopped[w] && !stop_signal) {
                MPI_Send(task, 2, MPI_UINT32_T, w, TAG_STOP, MPI_COMM_WORLD);
                stopped[w] = 1;
            }
        }
        if (stop_signal) break;
        progress_show(&pg, res, 0);
        if (o->checkpoint_seconds > 0 && now() - last_ckpt >= o->checkpoint_seconds) {
            if ((s = checkpoint(res, o, 0))) goto out;
            last_ckpt = now();
        }
        if (handled) continue;
        if (computes && more && (more = next_task(plan, res, &cur, task))) {
            if ((s = compute_local(ctx, plan, res, task, &counts, &ccap, &eig, &ecap))) goto out;
            continue;
        }
        if (!more) {
            for (int w = 1; w < size; w++)
                if (!stopped[w]) {
                    MPI_Send(task, 2, MPI_UINT32_T, w, TAG_STOP, MPI_COMM_WORLD);
                    stopped[w] = 1;
                }
            if (in_flight == 0) break;
        }
        /* nothing to do: yield the core to the workers rather than spin */
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    if (stop_signal) {
        if (o->progress == RMT_PROGRESS_BAR) fputc('\n', stderr);
        if ((s = checkpoint(res, o, 0))) goto out;
        s = RMT_ERR(RMT_EINTERRUPT, "stopped by signal %d after %llu of %llu draws; checkpoint in %s (continue with --resume)",
                    (int)stop_signal, (unsigned long long)res->done_draws, (unsigned long long)res->total_draws,
                    o->output_path);
        goto out;
    }
    progress_show(&pg, res, 1);
    s = checkpoint(res, o, res->done_draws == res->total_draws);
out:
    rmt_draw_destroy(ctx);
    free(outstanding);
    free(stopped);
    free(rbuf);
    free(counts);
    free(eig);
    return s;
}

rmt_status rmt_farm_run(const rmt_plan *plan, rmt_results *res, const rmt_farm_opts *opts)
{
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank != 0) return worker(plan);
    rmt_status s = master(plan, res, opts, size);
    if (s != RMT_OK && size > 1) {
        /* workers may be deep in a draw: end the job now; what is on disk is the checkpoint */
        fprintf(stderr, "rmtmc: %s\n", rmt_err_message());
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, (int)s);
    }
    return s;
}
