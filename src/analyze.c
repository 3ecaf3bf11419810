#include "analyze.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "results.h"
#include "stats.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Text spectra: one per line, numbers separated by blanks or commas; blank
 * lines and lines starting with '#' are skipped. Every row must have the
 * same length. */
static rmt_status read_text(const char *path, int64_t *rows, int64_t *cols, double **data)
{
    FILE *f = fopen(path, "r");
    if (!f) return RMT_ERR(RMT_EUSAGE, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, used = 0, alloc = 0;
    double *v = NULL;
    int64_t r = 0, c = -1, lineno = 0;
    rmt_status s = RMT_OK;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0') continue;
        int64_t k = 0;
        int comma = 0; /* a comma since the last value */
        for (;;) {
            while (*p == ' ' || *p == '\t') p++;
            int eol = *p == '\n' || *p == '\r' || *p == '\0';
            if ((*p == ',' && (comma || k == 0)) || (eol && comma)) {
                s = RMT_ERR(RMT_EUSAGE, "%s: line %lld: an empty field (a comma with no value %s it)", path,
                            (long long)lineno, k == 0 && !comma ? "before" : "after");
                goto out;
            }
            if (*p == ',') {
                comma = 1;
                p++;
                continue;
            }
            if (eol) break;
            comma = 0;
            char *end;
            double x = strtod(p, &end);
            if (end == p) {
                int len = (int)strcspn(p, " \t,\r\n");
                s = RMT_ERR(RMT_EUSAGE, "%s: line %lld: not a number: \"%.*s\"", path, (long long)lineno,
                            len > 24 ? 24 : len, p);
                goto out;
            }
            if (!isfinite(x)) {
                s = RMT_ERR(RMT_EUSAGE, "%s: line %lld: non-finite value", path, (long long)lineno);
                goto out;
            }
            if (used == alloc) {
                alloc = alloc ? 2 * alloc : 4096;
                double *g = realloc(v, sizeof(double) * alloc);
                if (!g) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }
                v = g;
            }
            v[used++] = x;
            k++;
            p = end;
        }
        if (c < 0) c = k;
        else if (k != c) {
            s = RMT_ERR(RMT_EUSAGE, "%s: line %lld has %lld values, the first spectrum %lld (ragged rows)", path,
                        (long long)lineno, (long long)k, (long long)c);
            goto out;
        }
        r++;
    }
    if (r == 0) s = RMT_ERR(RMT_EUSAGE, "%s: no spectra (empty file)", path);
out:
    free(line);
    fclose(f);
    if (s) {
        free(v);
        return s;
    }
    *rows = r;
    *cols = c;
    *data = v;
    return RMT_OK;
}

rmt_status rmt_analyze_run(const rmt_analyze_opts *o)
{
    int64_t rows = 0, cols = 0;
    double *data = NULL;
    rmt_plan *plan = NULL;
    rmt_results *res = NULL;
    uint64_t *counts = NULL;
    rmt_status s;
    if (rmt_h5in_is_hdf5(o->input))
        s = rmt_h5in_read_2d(o->input, o->dataset ? o->dataset : "hessian_evals", &rows, &cols, &data);
    else
        s = read_text(o->input, &rows, &cols, &data);
    if (s) return s;
    if (rows > UINT32_MAX) {
        free(data);
        return RMT_ERR(RMT_EUSAGE, "%s: more than 2^32 - 1 spectra", o->input);
    }
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < rows * cols; i++) {
        if (!isfinite(data[i])) {
            s = RMT_ERR(RMT_EUSAGE, "%s: spectrum %lld holds a non-finite value at position %lld", o->input,
                        (long long)(i / cols), (long long)(i % cols));
            goto out;
        }
        lo = fmin(lo, data[i]);
        hi = fmax(hi, data[i]);
    }
    char source[512];
    snprintf(source, sizeof source, "%s%s%s", o->input, rmt_h5in_is_hdf5(o->input) ? ":" : "",
             rmt_h5in_is_hdf5(o->input) ? (o->dataset ? o->dataset : "hessian_evals") : "");
    char ignored[256];
    if ((s = rmt_config_load_analyze(o->config, source, cols, (uint32_t)rows, lo, hi, ignored, sizeof ignored, &plan)))
        goto out;
    if (ignored[0]) fprintf(stderr, "rmtmc: note: %s: analyze leaves aside what only a run uses: %s\n", o->config, ignored);
    /* more spectra than eigenvalues in each is the shape of a transposed file */
    printf("%s: %lld spectr%s of %lld eigenvalues%s\n", source, (long long)rows, rows == 1 ? "um" : "a",
           (long long)cols, rows > cols ? " (one spectrum per row; a file with one per column needs transposing)" : "");
    if ((s = rmt_results_create(plan, 0, 0, &res))) goto out;
    if (!o->config && rows < 2)
        fprintf(stderr, "rmtmc: one spectrum: its spacings are unfolded by a fitted polynomial (pool unfolding needs "
                "2 or more; -c CONFIG chooses)\n");
    const rmt_point *pt = &plan->points[0];
    counts = calloc((size_t)rmt_stats_ncounts(&pt->stat) + 1, sizeof(uint64_t));
    if (!counts) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }
    for (int64_t r = 0; r < rows; r++) {
        double *w = data + (size_t)r * (size_t)cols;
        qsort(w, (size_t)cols, sizeof(double), cmp_double);
        rmt_draw_figs f;
        memset(&f, 0, sizeof f);
        memset(counts, 0, sizeof(uint64_t) * (size_t)rmt_stats_ncounts(&pt->stat));
        f.draw = (uint32_t)r;
        rmt_stats_draw(&pt->stat, cols, w, &f, counts);
        if ((s = rmt_results_add(res, &f, counts, w))) goto out;
    }
    if ((s = rmt_results_finalize(res))) goto out;
    s = rmt_h5out_write(o->output, res, &o->meta, 1);
    if (!s) rmt_results_print_local(res, stdout, stderr, o->output);
out:
    free(counts);
    free(data);
    rmt_results_destroy(res);
    rmt_plan_destroy(plan);
    return s;
}
