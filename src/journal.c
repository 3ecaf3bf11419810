#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "RMTJRNL1"
enum { REC_DRAW = 1, REC_COUNTS = 2, REC_COMMIT = 3 };

typedef struct {
    char magic[8];
    uint64_t id;         /* the HDF5 checkpoint this journal extends */
    uint64_t figs_bytes; /* sizeof(rmt_draw_figs) of the writer */
} header;

typedef struct {
    uint32_t type, point;
    uint64_t len; /* payload bytes, a multiple of 8 */
} rec_head;

struct rmt_journal {
    char *path;
    FILE *f;
    uint64_t bytes;  /* written so far */
    uint64_t sum;    /* checksum of the records since the last commit */
    int failed;      /* errno of a failed write, 0 if none */
};

/* A checksum over 8-byte words: cheap beside the draws (a 209-byte row is
 * 27 multiplications), and enough to tell a torn tail from a commit. */
static uint64_t mix(uint64_t h, const void *p, uint64_t len)
{
    const unsigned char *b = p;
    for (uint64_t i = 0; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
    }
    return h;
}

char *rmt_journal_path(const char *h5path)
{
    size_t len = strlen(h5path) + sizeof ".journal";
    char *p = malloc(len);
    if (p) snprintf(p, len, "%s.journal", h5path);
    return p;
}

uint64_t rmt_journal_new_id(void)
{
    uint64_t id = 0;
    if (getrandom(&id, sizeof id, 0) != (ssize_t)sizeof id) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        id = ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40);
    }
    id &= 0x7fffffffffffffffull; /* an int64 attribute of the file */
    return id ? id : 1;
}

static void put(rmt_journal *j, const void *p, uint64_t len)
{
    if (j->failed || len == 0) return;
    if (fwrite(p, 1, (size_t)len, j->f) != (size_t)len) j->failed = errno ? errno : EIO;
    j->sum = mix(j->sum, p, len);
    j->bytes += len;
}

static rmt_status start(rmt_journal *j, uint64_t id)
{
    header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, 8);
    h.id = id;
    h.figs_bytes = sizeof(rmt_draw_figs);
    j->bytes = 0;
    j->sum = 0;
    j->failed = 0;
    put(j, &h, sizeof h);
    j->sum = 0; /* commits check the records, not the header */
    return rmt_journal_commit(j);
}

rmt_status rmt_journal_open(const char *h5path, uint64_t id, uint64_t keep, rmt_journal **out)
{
    rmt_journal *j = calloc(1, sizeof *j);
    if (!j || !(j->path = rmt_journal_path(h5path))) {
        free(j);
        return RMT_ERR(RMT_ERUNTIME, "out of memory");
    }
    if (keep > 0 && truncate(j->path, (off_t)keep) != 0) keep = 0; /* start afresh */
    j->f = fopen(j->path, keep > 0 ? "ab" : "wb");
    if (!j->f) {
        rmt_status s = RMT_ERR(RMT_ERUNTIME, "%s: cannot create: %s", j->path, strerror(errno));
        free(j->path);
        free(j);
        return s;
    }
    setvbuf(j->f, NULL, _IOFBF, (size_t)1 << 20);
    rmt_status s = RMT_OK;
    if (keep > 0) j->bytes = keep;
    else s = start(j, id);
    if (s) {
        rmt_journal_close(j, 1);
        return s;
    }
    *out = j;
    return RMT_OK;
}

void rmt_journal_draw(rmt_journal *j, const rmt_draw_figs *f, const double *eig, int64_t n)
{
    rec_head h = {REC_DRAW, f->point, sizeof *f + (eig ? sizeof(double) * (uint64_t)n : 0)};
    put(j, &h, sizeof h);
    put(j, f, sizeof *f);
    if (eig) put(j, eig, sizeof(double) * (uint64_t)n);
}

void rmt_journal_counts(rmt_journal *j, uint32_t point, const uint64_t *counts, int64_t nc)
{
    if (nc <= 0) return;
    rec_head h = {REC_COUNTS, point, sizeof(uint64_t) * (uint64_t)nc};
    put(j, &h, sizeof h);
    put(j, counts, h.len);
}

rmt_status rmt_journal_commit(rmt_journal *j)
{
    uint64_t sum = j->sum;
    rec_head h = {REC_COMMIT, 0, sizeof sum};
    put(j, &h, sizeof h);
    put(j, &sum, sizeof sum);
    j->sum = 0;
    if (!j->failed && fflush(j->f) != 0) j->failed = errno ? errno : EIO;
    if (!j->failed && fdatasync(fileno(j->f)) != 0) j->failed = errno ? errno : EIO;
    if (j->failed) return RMT_ERR(RMT_ERUNTIME, "%s: writing the checkpoint's journal failed: %s", j->path,
                                  strerror(j->failed));
    return RMT_OK;
}

rmt_status rmt_journal_restart(rmt_journal *j, uint64_t id)
{
    if (fflush(j->f) != 0 || ftruncate(fileno(j->f), 0) != 0 || fseek(j->f, 0, SEEK_SET) != 0)
        return RMT_ERR(RMT_ERUNTIME, "%s: cannot truncate: %s", j->path, strerror(errno));
    return start(j, id);
}

int rmt_journal_remove(const char *h5path)
{
    char *p = rmt_journal_path(h5path);
    int gone = p && unlink(p) == 0;
    free(p);
    return gone;
}

uint64_t rmt_journal_bytes(const rmt_journal *j) { return j ? j->bytes : 0; }

void rmt_journal_close(rmt_journal *j, int remove)
{
    if (!j) return;
    if (j->f) fclose(j->f);
    if (remove) unlink(j->path);
    free(j->path);
    free(j);
}

/* Apply a verified segment seg[0..len) (its records, the commit excluded)
 * to r. 1 when a draw in it is already recorded (the segment again, or a
 * part that overlaps another): nothing of it is applied, so no draw's
 * counts are added twice. */
static int apply_segment(rmt_results *r, const char *seg, uint64_t len, uint64_t *draws)
{
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: every draw new (and once in the segment); pass 1: apply */
        for (uint64_t at = 0; at < len;) {
            rec_head h;
            memcpy(&h, seg + at, sizeof h);
            const char *body = seg + at + sizeof h;
            at += sizeof h + h.len;
            if (h.type == REC_COUNTS) {
                if (pass) rmt_results_add_counts(r, h.point, (const uint64_t *)(const void *)body);
                continue;
            }
            rmt_draw_figs fg;
            memcpy(&fg, body, sizeof fg);
            rmt_point_result *p = &r->pts[fg.point];
            if (!pass) {
                if (p->have && p->have[fg.draw]) return 1;
                if (p->have) p->have[fg.draw] = 2; /* seen in this segment */
                continue;
            }
            if (p->have) p->have[fg.draw] = 0;
            uint64_t before = r->done_draws;
            const double *eig = h.len > sizeof fg ? (const double *)(const void *)(body + sizeof fg) : NULL;
            (void)rmt_results_add(r, &fg, NULL, eig);
            *draws += r->done_draws - before;
        }
    }
    return 0;
}

/* Undo pass 0's marks of a segment that is not applied. */
static void unmark_segment(rmt_results *r, const char *seg, uint64_t len)
{
    for (uint64_t at = 0; at < len;) {
        rec_head h;
        memcpy(&h, seg + at, sizeof h);
        if (h.type == REC_DRAW) {
            rmt_draw_figs fg;
            memcpy(&fg, seg + at + sizeof h, sizeof fg);
            rmt_point_result *p = &r->pts[fg.point];
            if (p->have && p->have[fg.draw] == 2) p->have[fg.draw] = 0;
        }
        at += sizeof h + h.len;
    }
}

rmt_status rmt_journal_replay(const char *h5path, uint64_t id, rmt_results *r, uint64_t *draws, uint64_t *keep,
                              int *overlap)
{
    *draws = 0;
    *keep = 0;
    *overlap = 0;
    char *path = rmt_journal_path(h5path);
    if (!path) return RMT_ERR(RMT_ERUNTIME, "out of memory");
    FILE *f = id ? fopen(path, "rb") : NULL;
    free(path);
    if (!f) return RMT_OK;
    const rmt_plan *plan = r->plan;
    header hd;
    char *seg = NULL; /* the records since the last commit, applied once it verifies */
    uint64_t len = 0, cap = 0, at = sizeof hd, sum = 0;
    rmt_status s = RMT_OK;
    if (fread(&hd, sizeof hd, 1, f) != 1 || memcmp(hd.magic, MAGIC, 8) || hd.id != id ||
        hd.figs_bytes != sizeof(rmt_draw_figs))
        goto out;
    for (;;) {
        rec_head h;
        if (fread(&h, sizeof h, 1, f) != 1) break;
        /* the length a record of its kind has (else a torn or damaged tail) */
        uint64_t want_len = 0;
        if (h.type == REC_COMMIT) {
            want_len = sizeof(uint64_t);
        } else if (h.point < plan->npoints && h.type == REC_DRAW) {
            want_len = sizeof(rmt_draw_figs);
            if (h.len != want_len) want_len += sizeof(double) * (uint64_t)plan->points[h.point].ens.n;
        } else if (h.point < plan->npoints && h.type == REC_COUNTS) {
            want_len = sizeof(uint64_t) * (uint64_t)rmt_stats_ncounts(&plan->points[h.point].stat);
        }
        if (want_len == 0 || h.len != want_len) break;
        if (h.type == REC_COMMIT) {
            uint64_t want;
            if (fread(&want, sizeof want, 1, f) != 1 || want != sum) break;
            if (apply_segment(r, seg, len, draws)) {
                unmark_segment(r, seg, len);
                *overlap = 1;
                break;
            }
            at += sizeof h + h.len + len;
            *keep = at;
            len = 0;
            sum = 0;
            continue;
        }
        if (len + sizeof h + h.len > cap) {
            uint64_t c = 2 * (len + sizeof h + h.len);
            char *b = realloc(seg, (size_t)c);
            if (!b) {
                s = RMT_ERR(RMT_ERUNTIME, "out of memory reading the journal of %s", h5path);
                break;
            }
            seg = b;
            cap = c;
        }
        memcpy(seg + len, &h, sizeof h);
        if (fread(seg + len + sizeof h, (size_t)h.len, 1, f) != 1) break;
        sum = mix(sum, seg + len, sizeof h + h.len);
        rmt_draw_figs fg;
        if (h.type == REC_DRAW) {
            memcpy(&fg, seg + len + sizeof h, sizeof fg);
            if (fg.point != h.point || fg.draw >= plan->points[h.point].draws) break;
        }
        len += sizeof h + h.len;
    }
out:
    free(seg);
    fclose(f);
    return s;
}
