#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ensemble.h"
#include "solve_grid.h"
#include "theory.h"

typedef struct {
    char *path;      /* JSON path relative to the experiment, e.g. "ensemble.ratio" */
    char *key;       /* the leaf's key, e.g. "ratio" */
    double *values;
    size_t count;
    int range;       /* linspace/logspace (integer fields rounded), not values listed in the file */
    int logspace;    /* from {"logspace": [from, to, k]}: 10^from .. 10^to */
    double from, to;
} sweep;

/* A parse context: the file label for messages; while one point of a sweep
 * is parsed, the sweeps and the value each takes (choice), and whether a
 * number read here may be a sweep. */
typedef struct {
    const char *label;
    const sweep *sw;
    size_t nsw;
    const size_t *choice;
    int sweepable;
} ctx;

/* v as the shortest of %.15g and %.17g that reads back as v: 0.8, not
 * 0.80000000000000004 (the array lives until the end of the full expression) */
typedef struct {
    char s[32];
} numstr;

static numstr num(double v)
{
    numstr n;
    snprintf(n.s, sizeof n.s, "%.15g", v);
    if (strtod(n.s, NULL) != v) snprintf(n.s, sizeof n.s, "%.17g", v);
    return n;
}

/* config.h */
void rmt_format_bytes(double b, char *buf, size_t len)
{
    static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    /* from 1000 up the next unit: %.3g would print 1010 MiB as 1.01e+03 */
    while (u < 4 && b >= 1000) b /= 1024, u++;
    snprintf(buf, len, "%.3g %s", b, unit[u]);
}

static numstr bytes_str(double b)
{
    numstr n;
    rmt_format_bytes(b, n.s, sizeof n.s);
    return n;
}

static rmt_status bad(const ctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static rmt_status bad(const ctx *c, const char *path, const char *fmt, ...)
{
    char msg[512], where[640], at[400] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(where, sizeof where, "%s", path[0] ? path : "(top level)");
    /* at a point of a sweep: a value listed in {"sweep": [...]} is named by
     * its element, any other problem by the values that made the point */
    for (size_t k = 0; k < c->nsw; k++) {
        if (!c->sw[k].range && !strcmp(path, c->sw[k].path)) {
            snprintf(where, sizeof where, "%s.sweep[%zu]", path, c->choice[k]);
            at[0] = '\0';
            break;
        }
        char one[160];
        snprintf(one, sizeof one, "%s%s = %s", k ? ", " : " (at ", c->sw[k].path, num(c->sw[k].values[c->choice[k]]).s);
        strncat(at, one, sizeof at - strlen(at) - 2);
        if (k + 1 == c->nsw) strcat(at, ")");
    }
    /* a value far out of range from a logspace is most often exponents
     * taken for values */
    for (size_t k = 0; at[0] && k < c->nsw; k++)
        if (c->sw[k].logspace) {
            char one[200];
            snprintf(one, sizeof one, "; %s's logspace [%s, %s, k] runs from 10^%s to 10^%s (its ends are base-10 "
                     "exponents)", c->sw[k].path, num(c->sw[k].from).s, num(c->sw[k].to).s, num(c->sw[k].from).s,
                     num(c->sw[k].to).s);
            strncat(at, one, sizeof at - strlen(at) - 1);
        }
    return RMT_ERR(RMT_EUSAGE, "%s: %s: %s%s", c->label, where, msg, at);
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static char *path_join(const char *base, const char *key)
{
    size_t n = strlen(base) + strlen(key) + 2;
    char *p = malloc(n);
    if (!p) return NULL;
    snprintf(p, n, "%s%s%s", base, base[0] ? "." : "", key);
    return p;
}

static const char *type_name(const cJSON *j)
{
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsNull(j)) return "null";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsObject(j)) return "an object";
    return "invalid";
}

/* Every key of obj must be in allowed (NULL-terminated) and appear once. */
/* Whether key is one of list (NULL-terminated). */
static int in_list(const char *key, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(key, *list)) return 1;
    return 0;
}

static rmt_status check_keys(const ctx *pc, const cJSON *obj, const char *path, const char *const *allowed)
{
    /* a key is wrong at every point alike: name it without sweep values */
    const ctx plain = {.label = pc->label};
    const ctx *c = &plain;
    for (const cJSON *k = obj->child; k; k = k->next) {
        int ok = in_list(k->string, allowed);
        char *p = path_join(path, k->string);
        if (!p) return RMT_ERR(RMT_ERUNTIME, "out of memory");
        if (!ok) {
            char list[256] = "";
            for (const char *const *a = allowed; *a; a++) {
                strncat(list, *a, sizeof list - strlen(list) - 3);
                if (a[1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
            }
            rmt_status s = bad(c, p, "unknown key (allowed here: %s)", list);
            free(p);
            return s;
        }
        for (const cJSON *m = obj->child; m != k; m = m->next)
            if (strcmp(m->string, k->string) == 0) {
                rmt_status s = bad(c, p, "duplicate key");
                free(p);
                return s;
            }
        free(p);
    }
    return RMT_OK;
}

static rmt_status want_object(const ctx *c, const cJSON *j, const char *path)
{
    if (!cJSON_IsObject(j)) return bad(c, path, "expected an object, found %s", type_name(j));
    return RMT_OK;
}

/* j is not a number (what: "a number" or "an integer"); where a sweep may
 * stand, an object is one with a misspelled key. */
static rmt_status not_number(const ctx *c, const cJSON *j, const char *path, const char *what)
{
    if (!c->sweepable || !cJSON_IsObject(j) || !j->child) return bad(c, path, "expected %s, found %s", what, type_name(j));
    char keys[256] = "";
    size_t used = 0;
    for (const cJSON *k = j->child; k && used < sizeof keys; k = k->next) {
        int w = snprintf(keys + used, sizeof keys - used, "%s\"%.64s\"", k == j->child ? "" : ", ", k->string);
        used += w > 0 ? (size_t)w : 0;
    }
    return bad(c, path, "expected %s or {\"sweep\": [...]}, {\"linspace\": [a, b, k]} or {\"logspace\": [a, b, k]}, "
               "found an object with key%s %s", what, j->child->next ? "s" : "", keys);
}

static rmt_status get_int(const ctx *c, const cJSON *j, const char *path, int64_t lo, int64_t hi, int64_t *out)
{
    if (!cJSON_IsNumber(j)) return not_number(c, j, path, "an integer");
    double v = j->valuedouble;
    if (!isfinite(v) || v != floor(v)) return bad(c, path, "expected an integer, found %s", num(v).s);
    if (v < (double)lo || v > (double)hi)
        return bad(c, path, "%s is out of range [%lld, %lld]", num(v).s, (long long)lo, (long long)hi);
    *out = (int64_t)v;
    return RMT_OK;
}

static rmt_status get_num(const ctx *c, const cJSON *j, const char *path, double *out)
{
    if (!cJSON_IsNumber(j)) return not_number(c, j, path, "a number");
    if (!isfinite(j->valuedouble)) return bad(c, path, "expected a finite number");
    *out = j->valuedouble;
    return RMT_OK;
}

/* ---------------------------------------------------------------- sweeps */

static int is_sweep(const cJSON *j)
{
    return cJSON_IsObject(j) && j->child && (!strcmp(j->child->string, "sweep") ||
                                             !strcmp(j->child->string, "linspace") ||
                                             !strcmp(j->child->string, "logspace"));
}

static int is_integer_key(const char *key)
{
    static const char *const ints[] = {"n", "t", "rows", "cols", "degeneracy", "count", NULL};
    return in_list(key, ints);
}

/* A sweep gives numbers: fields that hold a string, an object or an array
 * (the ensemble itself, a factor) cannot be swept. */
static int is_sweepable(const char *key)
{
    static const char *const others[] = {"ensemble", "type", "form", "factors", "percolation", "spikes", "outliers", NULL};
    return !in_list(key, others) && strncmp(key, "factors[", 8) != 0;
}

static rmt_status parse_sweep(const ctx *c, const cJSON *j, const char *path, sweep *sw)
{
    const cJSON *k = j->child;
    char *p = path_join(path, k->string);
    rmt_status s = RMT_OK;
    if (!p) return RMT_ERR(RMT_ERUNTIME, "out of memory");
    if (k->next) {
        s = bad(c, path, "a sweep object holds exactly one of sweep, linspace, logspace");
        goto out;
    }
    if (!cJSON_IsArray(k)) {
        s = bad(c, p, "expected an array, found %s", type_name(k));
        goto out;
    }
    int len = cJSON_GetArraySize(k);
    if (!strcmp(k->string, "sweep")) {
        if (len == 0) {
            s = bad(c, p, "empty sweep: give at least one value");
            goto out;
        }
        sw->values = malloc(sizeof(double) * (size_t)len);
        if (!sw->values) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }
        int idx = 0;
        for (const cJSON *v = k->child; v; v = v->next, idx++) {
            char ip[64];
            snprintf(ip, sizeof ip, "[%d]", idx);
            char *vp = malloc(strlen(p) + sizeof ip);
            if (!vp) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }
            sprintf(vp, "%s%s", p, ip);
            s = get_num(c, v, vp, &sw->values[idx]);
            free(vp);
            if (s) goto out;
        }
        sw->count = (size_t)len;
        sw->range = 0;
        sw->logspace = 0;
    } else {
        int logs = !strcmp(k->string, "logspace");
        if (len != 3) {
            s = bad(c, p, "expected [start, stop, count], found %d element(s)", len);
            goto out;
        }
        double a = 0, b = 0;
        int64_t cnt;
        char *vp = malloc(strlen(p) + 8);
        if (!vp) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }
        sprintf(vp, "%s[0]", p);
        s = get_num(c, cJSON_GetArrayItem(k, 0), vp, &a);
        if (!s) { sprintf(vp, "%s[1]", p); s = get_num(c, cJSON_GetArrayItem(k, 1), vp, &b); }
        if (!s) { sprintf(vp, "%s[2]", p); s = get_int(c, cJSON_GetArrayItem(k, 2), vp, 1, 1000000, &cnt); }
        if (!s && logs && (fabs(a) > 300 || fabs(b) > 300)) s = bad(c, p, "logspace exponents beyond +-300");
        free(vp);
        if (s) goto out;
        sw->values = malloc(sizeof(double) * (size_t)cnt);
        if (!sw->values) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }
        for (int64_t i = 0; i < cnt; i++) {
            double x = cnt == 1 ? a : a + (b - a) * (double)i / (double)(cnt - 1);
            sw->values[i] = logs ? pow(10.0, x) : x;
            if (is_integer_key(sw->key)) sw->values[i] = nearbyint(sw->values[i]);
        }
        sw->count = (size_t)cnt;
        sw->range = 1;
        sw->logspace = logs;
        sw->from = a;
        sw->to = b;
    }
out:
    free(p);
    return s;
}

static void sweeps_free(sweep *sw, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(sw[i].path);
        free(sw[i].key);
        free(sw[i].values);
    }
    free(sw);
}

/* Depth-first, in file order: the order that defines point indices. */
static rmt_status find_sweeps(const ctx *c, const cJSON *j, const char *path, sweep **sw, size_t *n)
{
    if (is_sweep(j)) {
        const char *dot = strrchr(path, '.');
        if (!is_sweepable(dot ? dot + 1 : path))
            return bad(c, path, "cannot be swept (only numeric fields can; give one experiment per value instead)");
        sweep *grown = realloc(*sw, sizeof(sweep) * (*n + 1));
        if (!grown) return RMT_ERR(RMT_ERUNTIME, "out of memory");
        *sw = grown;
        sweep *s = &grown[*n];
        memset(s, 0, sizeof *s);
        (*n)++;
        s->path = xstrdup(path);
        s->key = xstrdup(dot ? dot + 1 : path);
        if (!s->path || !s->key) return RMT_ERR(RMT_ERUNTIME, "out of memory");
        return parse_sweep(c, j, path, s);
    }
    if (cJSON_IsObject(j)) {
        for (const cJSON *k = j->child; k; k = k->next) {
            char *p = path_join(path, k->string);
            if (!p) return RMT_ERR(RMT_ERUNTIME, "out of memory");
            rmt_status s = find_sweeps(c, k, p, sw, n);
            free(p);
            if (s) return s;
        }
    } else if (cJSON_IsArray(j)) {
        int idx = 0;
        for (const cJSON *k = j->child; k; k = k->next, idx++) {
            char *p = malloc(strlen(path) + 24);
            if (!p) return RMT_ERR(RMT_ERUNTIME, "out of memory");
            sprintf(p, "%s[%d]", path, idx);
            rmt_status s = find_sweeps(c, k, p, sw, n);
            free(p);
            if (s) return s;
        }
    }
    return RMT_OK;
}

/* Replace the sweeps of j (same depth-first order as find_sweeps) by values. */
static int substitute(cJSON *j, const sweep *sw, const size_t *choice, size_t *next)
{
    if (is_sweep(j)) return 1;
    for (cJSON *k = j->child; k; k = k->next) {
        if (is_sweep(k)) {
            const sweep *s = &sw[*next];
            double v = s->values[choice[*next]];
            (*next)++;
            cJSON *num = cJSON_CreateNumber(v);
            if (!num) return -1;
            if (k->string && !(num->string = strdup(k->string))) {
                cJSON_Delete(num);
                return -1;
            }
            cJSON_ReplaceItemViaPointer(j, k, num);
            k = num;
        } else if (cJSON_IsObject(k) || cJSON_IsArray(k)) {
            if (substitute(k, sw, choice, next) < 0) return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------- sections */

/* "t" or "ratio" (= n/t) of a wishart matrix with n rows, in object j at path. */
static rmt_status parse_wishart_t(const ctx *c, const cJSON *j, const char *path, int64_t n, int64_t *out)
{
    char p[640];
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "t");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "ratio");
    if (t && r) return bad(c, path, "give \"t\" or \"ratio\", not both");
    if (!t && !r) return bad(c, path, "missing \"t\" or \"ratio\" (= n/t)");
    if (t) {
        snprintf(p, sizeof p, "%s.t", path);
        return get_int(c, t, p, 1, RMT_MAX_N, out);
    }
    double q = 0;
    snprintf(p, sizeof p, "%s.ratio", path);
    RMT_TRY(get_num(c, r, p, &q));
    if (!(q > 0)) return bad(c, p, "ratio must be > 0, found %s", num(q).s);
    double tt = nearbyint((double)n / q);
    if (tt < 1) return bad(c, p, "ratio %s gives t = n/ratio < 1 for n = %lld", num(q).s, (long long)n);
    if (tt > (double)RMT_MAX_N) return bad(c, p, "ratio %s gives t beyond %lld", num(q).s, RMT_MAX_N);
    *out = (int64_t)tt;
    return RMT_OK;
}

/* "percolation": {"p": P} or {"mean_degree": c} (P = c/n) of object j into f. */
static rmt_status parse_percolation(const ctx *c, const cJSON *j, const char *path, int64_t n, rmt_factor *f)
{
    const cJSON *pc = cJSON_GetObjectItemCaseSensitive(j, "percolation");
    if (!pc) return RMT_OK;
    char p[640], q[680];
    snprintf(p, sizeof p, "%s.percolation", path);
    RMT_TRY(want_object(c, pc, p));
    static const char *const keys[] = {"p", "mean_degree", NULL};
    RMT_TRY(check_keys(c, pc, p, keys));
    const cJSON *kp = cJSON_GetObjectItemCaseSensitive(pc, "p");
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(pc, "mean_degree");
    if (kp && md) return bad(c, p, "give \"p\" or \"mean_degree\", not both");
    if (!kp && !md) return bad(c, p, "missing \"p\" (keep probability) or \"mean_degree\" (P = mean_degree/n)");
    double v = 0;
    if (kp) {
        snprintf(q, sizeof q, "%s.p", p);
        RMT_TRY(get_num(c, kp, q, &v));
        if (!(v > 0 && v <= 1)) return bad(c, q, "p must be in (0, 1], found %s", num(v).s);
        f->keep = v;
        return RMT_OK;
    }
    snprintf(q, sizeof q, "%s.mean_degree", p);
    RMT_TRY(get_num(c, md, q, &v));
    if (!(v > 0 && v <= (double)n))
        return bad(c, q, "mean_degree must be in (0, n] = (0, %lld], found %s", (long long)n, num(v).s);
    f->keep = v / (double)n;
    f->sparse = 1;
    f->mean_degree = v;
    return RMT_OK;
}

/* "spikes": [theta1, ...] of object j into f; psd: a wishart matrix, whose
 * spikes must keep it positive semi-definite. */
static rmt_status parse_spikes(const ctx *c, const cJSON *j, const char *path, int64_t n, int psd, rmt_factor *f)
{
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(j, "spikes");
    if (!sp) return RMT_OK;
    char p[640], q[680];
    snprintf(p, sizeof p, "%s.spikes", path);
    if (!cJSON_IsArray(sp)) return bad(c, p, "expected an array of numbers [theta1, ...], found %s", type_name(sp));
    int len = cJSON_GetArraySize(sp);
    if (len > RMT_MAX_SPIKES) return bad(c, p, "%d spikes, more than %d", len, RMT_MAX_SPIKES);
    if (len > n)
        return bad(c, p, "%d spikes need %s >= %d (spike i is added at e_i)", len,
                   f->kind == RMT_FAC_GAUSSIAN ? "min(rows, cols)" : "n", len);
    int i = 0;
    for (const cJSON *v = sp->child; v; v = v->next, i++) {
        snprintf(q, sizeof q, "%s[%d]", p, i);
        RMT_TRY(get_num(c, v, q, &f->spikes[i]));
        if (psd && f->spikes[i] < 0)
            return bad(c, q, "a wishart spike must be >= 0 (W stays positive semi-definite), found %s", num(f->spikes[i]).s);
    }
    f->nspikes = len;
    return RMT_OK;
}

static rmt_status get_type(const ctx *c, const cJSON *j, const char *path, const char *kinds, const char **out)
{
    char p[640];
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    snprintf(p, sizeof p, "%s.type", path);
    if (!type) return bad(c, path, "missing \"type\" (%s)", kinds);
    if (!cJSON_IsString(type)) return bad(c, p, "expected a string, found %s", type_name(type));
    *out = type->valuestring;
    return RMT_OK;
}

/* One factor of a product: gaussian rows x cols, wigner n, wishart n, t/ratio.
 * prev is the output dimension of the factor before (0 for the first): a
 * later factor may leave its input dimension ("cols", or "n") out to take
 * it, so that one sweep of a dimension moves the whole chain. */
static rmt_status parse_factor(const ctx *c, const cJSON *j, const char *path, int64_t prev, rmt_factor *f)
{
    char p[640];
    const char *type = NULL;
    RMT_TRY(want_object(c, j, path));
    RMT_TRY(get_type(c, j, path, "gaussian, wigner or wishart", &type));
    memset(f, 0, sizeof *f);
    static const char *const k_gauss[] = {"type", "rows", "cols", "percolation", "spikes", NULL};
    static const char *const k_wigner[] = {"type", "n", "percolation", "spikes", NULL};
    static const char *const k_wishart[] = {"type", "n", "t", "ratio", "percolation", "spikes", NULL};
    if (!strcmp(type, "gaussian")) {
        f->kind = RMT_FAC_GAUSSIAN;
        RMT_TRY(check_keys(c, j, path, k_gauss));
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "rows"), *cl = cJSON_GetObjectItemCaseSensitive(j, "cols");
        if (!r) return bad(c, path, "a gaussian factor needs \"rows\"");
        if (!cl && !prev) return bad(c, path, "the first factor needs \"cols\" (later ones default to the rows before)");
        snprintf(p, sizeof p, "%s.rows", path);
        RMT_TRY(get_int(c, r, p, 1, RMT_MAX_N, &f->rows));
        snprintf(p, sizeof p, "%s.cols", path);
        f->cols = prev;
        if (cl) RMT_TRY(get_int(c, cl, p, 1, RMT_MAX_N, &f->cols));
        /* P = c/rows: each column (an input coordinate) keeps c entries on average */
        RMT_TRY(parse_percolation(c, j, path, f->rows, f));
        /* spike i adds theta_i at entry (i, i): theta_i e_i e_i^T, rectangular */
        return parse_spikes(c, j, path, f->rows < f->cols ? f->rows : f->cols, 0, f);
    }
    if (!strcmp(type, "wigner")) {
        f->kind = RMT_FAC_WIGNER;
        RMT_TRY(check_keys(c, j, path, k_wigner));
    } else if (!strcmp(type, "wishart")) {
        f->kind = RMT_FAC_WISHART;
        RMT_TRY(check_keys(c, j, path, k_wishart));
    } else {
        snprintf(p, sizeof p, "%s.type", path);
        return bad(c, p, "unknown factor type \"%s\" (gaussian, wigner, wishart)", type);
    }
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "n");
    if (!n && !prev) return bad(c, path, "missing \"n\" (the factor is n x n; later factors default to the rows before)");
    snprintf(p, sizeof p, "%s.n", path);
    f->rows = prev;
    if (n) RMT_TRY(get_int(c, n, p, 1, RMT_MAX_N, &f->rows));
    f->cols = f->rows;
    if (f->kind == RMT_FAC_WISHART) RMT_TRY(parse_wishart_t(c, j, path, f->rows, &f->t));
    RMT_TRY(parse_percolation(c, j, path, f->rows, f));
    return parse_spikes(c, j, path, f->rows, f->kind == RMT_FAC_WISHART, f);
}

static rmt_status parse_product(const ctx *c, const cJSON *j, const char *path, rmt_ensemble *e)
{
    char p[512], q[540];
    static const char *const keys[] = {"type", "factors", "form", NULL};
    RMT_TRY(check_keys(c, j, path, keys));
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(j, "factors");
    snprintf(p, sizeof p, "%s.factors", path);
    if (!fs) return bad(c, path, "missing \"factors\" (a list F1, F2, ...; P = Fk ... F1)");
    if (!cJSON_IsArray(fs)) return bad(c, p, "expected an array of factors, found %s", type_name(fs));
    int k = cJSON_GetArraySize(fs);
    if (k < 1 || k > RMT_MAX_FACTORS) return bad(c, p, "%d factors: give 1 to %d", k, RMT_MAX_FACTORS);
    int i = 0;
    for (const cJSON *f = fs->child; f; f = f->next, i++) {
        snprintf(q, sizeof q, "%s[%d]", p, i);
        RMT_TRY(parse_factor(c, f, q, i > 0 ? e->factors[i - 1].rows : 0, &e->factors[i]));
        if (i > 0 && e->factors[i].cols != e->factors[i - 1].rows) {
            /* P = Fk ... F1: F(i+1) takes what F(i) gives */
            snprintf(q, sizeof q, "%s[%d].%s", p, i, e->factors[i].kind == RMT_FAC_GAUSSIAN ? "cols" : "n");
            return bad(c, q, "%lld does not chain: factors[%d] has %lld rows (P = Fk ... F1 needs the input "
                       "dimension of each factor to be the output dimension of the one before)",
                       (long long)e->factors[i].cols, i - 1, (long long)e->factors[i - 1].rows);
        }
    }
    e->nfactors = k;
    e->n = e->factors[0].cols;
    const cJSON *form = cJSON_GetObjectItemCaseSensitive(j, "form");
    snprintf(p, sizeof p, "%s.form", path);
    if (!form) return bad(c, path, "missing \"form\" (gram, similar or symmetric-part)");
    if (!cJSON_IsString(form)) return bad(c, p, "expected a string, found %s", type_name(form));
    if (!strcmp(form->valuestring, "gram")) {
        e->form = RMT_PROD_GRAM;
    } else if (!strcmp(form->valuestring, "similar")) {
        e->form = RMT_PROD_SIMILAR;
        /* eig(S W) is real for W >= 0 and S symmetric (it is eig(W^1/2 S W^1/2));
         * three or more factors, or a non-symmetric (gaussian) one, give
         * complex eigenvalues in general, even when all are Wishart */
        if (k > 2)
            return bad(c, p, "\"similar\" takes 1 or 2 factors, found %d: a product of 3 or more, even of "
                       "Wishart matrices, has complex eigenvalues (use gram or symmetric-part)", k);
        for (i = 0; i < k; i++)
            if (e->factors[i].kind == RMT_FAC_GAUSSIAN)
                return bad(c, p, "\"similar\" needs symmetric factors, but factors[%d] is gaussian: its "
                           "eigenvalues are complex (use gram or symmetric-part)", i);
        if (k == 2 && e->factors[0].kind != RMT_FAC_WISHART && e->factors[1].kind != RMT_FAC_WISHART)
            return bad(c, p, "\"similar\": factors[0] and factors[1] are both indefinite (wigner), so their "
                       "product has complex eigenvalues; one factor must be wishart");
    } else if (!strcmp(form->valuestring, "symmetric-part")) {
        e->form = RMT_PROD_SYMPART;
        if (e->factors[k - 1].rows != e->n)
            return bad(c, p, "\"symmetric-part\" needs a square P, but P = Fk ... F1 is %lld x %lld",
                       (long long)e->factors[k - 1].rows, (long long)e->n);
    } else {
        return bad(c, p, "unknown form \"%s\" (gram, similar, symmetric-part)", form->valuestring);
    }
    return RMT_OK;
}

static rmt_status parse_gp_hessian(const ctx *c, const cJSON *j, const char *path, rmt_ensemble *e)
{
    char p[512], q[540];
    static const char *const keys[] = {"type", "n", "kp", "kpp", "k0", "degeneracy", "outliers", NULL};
    RMT_TRY(check_keys(c, j, path, keys));
    const char *need[] = {"n", "kp", "kpp"};
    for (int i = 0; i < 3; i++)
        if (!cJSON_GetObjectItemCaseSensitive(j, need[i])) return bad(c, path, "missing \"%s\" (gp-hessian needs n, kp, kpp)", need[i]);
    snprintf(p, sizeof p, "%s.n", path);
    RMT_TRY(get_int(c, cJSON_GetObjectItemCaseSensitive(j, "n"), p, 1, RMT_MAX_N, &e->gp_n));
    snprintf(p, sizeof p, "%s.kp", path);
    RMT_TRY(get_num(c, cJSON_GetObjectItemCaseSensitive(j, "kp"), p, &e->kp));
    snprintf(p, sizeof p, "%s.kpp", path);
    RMT_TRY(get_num(c, cJSON_GetObjectItemCaseSensitive(j, "kpp"), p, &e->kpp));
    if (!(e->kpp > 0)) return bad(c, p, "kpp (the off-diagonal variance) must be > 0, found %s", num(e->kpp).s);
    const cJSON *k0 = cJSON_GetObjectItemCaseSensitive(j, "k0");
    if (k0) {
        snprintf(p, sizeof p, "%s.k0", path);
        RMT_TRY(get_num(c, k0, p, &e->k0));
        if (!(e->k0 >= 1)) return bad(c, p, "k0 must be >= 1 (shared variance kp^2 (1 - 1/k0) >= 0), found %s", num(e->k0).s);
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "degeneracy");
    if (d) {
        snprintf(p, sizeof p, "%s.degeneracy", path);
        RMT_TRY(get_int(c, d, p, 0, RMT_MAX_N, &e->degeneracy));
    }
    e->n = e->gp_n + e->degeneracy;
    if (e->n > RMT_MAX_N) return bad(c, path, "n + degeneracy = %lld is beyond %lld", (long long)e->n, RMT_MAX_N);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "outliers");
    if (o) {
        snprintf(p, sizeof p, "%s.outliers", path);
        RMT_TRY(want_object(c, o, p));
        static const char *const ok[] = {"count", "scale", NULL};
        RMT_TRY(check_keys(c, o, p, ok));
        const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(o, "count"), *sc = cJSON_GetObjectItemCaseSensitive(o, "scale");
        if (!cnt || !sc) return bad(c, p, "outliers need \"count\" and \"scale\"");
        snprintf(q, sizeof q, "%s.count", p);
        RMT_TRY(get_int(c, cnt, q, 0, e->gp_n, &e->outliers));
        snprintf(q, sizeof q, "%s.scale", p);
        RMT_TRY(get_num(c, sc, q, &e->outlier_scale));
        if (e->outlier_scale < 0) return bad(c, q, "scale must be >= 0, found %s", num(e->outlier_scale).s);
    }
    return RMT_OK;
}

static rmt_status parse_ensemble(const ctx *c, const cJSON *j, const char *path, rmt_ensemble *e)
{
    RMT_TRY(want_object(c, j, path));
    char p[512];
    const char *type = NULL;
    RMT_TRY(get_type(c, j, path, "wigner, wishart, diagonal, product or gp-hessian", &type));
    snprintf(p, sizeof p, "%s.type", path);
    memset(e, 0, sizeof *e);
    static const char *const k_diag[] = {"type", "n", NULL};
    static const char *const k_wigner[] = {"type", "n", "percolation", "spikes", NULL};
    static const char *const k_wishart[] = {"type", "n", "t", "ratio", "percolation", "spikes", NULL};
    if (!strcmp(type, "wigner")) {
        e->kind = RMT_ENS_WIGNER;
        RMT_TRY(check_keys(c, j, path, k_wigner));
    } else if (!strcmp(type, "diagonal")) {
        e->kind = RMT_ENS_DIAGONAL;
        RMT_TRY(check_keys(c, j, path, k_diag));
    } else if (!strcmp(type, "wishart")) {
        e->kind = RMT_ENS_WISHART;
        RMT_TRY(check_keys(c, j, path, k_wishart));
    } else if (!strcmp(type, "product")) {
        e->kind = RMT_ENS_PRODUCT;
        return parse_product(c, j, path, e);
    } else if (!strcmp(type, "gp-hessian")) {
        e->kind = RMT_ENS_GP_HESSIAN;
        return parse_gp_hessian(c, j, path, e);
    } else {
        return bad(c, p, "unknown ensemble \"%s\" (wigner, wishart, diagonal, product, gp-hessian)", type);
    }
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "n");
    snprintf(p, sizeof p, "%s.n", path);
    if (!n) return bad(c, path, "missing \"n\" (matrix dimension)");
    RMT_TRY(get_int(c, n, p, 1, RMT_MAX_N, &e->n));
    if (e->kind == RMT_ENS_WISHART) RMT_TRY(parse_wishart_t(c, j, path, e->n, &e->t));
    if (e->kind == RMT_ENS_DIAGONAL) return RMT_OK;
    RMT_TRY(parse_percolation(c, j, path, e->n, &e->mod));
    return parse_spikes(c, j, path, e->n, e->kind == RMT_ENS_WISHART, &e->mod);
}

/* ranks_per_draw: an integer >= 1, or "auto" (0 here; cli resolves it from
 * n, the ranks and the memory). */
static rmt_status parse_rpd(const ctx *c, const cJSON *j, const char *path, int32_t *out)
{
    if (cJSON_IsString(j)) {
        if (strcmp(j->valuestring, "auto")) return bad(c, path, "expected an integer >= 1 or \"auto\", found \"%s\"", j->valuestring);
        *out = 0;
        return RMT_OK;
    }
    int64_t r;
    RMT_TRY(get_int(c, j, path, 1, 1 << 20, &r));
    *out = (int32_t)r;
    return RMT_OK;
}

static rmt_status parse_statistics(const ctx *c, const cJSON *j, const char *path, const rmt_ensemble *e,
                                   rmt_statcfg *st)
{
    char p[512];
    memset(st, 0, sizeof *st);
    st->zero_tol_auto = 1;
    if (!j) return RMT_OK;
    RMT_TRY(want_object(c, j, path));
    static const char *const keys[] = {"density", "zero_mass", "moments", "spacings", "gap_ratios", NULL};
    RMT_TRY(check_keys(c, j, path, keys));
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "density");
    if (d) {
        snprintf(p, sizeof p, "%s.density", path);
        RMT_TRY(want_object(c, d, p));
        static const char *const dk[] = {"bins", "range", NULL};
        RMT_TRY(check_keys(c, d, p, dk));
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(d, "bins");
        int64_t bins = 100;
        snprintf(p, sizeof p, "%s.density.bins", path);
        if (b) RMT_TRY(get_int(c, b, p, 1, 10000000, &bins));
        st->bins = (int32_t)bins;
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(d, "range");
        snprintf(p, sizeof p, "%s.density.range", path);
        if (!r || (cJSON_IsString(r) && !strcmp(r->valuestring, "auto"))) {
            double a, bb;
            if (e->kind == 0) {
                /* no ensemble (analyze): the caller sets the range from the data */
                st->lo = st->hi = NAN;
            } else {
                rmt_ensemble_support(e, &a, &bb);
                st->range_auto = 1;
                double w = bb - a;
                st->lo = a - 0.05 * w;
                st->hi = bb + 0.05 * w;
            }
        } else if (cJSON_IsArray(r)) {
            if (cJSON_GetArraySize(r) != 2) return bad(c, p, "expected [low, high] or \"auto\"");
            char pp[540];
            snprintf(pp, sizeof pp, "%s[0]", p);
            RMT_TRY(get_num(c, cJSON_GetArrayItem(r, 0), pp, &st->lo));
            snprintf(pp, sizeof pp, "%s[1]", p);
            RMT_TRY(get_num(c, cJSON_GetArrayItem(r, 1), pp, &st->hi));
            if (!(st->lo < st->hi)) return bad(c, p, "low %s must be below high %s", num(st->lo).s, num(st->hi).s);
            if (!isfinite(st->hi - st->lo))
                return bad(c, p, "[%s, %s] is wider than a double holds; bins on it cannot be computed", num(st->lo).s,
                           num(st->hi).s);
        } else {
            return bad(c, p, "expected [low, high] or \"auto\", found %s", type_name(r));
        }
    }
    const cJSON *z = cJSON_GetObjectItemCaseSensitive(j, "zero_mass");
    if (z) {
        snprintf(p, sizeof p, "%s.zero_mass", path);
        RMT_TRY(want_object(c, z, p));
        static const char *const zk[] = {"tolerance", NULL};
        RMT_TRY(check_keys(c, z, p, zk));
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(z, "tolerance");
        snprintf(p, sizeof p, "%s.zero_mass.tolerance", path);
        if (t && !(cJSON_IsString(t) && !strcmp(t->valuestring, "auto"))) {
            if (cJSON_IsString(t)) return bad(c, p, "expected \"auto\" or a number, found \"%s\"", t->valuestring);
            RMT_TRY(get_num(c, t, p, &st->zero_tol));
            if (st->zero_tol < 0) return bad(c, p, "tolerance must be >= 0, found %s", num(st->zero_tol).s);
            st->zero_tol_auto = 0;
        }
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "moments");
    if (m) {
        int64_t k;
        snprintf(p, sizeof p, "%s.moments", path);
        RMT_TRY(get_int(c, m, p, 1, RMT_MAX_MOMENTS, &k));
        st->moments = (int32_t)k;
    }
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, "gap_ratios");
    if (g) {
        snprintf(p, sizeof p, "%s.gap_ratios", path);
        RMT_TRY(want_object(c, g, p));
        static const char *const gk[] = {"bins", "max", NULL};
        RMT_TRY(check_keys(c, g, p, gk));
        int64_t bins = 40;
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(g, "bins");
        snprintf(p, sizeof p, "%s.gap_ratios.bins", path);
        if (b) RMT_TRY(get_int(c, b, p, 1, 10000000, &bins));
        st->gr_bins = (int32_t)bins;
        st->gr_max = 10.0;
        const cJSON *mx = cJSON_GetObjectItemCaseSensitive(g, "max");
        snprintf(p, sizeof p, "%s.gap_ratios.max", path);
        if (mx) RMT_TRY(get_num(c, mx, p, &st->gr_max));
        if (!(st->gr_max > 0)) return bad(c, p, "max must be > 0, found %s", num(st->gr_max).s);
    }
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(j, "spacings");
    if (sp) {
        snprintf(p, sizeof p, "%s.spacings", path);
        RMT_TRY(want_object(c, sp, p));
        static const char *const sk[] = {"unfolding", "bins", "max", "degree", "per_draw", "bulk", NULL};
        RMT_TRY(check_keys(c, sp, p, sk));
        st->sp_unfold = RMT_UNFOLD_POOL;
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(sp, "unfolding");
        snprintf(p, sizeof p, "%s.spacings.unfolding", path);
        if (u) {
            if (!cJSON_IsString(u)) return bad(c, p, "expected \"pool\", \"theory\" or \"polynomial\", found %s", type_name(u));
            if (!strcmp(u->valuestring, "pool")) st->sp_unfold = RMT_UNFOLD_POOL;
            else if (!strcmp(u->valuestring, "theory")) st->sp_unfold = RMT_UNFOLD_THEORY;
            else if (!strcmp(u->valuestring, "polynomial")) st->sp_unfold = RMT_UNFOLD_POLYNOMIAL;
            else return bad(c, p, "unknown unfolding \"%s\" (pool, theory, polynomial)", u->valuestring);
            if (st->sp_unfold == RMT_UNFOLD_THEORY && !rmt_theory_has_cdf(e))
                return bad(c, p, "no limiting CDF is known for this ensemble; use \"pool\" or \"polynomial\"");
        }
        int64_t v = 50;
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(sp, "bins");
        snprintf(p, sizeof p, "%s.spacings.bins", path);
        if (b) RMT_TRY(get_int(c, b, p, 1, 10000000, &v));
        st->sp_bins = (int32_t)v;
        st->sp_max = 7.0;
        const cJSON *mx = cJSON_GetObjectItemCaseSensitive(sp, "max");
        snprintf(p, sizeof p, "%s.spacings.max", path);
        if (mx) RMT_TRY(get_num(c, mx, p, &st->sp_max));
        if (!(st->sp_max > 0)) return bad(c, p, "max must be > 0, found %s", num(st->sp_max).s);
        v = 9;
        const cJSON *dg = cJSON_GetObjectItemCaseSensitive(sp, "degree");
        snprintf(p, sizeof p, "%s.spacings.degree", path);
        if (dg && st->sp_unfold != RMT_UNFOLD_POLYNOMIAL) return bad(c, p, "degree applies to \"polynomial\" unfolding only");
        if (dg) RMT_TRY(get_int(c, dg, p, 1, 30, &v));
        st->sp_degree = (int32_t)v;
        const cJSON *pd = cJSON_GetObjectItemCaseSensitive(sp, "per_draw");
        snprintf(p, sizeof p, "%s.spacings.per_draw", path);
        if (pd && st->sp_unfold != RMT_UNFOLD_POLYNOMIAL) return bad(c, p, "per_draw applies to \"polynomial\" unfolding only");
        if (pd && !cJSON_IsBool(pd)) return bad(c, p, "expected true or false, found %s", type_name(pd));
        st->sp_per_draw = pd && cJSON_IsTrue(pd);
        st->sp_bulk_lo = 0.0;
        st->sp_bulk_hi = 1.0;
        const cJSON *bk = cJSON_GetObjectItemCaseSensitive(sp, "bulk");
        snprintf(p, sizeof p, "%s.spacings.bulk", path);
        if (bk) {
            if (!cJSON_IsArray(bk) || cJSON_GetArraySize(bk) != 2)
                return bad(c, p, "expected [a, b], fractions of the unfolded range with 0 <= a < b <= 1");
            char pp[540];
            snprintf(pp, sizeof pp, "%s[0]", p);
            RMT_TRY(get_num(c, cJSON_GetArrayItem(bk, 0), pp, &st->sp_bulk_lo));
            snprintf(pp, sizeof pp, "%s[1]", p);
            RMT_TRY(get_num(c, cJSON_GetArrayItem(bk, 1), pp, &st->sp_bulk_hi));
            if (!(0 <= st->sp_bulk_lo && st->sp_bulk_lo < st->sp_bulk_hi && st->sp_bulk_hi <= 1))
                return bad(c, p, "expected 0 <= a < b <= 1, found [%s, %s]", num(st->sp_bulk_lo).s, num(st->sp_bulk_hi).s);
        }
    }
    return RMT_OK;
}

/* ------------------------------------------------------------- canonical */

static int contains_sweep(const cJSON *j)
{
    if (is_sweep(j)) return 1;
    for (const cJSON *k = j->child; k; k = k->next)
        if (contains_sweep(k)) return 1;
    return 0;
}

/* The canonical form: every object's keys sorted (byte order), except that
 * keys holding sweeps keep their order in the file, in the places the sort
 * gives them. Point indices follow the order of the sweeps in the file, so
 * the canonical form keeps it: re-parsed (merge) it gives the same points,
 * and two configs that differ only in that order differ in config_sha256
 * (resume). Without sweeps, or with sweeps already in key order, this is
 * the plain sort. */
static int sort_keys(cJSON *j)
{
    if (cJSON_IsObject(j) && j->child) {
        int n = 0, ns = 0;
        for (cJSON *k = j->child; k; k = k->next) n++;
        cJSON *stack[64], **file = n <= 32 ? stack : malloc(sizeof(cJSON *) * (size_t)n * 2);
        if (!file) return -1;
        cJSON **sorted = file + n;
        {
            int i = 0;
            for (cJSON *k = j->child; k; k = k->next) {
                file[i] = k;
                if (contains_sweep(k)) ns++;
                i++;
            }
            /* insertion sort by key, stable */
            for (i = 0; i < n; i++) {
                int q = i;
                while (q > 0 && strcmp(sorted[q - 1]->string, file[i]->string) > 0) {
                    sorted[q] = sorted[q - 1];
                    q--;
                }
                sorted[q] = file[i];
            }
            /* the sweep-holding keys' places, refilled in file order */
            for (int a = 0, b = 0; ns && a < n; a++)
                if (contains_sweep(sorted[a])) {
                    while (!contains_sweep(file[b])) b++;
                    sorted[a] = file[b++];
                }
            for (i = 0; i < n; i++) {
                sorted[i]->prev = i ? sorted[i - 1] : sorted[n - 1]; /* cJSON keeps the tail in head->prev */
                sorted[i]->next = i + 1 < n ? sorted[i + 1] : NULL;
            }
            j->child = sorted[0];
            if (file != stack) free(file);
        }
    }
    for (cJSON *k = j->child; k; k = k->next)
        if (sort_keys(k)) return -1;
    return 0;
}

static rmt_status sha256_hex(const char *s, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL) || len != 32)
        return RMT_ERR(RMT_ERUNTIME, "SHA-256 failed");
    for (unsigned i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", md[i]);
    out[64] = '\0';
    return RMT_OK;
}

/* --------------------------------------------------------------- plan */

rmt_plan *rmt_plan_create_shared(uint32_t npoints)
{
    rmt_plan *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->npoints = npoints;
    p->points = calloc(npoints ? npoints : 1, sizeof(rmt_point));
    if (!p->points) {
        free(p);
        return NULL;
    }
    return p;
}

void rmt_plan_slice(const rmt_plan *plan, uint32_t i, uint32_t k, uint32_t *begin, uint32_t *end)
{
    uint64_t P = plan->npoints;
    *begin = k ? (uint32_t)(P * i / k) : 0;
    *end = k ? (uint32_t)(P * (i + 1) / k) : plan->npoints;
}

void rmt_plan_destroy(rmt_plan *p)
{
    if (!p) return;
    if (p->params_json)
        for (uint32_t i = 0; i < p->npoints; i++) free(p->params_json[i]);
    for (uint32_t i = 0; i < p->nexp; i++) {
        if (p->exp_names) free(p->exp_names[i]);
        if (p->exp_prefix) free(p->exp_prefix[i]);
        if (p->exp_rpd_path) free(p->exp_rpd_path[i]);
    }
    for (uint32_t i = 0; i < p->nswept; i++) free(p->swept_paths[i]);
    free(p->params_json);
    free(p->exp_names);
    free(p->exp_prefix);
    free(p->exp_rpd_path);
    free(p->swept_paths);
    free(p->swept);
    free(p->points);
    free(p->config_path);
    free(p->config_json);
    free(p->name);
    free(p->output_path);
    free(p);
}

const char *rmt_ens_name(int32_t kind)
{
    switch (kind) {
    case RMT_ENS_WIGNER: return "wigner";
    case RMT_ENS_WISHART: return "wishart";
    case RMT_ENS_DIAGONAL: return "diagonal";
    default: return "?";
    }
}

static rmt_status add_point(rmt_plan *plan, const rmt_point *pt, char *params)
{
    uint32_t n = plan->npoints;
    if (n >= RMT_MAX_POINTS) {
        free(params);
        return RMT_ERR(RMT_EUSAGE, "%s: the sweeps expand to more than %u points", plan->config_path, RMT_MAX_POINTS);
    }
    if ((n & (n - 1)) == 0) {
        /* room doubles at every power of two: n points cost O(n) copying */
        size_t cap = n ? 2 * (size_t)n : 1;
        rmt_point *np = realloc(plan->points, sizeof(rmt_point) * cap);
        char **pj = np ? realloc(plan->params_json, sizeof(char *) * cap) : NULL;
        if (np) plan->points = np;
        if (pj) plan->params_json = pj;
        if (!np || !pj) {
            free(params);
            return RMT_ERR(RMT_ERUNTIME, "out of memory");
        }
    }
    plan->points[n] = *pt;
    plan->points[n].index = n;
    plan->params_json[n] = params;
    plan->npoints = n + 1;
    return RMT_OK;
}

static int64_t swept_index(rmt_plan *plan, const char *path)
{
    for (uint32_t i = 0; i < plan->nswept; i++)
        if (!strcmp(plan->swept_paths[i], path)) return i;
    char **g = realloc(plan->swept_paths, sizeof(char *) * (plan->nswept + 1));
    if (!g) return -1;
    plan->swept_paths = g;
    g[plan->nswept] = xstrdup(path);
    if (!g[plan->nswept]) return -1;
    return plan->nswept++;
}

/* The JSON paths an experiment's point is checked under. */
typedef struct {
    const char *epath, *spath, *dpath, *rpath, *prefix, *expname;
} point_paths;

/* Parse and check one point of an experiment: its ensemble (dup, sweeps
 * resolved) and statistics into pt, whose draws and ranks_per_draw are set. */
static rmt_status check_point(ctx *pc, const cJSON *dup, const cJSON *stats, const point_paths *pp, rmt_point *pt)
{
    pc->sweepable = 1;
    rmt_status s = parse_ensemble(pc, dup, pp->epath, &pt->ens);
    pc->sweepable = 0;
    if (!s) s = parse_statistics(pc, stats, pp->spath, &pt->ens, &pt->stat);
    if (!s && pt->stat.sp_unfold == RMT_UNFOLD_POOL && pt->draws < 2) {
        char up[300];
        snprintf(up, sizeof up, "%s.spacings", pp->spath);
        s = bad(pc, up, "pool unfolding (the default) unfolds each draw against the other draws' eigenvalues, "
                "so it needs %s of at least 2", pp->dpath);
    }
    /* a diagonal is sorted, not diagonalized: it needs no grid */
    if (!s && pt->ens.kind == RMT_ENS_DIAGONAL) {
        if (pt->ranks_per_draw > 1) {
            /* a top-level ranks_per_draw: name the experiment it cannot apply to */
            char which[320] = "";
            if (pp->prefix[0] && !strcmp(pp->rpath, "ranks_per_draw"))
                snprintf(which, sizeof which, " (experiment \"%s\" draws the diagonal %s: give it \"ranks_per_draw\": 1)",
                         pp->expname, pp->epath);
            s = bad(pc, pp->rpath, "%d ranks per draw: a diagonal ensemble has nothing to diagonalize, so its draws "
                    "run on one rank%s", pt->ranks_per_draw, which);
        }
        if (!s) pt->ranks_per_draw = 1;
    }
    return s;
}

/* A point of a sweep failed its check with the message naming the sweep
 * values (" (at ensemble.ratio = 0.5)"). When the same point and another
 * one, every sweep at another value, fail the same way without those
 * values, the problem is not the sweep's: say it without them. pt is
 * scratch; returns the point's status with the message to give. */
static rmt_status unpin_error(const ctx *pc, const cJSON *ens, const cJSON *stats, const point_paths *pp,
                              const rmt_point *pt)
{
    char pinned[1024], plain[1024] = "";
    snprintf(pinned, sizeof pinned, "%s", rmt_err_message());
    size_t *other = calloc(pc->nsw, sizeof(size_t));
    int same = other != NULL;
    for (int pass = 0; same && pass < 2; pass++) {
        for (size_t k = 0; k < pc->nsw; k++)
            other[k] = pass ? (pc->choice[k] + 1) % pc->sw[k].count : pc->choice[k];
        cJSON *dup = cJSON_Duplicate(ens, 1);
        size_t next = 0;
        rmt_point p2 = *pt;
        memset(&p2.ens, 0, sizeof p2.ens);
        memset(&p2.stat, 0, sizeof p2.stat);
        ctx plain_ctx = {.label = pc->label}; /* no sweep values in the message */
        rmt_err_clear();                       /* the first error raised is the one kept */
        rmt_status s2 = dup && substitute(dup, pc->sw, other, &next) == 0 ? check_point(&plain_ctx, dup, stats, pp, &p2)
                                                                          : RMT_ERUNTIME;
        cJSON_Delete(dup);
        if (s2 != RMT_EUSAGE) same = 0;
        else if (!pass) snprintf(plain, sizeof plain, "%s", rmt_err_message());
        else same = !strcmp(plain, rmt_err_message());
    }
    free(other);
    rmt_err_clear();
    return RMT_ERR(RMT_EUSAGE, "%s", same ? plain : pinned);
}

/* Expand one experiment (merged with top-level defaults) into points. */
static rmt_status expand_experiment(const ctx *c, rmt_plan *plan, const cJSON *exp, const cJSON *top,
                                    const char *prefix, uint32_t expi)
{
    char p[512];
    rmt_status s = RMT_OK;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(exp, "name");
    const cJSON *draws = cJSON_GetObjectItemCaseSensitive(exp, "draws");
    const cJSON *ens = cJSON_GetObjectItemCaseSensitive(exp, "ensemble");
    const cJSON *stats = cJSON_GetObjectItemCaseSensitive(exp, "statistics");
    char dpath[256], epath[256], spath[256];
    snprintf(dpath, sizeof dpath, "%sdraws", prefix);
    snprintf(epath, sizeof epath, "%sensemble", prefix);
    snprintf(spath, sizeof spath, "%sstatistics", prefix);
    if (!draws && top) { draws = cJSON_GetObjectItemCaseSensitive(top, "draws"); snprintf(dpath, sizeof dpath, "draws"); }
    if (!ens && top) { ens = cJSON_GetObjectItemCaseSensitive(top, "ensemble"); snprintf(epath, sizeof epath, "ensemble"); }
    if (!stats && top) { stats = cJSON_GetObjectItemCaseSensitive(top, "statistics"); snprintf(spath, sizeof spath, "statistics"); }
    if (name && !cJSON_IsString(name)) {
        snprintf(p, sizeof p, "%sname", prefix);
        return bad(c, p, "expected a string, found %s", type_name(name));
    }
    snprintf(p, sizeof p, "%sname", prefix);
    if (name && (!name->valuestring[0] || strpbrk(name->valuestring, "/\n")))
        return bad(c, p, "name must be non-empty, without '/' or newlines");
    /* the experiment's own path: "" (top level) or "experiments[i]", without the trailing dot */
    char epp[256];
    snprintf(epp, sizeof epp, "%.*s", prefix[0] ? (int)strlen(prefix) - 1 : 0, prefix);
    if (!draws) return bad(c, epp, "missing \"draws\"");
    if (!ens) return bad(c, epp, "missing \"ensemble\"");
    int64_t nd;
    RMT_TRY(get_int(c, draws, dpath, 1, UINT32_MAX, &nd));
    RMT_TRY(want_object(c, ens, epath));
    const cJSON *rpd = cJSON_GetObjectItemCaseSensitive(exp, "ranks_per_draw");
    char rpath[256];
    snprintf(rpath, sizeof rpath, "%sranks_per_draw", prefix);
    if (!rpd && top) {
        rpd = cJSON_GetObjectItemCaseSensitive(top, "ranks_per_draw");
        snprintf(rpath, sizeof rpath, "ranks_per_draw");
    }
    int32_t rpd_value = 1;
    if (rpd) RMT_TRY(parse_rpd(c, rpd, rpath, &rpd_value));

    char *nm = xstrdup(name ? name->valuestring : plan->name);
    char *pf = xstrdup(prefix);
    char *rp = xstrdup(rpd ? rpath : "ranks_per_draw");
    char **g1 = realloc(plan->exp_names, sizeof(char *) * (plan->nexp + 1));
    if (g1) plan->exp_names = g1;
    char **g2 = g1 ? realloc(plan->exp_prefix, sizeof(char *) * (plan->nexp + 1)) : NULL;
    if (g2) plan->exp_prefix = g2;
    char **g3 = g2 ? realloc(plan->exp_rpd_path, sizeof(char *) * (plan->nexp + 1)) : NULL;
    if (g3) plan->exp_rpd_path = g3;
    if (!nm || !pf || !rp || !g1 || !g2 || !g3) {
        free(nm);
        free(pf);
        free(rp);
        return RMT_ERR(RMT_ERUNTIME, "out of memory");
    }
    plan->exp_names[plan->nexp] = nm;
    plan->exp_prefix[plan->nexp] = pf;
    plan->exp_rpd_path[plan->nexp] = rp;
    plan->nexp++;

    sweep *sw = NULL;
    size_t nsw = 0;
    size_t *choice = NULL;
    s = find_sweeps(c, ens, epath, &sw, &nsw);
    if (s) goto out;
    {
        /* refuse an oversized cartesian product before building any of it */
        double total = (double)plan->npoints;
        double prod = 1;
        for (size_t k = 0; k < nsw; k++) prod *= (double)sw[k].count;
        if (total + prod > (double)RMT_MAX_POINTS) {
            s = bad(c, epath, "the sweeps expand to %s points, more than %u (every rank holds the whole plan, %zu bytes a point)",
                    num(total + prod).s, RMT_MAX_POINTS, sizeof(rmt_point));
            goto out;
        }
    }
    choice = calloc(nsw + 1, sizeof(size_t));
    if (!choice) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }
    for (size_t k = 0; k < nsw; k++) {
        /* summary datasets are named relative to the experiment: "ensemble.ratio" */
        const char *rel = sw[k].path + strlen(epath) - strlen("ensemble");
        if (swept_index(plan, rel) < 0) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }
    }
    for (;;) {
        cJSON *dup = cJSON_Duplicate(ens, 1);
        size_t next = 0;
        if (!dup || substitute(dup, sw, choice, &next) < 0) {
            cJSON_Delete(dup);
            s = RMT_ERR(RMT_ERUNTIME, "out of memory");
            goto out;
        }
        rmt_point pt;
        memset(&pt, 0, sizeof pt);
        pt.experiment = expi;
        pt.seed = plan->seed;
        pt.draws = (uint32_t)nd;
        pt.ranks_per_draw = rpd_value;
        /* messages name the sweep values of this point (see bad) */
        ctx pc = {.label = c->label, .sw = sw, .nsw = nsw, .choice = choice, .sweepable = 1};
        const point_paths pp = {epath, spath, dpath, rpath, prefix, plan->exp_names[plan->nexp - 1]};
        s = check_point(&pc, dup, stats, &pp, &pt);
        if (s == RMT_EUSAGE && nsw > 0) s = unpin_error(&pc, ens, stats, &pp, &pt);
        if (s) {
            cJSON_Delete(dup);
            goto out;
        }
        rmt_ensemble_theory(&pt.ens, &pt.zero_mass_theory, &pt.lambda_max_theory, pt.moments_theory);
        /* record the resolved t of a ratio so params_json says what was run */
        if (pt.ens.kind == RMT_ENS_WISHART && !cJSON_GetObjectItemCaseSensitive(dup, "t"))
            cJSON_AddNumberToObject(dup, "t", (double)pt.ens.t);
        if (pt.ens.kind == RMT_ENS_PRODUCT) {
            const cJSON *fs = cJSON_GetObjectItemCaseSensitive(dup, "factors");
            int fi = 0;
            for (cJSON *fo = fs ? fs->child : NULL; fo; fo = fo->next, fi++) {
                const rmt_factor *rf = &pt.ens.factors[fi];
                const char *in = rf->kind == RMT_FAC_GAUSSIAN ? "cols" : "n";
                if (!cJSON_GetObjectItemCaseSensitive(fo, in)) cJSON_AddNumberToObject(fo, in, (double)rf->cols);
                if (rf->kind == RMT_FAC_WISHART && !cJSON_GetObjectItemCaseSensitive(fo, "t"))
                    cJSON_AddNumberToObject(fo, "t", (double)rf->t);
            }
        }
        char *params = sort_keys(dup) ? NULL : cJSON_PrintUnformatted(dup);
        cJSON_Delete(dup);
        if (!params) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }
        s = add_point(plan, &pt, params);
        if (s) goto out;
        /* advance the odometer: the last sweep varies fastest */
        size_t k = nsw;
        while (k > 0) {
            k--;
            if (++choice[k] < sw[k].count) break;
            choice[k] = 0;
            if (k == 0) { k = SIZE_MAX; break; }
        }
        if (nsw == 0 || k == SIZE_MAX) break;
    }
out:
    free(choice);
    sweeps_free(sw, nsw);
    return s;
}

/* Fill plan->swept (points x swept paths) once every point and path is known. */
static rmt_status fill_swept(rmt_plan *plan)
{
    free(plan->swept);
    plan->swept = malloc(sizeof(double) * (size_t)plan->npoints * (plan->nswept ? plan->nswept : 1));
    if (!plan->swept) return RMT_ERR(RMT_ERUNTIME, "out of memory");
    for (uint32_t i = 0; i < plan->npoints; i++) {
        cJSON *pj = cJSON_Parse(plan->params_json[i]);
        if (!pj) return RMT_ERR(RMT_ERUNTIME, "out of memory");
        for (uint32_t k = 0; k < plan->nswept; k++) {
            double v = NAN;
            const char *path = plan->swept_paths[k] + strlen("ensemble");
            /* walk ".key" and "[i]" steps of the resolved ensemble */
            const cJSON *node = pj;
            const char *q = path;
            while (node && *q) {
                if (*q == '.') {
                    q++;
                    size_t len = strcspn(q, ".[");
                    char key[128];
                    snprintf(key, sizeof key, "%.*s", (int)len, q);
                    node = cJSON_GetObjectItemCaseSensitive(node, key);
                    q += len;
                } else if (*q == '[') {
                    int idx = atoi(q + 1);
                    node = cJSON_GetArrayItem(node, idx);
                    q = strchr(q, ']');
                    q = q ? q + 1 : "";
                } else {
                    node = NULL;
                }
            }
            /* a point whose ensemble lacks the field gets NaN */
            if (node && cJSON_IsNumber(node)) v = node->valuedouble;
            plan->swept[(size_t)i * plan->nswept + k] = v;
        }
        cJSON_Delete(pj);
    }
    return RMT_OK;
}

rmt_status rmt_config_parse(const char *text, size_t len, const char *label, rmt_plan **out)
{
    ctx c = {.label = label};
    rmt_status s = RMT_OK;
    *out = NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        /* locate the failure as line:column for the user */
        const char *at = cJSON_GetErrorPtr();
        long line = 1, col = 1;
        if (at && at >= text && at <= text + len)
            for (const char *q = text; q < at; q++) {
                if (*q == '\n') { line++; col = 1; } else col++;
            }
        return RMT_ERR(RMT_EUSAGE, "%s: (top level): malformed JSON near line %ld, column %ld", label, line, col);
    }
    while (end && end < text + len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t')) end++;
    if (end && end < text + len && *end) {
        cJSON_Delete(root);
        return RMT_ERR(RMT_EUSAGE, "%s: (top level): trailing characters after the JSON value", label);
    }
    rmt_plan *plan = calloc(1, sizeof *plan);
    if (!plan) { cJSON_Delete(root); return RMT_ERR(RMT_ERUNTIME, "out of memory"); }
    plan->config_path = xstrdup(label);
    if (!plan->config_path) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }

    if ((s = want_object(&c, root, ""))) goto out;
    static const char *const top_keys[] = {"name", "seed", "draws", "ensemble", "statistics", "output",
                                           "experiments", "ranks_per_draw", "max_failures", "solver", NULL};
    if ((s = check_keys(&c, root, "", top_keys))) goto out;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (!name) { s = bad(&c, "", "missing \"name\""); goto out; }
    if (!cJSON_IsString(name)) { s = bad(&c, "name", "expected a string, found %s", type_name(name)); goto out; }
    if (!name->valuestring[0] || strpbrk(name->valuestring, "/\n")) {
        s = bad(&c, "name", "name must be non-empty, without '/' or newlines");
        goto out;
    }
    plan->name = xstrdup(name->valuestring);
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
    int64_t sd = 0;
    if (seed && (s = get_int(&c, seed, "seed", 0, UINT32_MAX, &sd))) goto out;
    plan->seed = (uint32_t)sd;

    const cJSON *rpd = cJSON_GetObjectItemCaseSensitive(root, "ranks_per_draw");
    int32_t rpd_value;
    if (rpd && (s = parse_rpd(&c, rpd, "ranks_per_draw", &rpd_value))) goto out;

    int32_t grid_solver = 0;
    const cJSON *sol = cJSON_GetObjectItemCaseSensitive(root, "solver");
    if (sol) {
        if (!cJSON_IsString(sol)) { s = bad(&c, "solver", "expected \"auto\", \"pdsyev\", \"pdsyevr\" or \"elpa\", found %s", type_name(sol)); goto out; }
        grid_solver = rmt_grid_driver_by_name(sol->valuestring);
        if (grid_solver < 0) {
            s = bad(&c, "solver", "unknown solver \"%s\" (auto, pdsyev, pdsyevr, elpa)", sol->valuestring);
            goto out;
        }
        if (grid_solver == RMT_GRID_ELPA && !rmt_grid_have_elpa()) {
            s = bad(&c, "solver", "this build has no ELPA (install libelpa-dev and rebuild)");
            goto out;
        }
    }

    plan->max_failures = -1;
    const cJSON *mf = cJSON_GetObjectItemCaseSensitive(root, "max_failures");
    if (mf && (s = get_int(&c, mf, "max_failures", 0, INT64_C(1) << 53, &plan->max_failures))) goto out;

    const cJSON *output = cJSON_GetObjectItemCaseSensitive(root, "output");
    plan->checkpoint_seconds = 60.0;
    int store_eig = 0;
    if (output) {
        if ((s = want_object(&c, output, "output"))) goto out;
        static const char *const ok[] = {"path", "eigenvalues", "checkpoint_seconds", "checkpoint_draws", NULL};
        if ((s = check_keys(&c, output, "output", ok))) goto out;
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(output, "path");
        if (op) {
            if (!cJSON_IsString(op) || !op->valuestring[0]) {
                s = bad(&c, "output.path", "expected a non-empty string");
                goto out;
            }
            plan->output_path = xstrdup(op->valuestring);
        }
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(output, "eigenvalues");
        if (ev) {
            if (!cJSON_IsBool(ev)) { s = bad(&c, "output.eigenvalues", "expected true or false, found %s", type_name(ev)); goto out; }
            store_eig = cJSON_IsTrue(ev);
        }
        const cJSON *cs = cJSON_GetObjectItemCaseSensitive(output, "checkpoint_seconds");
        if (cs) {
            if ((s = get_num(&c, cs, "output.checkpoint_seconds", &plan->checkpoint_seconds))) goto out;
            if (plan->checkpoint_seconds < 0) { s = bad(&c, "output.checkpoint_seconds", "must be >= 0"); goto out; }
        }
        const cJSON *cd = cJSON_GetObjectItemCaseSensitive(output, "checkpoint_draws");
        if (cd && (s = get_int(&c, cd, "output.checkpoint_draws", 0, INT64_C(1) << 53, &plan->checkpoint_draws))) goto out;
    }
    if (!plan->output_path) {
        size_t n = strlen(plan->name) + 4;
        plan->output_path = malloc(n);
        if (plan->output_path) snprintf(plan->output_path, n, "%s.h5", plan->name);
    }
    if (!plan->name || !plan->output_path) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }

    const cJSON *exps = cJSON_GetObjectItemCaseSensitive(root, "experiments");
    if (exps) {
        if (!cJSON_IsArray(exps)) { s = bad(&c, "experiments", "expected an array, found %s", type_name(exps)); goto out; }
        if (cJSON_GetArraySize(exps) == 0) { s = bad(&c, "experiments", "empty: give at least one experiment"); goto out; }
        uint32_t i = 0;
        for (const cJSON *e = exps->child; e; e = e->next, i++) {
            char prefix[64], ppath[64];
            snprintf(prefix, sizeof prefix, "experiments[%u].", i);
            snprintf(ppath, sizeof ppath, "experiments[%u]", i);
            if ((s = want_object(&c, e, ppath))) goto out;
            static const char *const ek[] = {"name", "draws", "ensemble", "statistics", "ranks_per_draw", NULL};
            if ((s = check_keys(&c, e, ppath, ek))) goto out;
            const cJSON *en = cJSON_GetObjectItemCaseSensitive(e, "name");
            for (const cJSON *f = exps->child; en && cJSON_IsString(en) && f != e; f = f->next) {
                const cJSON *fn = cJSON_GetObjectItemCaseSensitive(f, "name");
                if (fn && cJSON_IsString(fn) && !strcmp(fn->valuestring, en->valuestring)) {
                    char np[80];
                    snprintf(np, sizeof np, "%sname", prefix);
                    s = bad(&c, np, "duplicate experiment name \"%s\"", en->valuestring);
                    goto out;
                }
            }
            if ((s = expand_experiment(&c, plan, e, root, prefix, i))) goto out;
        }
    } else {
        if ((s = expand_experiment(&c, plan, root, NULL, "", 0))) goto out;
    }
    for (uint32_t i = 0; i < plan->npoints; i++) {
        plan->points[i].stat.eigenvalues = store_eig;
        plan->points[i].grid_solver = grid_solver;
    }
    if ((s = fill_swept(plan))) goto out;

    plan->config_json = sort_keys(root) ? NULL : cJSON_PrintUnformatted(root);
    if (!plan->config_json) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }
    s = sha256_hex(plan->config_json, plan->sha256);
out:
    cJSON_Delete(root);
    if (s) {
        rmt_plan_destroy(plan);
        return s;
    }
    *out = plan;
    return RMT_OK;
}

static rmt_status read_text(const char *path, char **text, size_t *length)
{
    FILE *f = fopen(path, "rb");
    if (!f) return RMT_ERR(RMT_EUSAGE, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    if (!buf) { fclose(f); return RMT_ERR(RMT_ERUNTIME, "out of memory"); }
    for (;;) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len < cap) break;
        if (cap >= (size_t)64 << 20) {
            free(buf);
            fclose(f);
            return RMT_ERR(RMT_EUSAGE, "%s: (top level): larger than 64 MiB, not a config", path);
        }
        char *g = realloc(buf, cap * 2);
        if (!g) { free(buf); fclose(f); return RMT_ERR(RMT_ERUNTIME, "out of memory"); }
        buf = g;
        cap *= 2;
    }
    int err = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (err) { free(buf); return RMT_ERR(RMT_EUSAGE, "%s: cannot read: %s", path, strerror(err)); }
    if (memchr(buf, '\0', len)) {
        free(buf);
        return RMT_ERR(RMT_EUSAGE, "%s: (top level): contains a NUL byte, not a JSON text", path);
    }
    *text = buf;
    *length = len;
    return RMT_OK;
}

/* The first difference of x and y below path (of length at); 1 when found. */
static int json_diff(const cJSON *x, const cJSON *y, char *path, size_t len, size_t at)
{
    if (at >= len) at = len - 1;
    path[at] = '\0';
    if (!x || !y) return x != y;
    if (cJSON_IsObject(x) && cJSON_IsObject(y)) {
        for (int pass = 0; pass < 2; pass++) {
            const cJSON *from = pass ? y : x, *to = pass ? x : y, *e;
            cJSON_ArrayForEach(e, from)
            {
                const cJSON *o = cJSON_GetObjectItemCaseSensitive(to, e->string);
                snprintf(path + at, len - at, "%s%s", at ? "." : "", e->string);
                size_t next = strlen(path);
                if (!o) return 1;
                if (!pass && json_diff(e, o, path, len, next)) return 1;
            }
        }
        path[at] = '\0';
        return 0;
    }
    if (cJSON_IsArray(x) && cJSON_IsArray(y)) {
        int nx = cJSON_GetArraySize(x), ny = cJSON_GetArraySize(y);
        for (int i = 0; i < (nx > ny ? nx : ny); i++) {
            snprintf(path + at, len - at, "[%d]", i);
            if (i >= nx || i >= ny || json_diff(cJSON_GetArrayItem(x, i), cJSON_GetArrayItem(y, i), path, len, strlen(path)))
                return 1;
        }
        path[at] = '\0';
        return 0;
    }
    return !cJSON_Compare(x, y, 1);
}

/* config.h */
int rmt_config_difference(const char *a, const char *b, char *path, size_t len)
{
    if (len == 0) return 0;
    path[0] = '\0';
    cJSON *x = a ? cJSON_Parse(a) : NULL, *y = b ? cJSON_Parse(b) : NULL;
    int d = x && y ? json_diff(x, y, path, len, 0) : 1;
    if (!x || !y) path[0] = '\0';
    cJSON_Delete(x);
    cJSON_Delete(y);
    return d;
}

/* Drop the settings that say only where and how often to write, and when
 * to give up (an "output" left empty or missing becomes {}, so that a
 * difference there is named by its key). */
static void strip_where_only(cJSON *cfg)
{
    static const char *const where_only[] = {"path", "checkpoint_seconds", "checkpoint_draws"};
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "max_failures");
    cJSON *o = cJSON_GetObjectItemCaseSensitive(cfg, "output");
    if (!o && cJSON_IsObject(cfg)) o = cJSON_AddObjectToObject(cfg, "output");
    if (!cJSON_IsObject(o)) return;
    for (size_t i = 0; i < sizeof where_only / sizeof *where_only; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(o, where_only[i]);
}

static void strip_draws(cJSON *cfg);

int rmt_config_results_difference(const char *a, const char *b, char *path, size_t len, int but_draws)
{
    if (len == 0) return !rmt_config_same_results(a, b);
    path[0] = '\0';
    cJSON *x = a ? cJSON_Parse(a) : NULL, *y = b ? cJSON_Parse(b) : NULL;
    if (x) strip_where_only(x);
    if (y) strip_where_only(y);
    if (x && but_draws) strip_draws(x);
    if (y && but_draws) strip_draws(y);
    int d = x && y ? json_diff(x, y, path, len, 0) : 1;
    if (!x || !y) path[0] = '\0';
    cJSON_Delete(x);
    cJSON_Delete(y);
    if (!d && !(but_draws ? rmt_config_same_but_draws(a, b) : rmt_config_same_results(a, b))) {
        /* the same keys and values in another order */
        d = 1;
        snprintf(path, len, "key order (a sweep's points follow it)");
    }
    return d;
}

/* Drop every "draws" (top level and each experiment's). */
static void strip_draws(cJSON *cfg)
{
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "draws");
    cJSON *e, *exps = cJSON_GetObjectItemCaseSensitive(cfg, "experiments");
    cJSON_ArrayForEach(e, exps)
    {
        if (cJSON_IsObject(e)) cJSON_DeleteItemFromObjectCaseSensitive(e, "draws");
    }
}

int rmt_config_same_but_draws(const char *a, const char *b)
{
    cJSON *x = a ? cJSON_Parse(a) : NULL, *y = b ? cJSON_Parse(b) : NULL;
    char *tx = NULL, *ty = NULL;
    if (x && y) {
        strip_draws(x);
        strip_draws(y);
        tx = cJSON_PrintUnformatted(x);
        ty = cJSON_PrintUnformatted(y);
    }
    int same = tx && ty && rmt_config_same_results(tx, ty);
    cJSON_free(tx);
    cJSON_free(ty);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return same;
}

int rmt_config_same_results(const char *a, const char *b)
{
    /* all but "output" compared as text: the order of keys decides the
     * order of a sweep's points (json_diff and cJSON_Compare look keys up
     * by name); what is left of "output" by its keys, wherever it stands */
    cJSON *x = a ? cJSON_Parse(a) : NULL, *y = b ? cJSON_Parse(b) : NULL, *ox = NULL, *oy = NULL;
    char *tx = NULL, *ty = NULL;
    if (x && y) {
        strip_where_only(x);
        strip_where_only(y);
        ox = cJSON_DetachItemFromObjectCaseSensitive(x, "output");
        oy = cJSON_DetachItemFromObjectCaseSensitive(y, "output");
        tx = cJSON_PrintUnformatted(x);
        ty = cJSON_PrintUnformatted(y);
    }
    int same = tx && ty && !strcmp(tx, ty) && ox && oy && cJSON_Compare(ox, oy, 1);
    cJSON_free(tx);
    cJSON_free(ty);
    cJSON_Delete(ox);
    cJSON_Delete(oy);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return same;
}

rmt_status rmt_config_load(const char *path, rmt_plan **out)
{
    *out = NULL;
    char *buf = NULL;
    size_t len = 0;
    RMT_TRY(read_text(path, &buf, &len));
    rmt_status s = rmt_config_parse(buf, len, path, out);
    free(buf);
    return s;
}

/* Remove from obj the keys of list, naming each in ignored (prefix: their path). */
static void leave_aside(cJSON *obj, const char *prefix, const char *const *list, char *ignored, size_t len)
{
    for (const char *const *k = list; obj && *k; k++) {
        if (!cJSON_GetObjectItemCaseSensitive(obj, *k)) continue;
        size_t at = strlen(ignored);
        if (at < len) snprintf(ignored + at, len - at, "%s%s%s", at ? ", " : "", prefix, *k);
        cJSON_DeleteItemFromObjectCaseSensitive(obj, *k);
    }
}

rmt_status rmt_config_load_analyze(const char *path, const char *source, int64_t n, uint32_t rows, double data_lo,
                                   double data_hi, char *ignored, size_t ignored_len, rmt_plan **out)
{
    *out = NULL;
    if (ignored_len) ignored[0] = '\0';
    char *buf = NULL;
    size_t len = 0;
    const char *label = path ? path : "(defaults)";
    ctx c = {.label = label};
    cJSON *root = NULL;
    rmt_status s = RMT_OK;
    rmt_plan *plan = rmt_plan_create_shared(1);
    if (!plan) return RMT_ERR(RMT_ERUNTIME, "out of memory");
    if (path) {
        if ((s = read_text(path, &buf, &len))) goto out;
        root = cJSON_ParseWithLength(buf, len);
        if (!root) {
            s = RMT_ERR(RMT_EUSAGE, "%s: (top level): malformed JSON", path);
            goto out;
        }
    } else {
        /* what analyze measures when no config is given (one spectrum
         * has no others to pool: a fitted polynomial unfolds it) */
        char def[256];
        snprintf(def, sizeof def, "{\"name\":\"analyze\",\"statistics\":{\"density\":{\"bins\":100},"
                 "\"zero_mass\":{\"tolerance\":\"auto\"},\"moments\":4,\"spacings\":{\"unfolding\":\"%s\"},"
                 "\"gap_ratios\":{}}}", rows >= 2 ? "pool" : "polynomial");
        root = cJSON_Parse(def);
        if (!root) { s = RMT_ERR(RMT_ERUNTIME, "out of memory"); goto out; }
    }
    if ((s = want_object(&c, root, ""))) goto out;
    if (cJSON_GetObjectItemCaseSensitive(root, "experiments")) {
        s = bad(&c, "experiments", "analyze measures one set of spectra: give its statistics (and an ensemble to "
                "compare with) at the top level");
        goto out;
    }
    /* a run's config: what only a run uses is left aside */
    static const char *const run_only[] = {"seed", "draws", "ranks_per_draw", "solver", "max_failures", NULL};
    static const char *const run_output[] = {"path", "checkpoint_seconds", "checkpoint_draws", NULL};
    leave_aside(root, "", run_only, ignored, ignored_len);
    cJSON *run_out = cJSON_GetObjectItemCaseSensitive(root, "output");
    if (cJSON_IsObject(run_out)) leave_aside(run_out, "output.", run_output, ignored, ignored_len);
    static const char *const keys[] = {"name", "statistics", "ensemble", "output", NULL};
    if ((s = check_keys(&c, root, "", keys))) goto out;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (name && !cJSON_IsString(name)) { s = bad(&c, "name", "expected a string, found %s", type_name(name)); goto out; }
    rmt_point *pt = &plan->points[0];
    memset(pt, 0, sizeof *pt);
    pt->draws = rows;
    pt->ranks_per_draw = 1;
    const cJSON *ens = cJSON_GetObjectItemCaseSensitive(root, "ensemble");
    if (ens) {
        /* an ensemble names the theory to compare with; its n must be the spectra's */
        if ((s = parse_ensemble(&c, ens, "ensemble", &pt->ens))) goto out;
        if (pt->ens.n != n) {
            s = bad(&c, "ensemble.n", "n = %lld, but the spectra have %lld eigenvalues", (long long)pt->ens.n, (long long)n);
            goto out;
        }
    }
    pt->ens.n = n;
    if ((s = parse_statistics(&c, cJSON_GetObjectItemCaseSensitive(root, "statistics"), "statistics", &pt->ens, &pt->stat)))
        goto out;
    if (pt->stat.sp_unfold == RMT_UNFOLD_POOL && rows < 2) {
        s = bad(&c, "statistics.spacings", "pool unfolding (the default) unfolds each spectrum against the others, "
                "and %s holds only one: use \"unfolding\": \"polynomial\" (or \"theory\" with an ensemble)", source);
        goto out;
    }
    if (isnan(pt->stat.lo)) {
        /* the spectra's range plus 5 % each side, which must be doubles */
        double w = data_hi > data_lo ? data_hi - data_lo : 1.0;
        pt->stat.lo = data_lo - 0.05 * w;
        pt->stat.hi = data_hi + 0.05 * w;
        if (!isfinite(pt->stat.lo) || !isfinite(pt->stat.hi) || !isfinite(pt->stat.hi - pt->stat.lo)) {
            s = bad(&c, "statistics.density.range", "%s spans [%s, %s], too wide for histogram bins; give a range "
                    "(-c CONFIG.json with \"statistics\": {\"density\": {\"range\": [low, high]}})", source,
                    num(data_lo).s, num(data_hi).s);
            goto out;
        }
    }
    const cJSON *output = cJSON_GetObjectItemCaseSensitive(root, "output");
    if (output) {
        if ((s = want_object(&c, output, "output"))) goto out;
        static const char *const ok[] = {"eigenvalues", NULL};
        if ((s = check_keys(&c, output, "output", ok))) goto out;
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(output, "eigenvalues");
        if (ev && !cJSON_IsBool(ev)) { s = bad(&c, "output.eigenvalues", "expected true or false"); goto out; }
        pt->stat.eigenvalues = ev && cJSON_IsTrue(ev);
    }
    if (pt->ens.kind) {
        rmt_ensemble_theory(&pt->ens, &pt->zero_mass_theory, &pt->lambda_max_theory, pt->moments_theory);
    } else {
        pt->zero_mass_theory = pt->lambda_max_theory = NAN;
        for (int k = 0; k < RMT_MAX_MOMENTS; k++) pt->moments_theory[k] = NAN;
    }
    plan->name = xstrdup(name ? name->valuestring : "analyze");
    plan->output_path = xstrdup("");
    plan->config_path = xstrdup(label);
    plan->nexp = 1;
    plan->exp_names = calloc(1, sizeof(char *));
    plan->exp_prefix = calloc(1, sizeof(char *));
    plan->exp_rpd_path = calloc(1, sizeof(char *));
    plan->params_json = calloc(1, sizeof(char *));
    /* the point's parameters: the ensemble compared with (as a run's
     * params_json holds its ensemble), the source and its spectra */
    cJSON *pj = ens ? cJSON_Duplicate(ens, 1) : cJSON_CreateObject();
    if (pj) {
        cJSON_DeleteItemFromObjectCaseSensitive(pj, "n");
        cJSON_AddStringToObject(pj, "source", source);
        cJSON_AddNumberToObject(pj, "n", (double)n);
        cJSON_AddNumberToObject(pj, "spectra", rows);
        if (sort_keys(pj)) {
            cJSON_Delete(pj);
            pj = NULL;
        }
    }
    plan->config_json = sort_keys(root) ? NULL : cJSON_PrintUnformatted(root);
    if (!plan->name || !plan->output_path || !plan->config_path || !plan->exp_names || !plan->exp_prefix ||
        !plan->exp_rpd_path || !plan->params_json || !pj || !plan->config_json) {
        cJSON_Delete(pj);
        s = RMT_ERR(RMT_ERUNTIME, "out of memory");
        goto out;
    }
    plan->exp_names[0] = xstrdup(plan->name);
    plan->exp_prefix[0] = xstrdup("");
    plan->exp_rpd_path[0] = xstrdup("ranks_per_draw");
    plan->params_json[0] = cJSON_PrintUnformatted(pj);
    cJSON_Delete(pj);
    if (!plan->exp_names[0] || !plan->exp_prefix[0] || !plan->exp_rpd_path[0] || !plan->params_json[0]) {
        s = RMT_ERR(RMT_ERUNTIME, "out of memory");
        goto out;
    }
    s = sha256_hex(plan->config_json, plan->sha256);
out:
    cJSON_Delete(root);
    free(buf);
    if (s) {
        rmt_plan_destroy(plan);
        return s;
    }
    *out = plan;
    return RMT_OK;
}

/* The size of the matrix a draw of e diagonalizes (what a grid's
 * efficiency depends on). */
/* config.h */
int64_t rmt_config_solved_dim(const rmt_ensemble *e)
{
    rmt_layout lay;
    rmt_ensemble_layout(e, &lay);
    if (lay.form == RMT_FORM_GRAM) return lay.rows < lay.cols ? lay.rows : lay.cols;
    if (lay.form == RMT_FORM_PRODUCT && e->form == RMT_PROD_SIMILAR) {
        /* one factor as it is, or Y^T S Y with W = Y Y^T the wishart one */
        int64_t r, c;
        int gr;
        int k = e->nfactors == 2 && e->factors[0].kind != RMT_FAC_WISHART ? 1 : 0;
        rmt_ensemble_factor_shape(e, k, &r, &c, &gr);
        return gr && c < r ? c : r;
    }
    if (lay.form == RMT_FORM_PRODUCT && e->form == RMT_PROD_GRAM) {
        int64_t thin = e->n;
        for (int k = 0; k < e->nfactors; k++) {
            int64_t r, c;
            int gr;
            rmt_ensemble_factor_shape(e, k, &r, &c, &gr);
            int64_t out = gr ? c : r;
            if (out < thin) thin = out;
        }
        return thin;
    }
    return lay.rows;
}

/* Bytes one rank needs for a draw of e on a group of g ranks with the grid
 * solver `driver` (RMT_GRID_*, 0: the default): the rank's share of what is
 * generated, and the eigenproblem of rmt_config_solved_dim(e) on the grid. */
double rmt_point_bytes(const rmt_ensemble *e, int g, int driver)
{
    if (g <= 1) return rmt_ensemble_bytes(e);
    rmt_layout lay;
    rmt_ensemble_layout(e, &lay);
    double gen = 0;
    if (lay.form == RMT_FORM_PRODUCT) {
        /* the factors' shares and two chain products */
        double fac = 0, big = 0;
        for (int k = 0; k < e->nfactors; k++) {
            int64_t r, c;
            int gr;
            rmt_ensemble_factor_shape(e, k, &r, &c, &gr);
            fac += (double)r * (double)c;
            big = fmax(big, fmax((double)r, (double)c));
        }
        gen = 8.0 * (fac + 2.0 * big * (double)e->n) / g * 1.1;
    } else if (lay.form == RMT_FORM_GRAM) {
        gen = 8.0 * (double)lay.rows * (double)lay.cols / g * 1.1;
    }
    return gen + rmt_grid_bytes(rmt_config_solved_dim(e), g, driver) + 8.0 * (double)e->n;
}

/* "auto": the group size g (unless the config gives it) and the grid
 * solver (unless the config or RMT_GRID_DRIVER names it) that finish a point's draws
 * soonest on `ranks` ranks within the memory per rank, by a model: groups =
 * ranks / g work in rounds of ceil(draws / groups) draws, a draw taking
 * t1 / (g eff) with eff the grid's measured efficiency (rmt_grid_efficiency;
 * 1 for one rank with LAPACK). A larger group or another solver must
 * promise at least 10% less time (the measurements' noise) than the smaller
 * group or PDSYEV, which use the least memory. Group sizes tried: the
 * smallest that fits, and every larger divisor of the ranks (no rank idle). */
#define AUTO_MARGIN 0.9
static void choose_group(rmt_point *pt, int ranks, double budget)
{
    int fixed = pt->grid_solver != 0 || rmt_grid_driver_forced();
    int64_t n = rmt_config_solved_dim(&pt->ens);
    int gmin = pt->ranks_per_draw, gmax = pt->ranks_per_draw;
    if (gmin == 0) {
        /* "auto": from the smallest group that fits */
        gmin = 1;
        gmax = ranks;
        while (gmin < ranks && rmt_point_bytes(&pt->ens, gmin, fixed ? pt->grid_solver : RMT_GRID_PDSYEV) > budget)
            gmin++;
    }
    double best = INFINITY;
    int best_g = gmin, best_d = pt->grid_solver;
    for (int g = gmin; g <= gmax; g++) {
        if (g != gmin && ranks % g) continue;
        int drivers[2] = {fixed ? pt->grid_solver : RMT_GRID_PDSYEV, RMT_GRID_ELPA}, nd = 1;
        if (g > 1 && !fixed && rmt_grid_have_elpa() && rmt_point_bytes(&pt->ens, g, RMT_GRID_ELPA) <= budget) nd = 2;
        for (int k = 0; k < nd; k++) {
            double eff = g == 1 ? 1.0 : rmt_grid_efficiency(drivers[k], n, g);
            /* the master's group may only dispatch */
            int groups = ranks / g;
            if (!rmt_master_computes(groups, g)) groups--;
            double rounds = ceil((double)pt->draws / (double)groups);
            double cost = rounds / ((double)g * eff);
            if (cost < best * AUTO_MARGIN) {
                best = cost;
                best_g = g;
                best_d = g > 1 && !fixed ? drivers[k] : pt->grid_solver;
            }
        }
    }
    pt->ranks_per_draw = best_g;
    pt->grid_solver = best_d;
}

rmt_status rmt_config_check_memory(rmt_plan *plan, int ranks, double bytes_per_rank, const char *describe)
{
    for (uint32_t i = 0; i < plan->npoints; i++) {
        rmt_point *pt = &plan->points[i];
        const char *rpath = plan->exp_rpd_path[pt->experiment];
        if (pt->ranks_per_draw > ranks)
            return RMT_ERR(RMT_EUSAGE, "%s: %s: %d ranks per draw, but the run has %d rank%s (point %u); run on at "
                           "least %d ranks or lower it", plan->config_path, rpath, pt->ranks_per_draw, ranks,
                           ranks == 1 ? "" : "s", i, pt->ranks_per_draw);
        /* "auto" group sizes, and the solver of grids the config leaves to us */
        int env_solver = pt->grid_solver == 0 && rmt_grid_driver_forced(), cfg_solver = pt->grid_solver != 0;
        if (pt->ranks_per_draw == 0 || (pt->ranks_per_draw > 1 && pt->grid_solver == 0))
            choose_group(pt, ranks, bytes_per_rank);
        double need = rmt_point_bytes(&pt->ens, pt->ranks_per_draw, pt->grid_solver);
        if (need > bytes_per_rank) {
            /* what would make it fit */
            char fix[320];
            if (pt->ranks_per_draw < ranks)
                snprintf(fix, sizeof fix, "; a larger ranks_per_draw would share it (%s in all)",
                         bytes_str(need * pt->ranks_per_draw).s);
            else
                snprintf(fix, sizeof fix, "; run on more ranks (a larger ranks_per_draw) or with more memory per rank (%s "
                         "in all; for ranks on other nodes, give check --mem-per-rank what a rank has there)",
                         bytes_str(need * pt->ranks_per_draw).s);
            double pdsyev = rmt_point_bytes(&pt->ens, pt->ranks_per_draw, RMT_GRID_PDSYEV);
            if ((env_solver || cfg_solver) && pt->ranks_per_draw > 1 && pt->grid_solver != RMT_GRID_PDSYEV &&
                pdsyev < need) {
                size_t used = strlen(fix);
                snprintf(fix + used, sizeof fix - used, "; the solver %s is set by %s (pdsyev needs %s)",
                         rmt_grid_solver_name(pt->grid_solver),
                         env_solver ? "RMT_GRID_DRIVER" : "the config's \"solver\"", bytes_str(pdsyev).s);
            }
            /* name the field that makes the draw big: n, or for a wide wishart t (or ratio) */
            const char *field = "n";
            char dims[96];
            snprintf(dims, sizeof dims, "n = %lld", (long long)pt->ens.n);
            if (pt->ens.kind == RMT_ENS_WISHART) {
                snprintf(dims, sizeof dims, "n = %lld, t = %lld", (long long)pt->ens.n, (long long)pt->ens.t);
                if (pt->ens.t > pt->ens.n)
                    field = plan->params_json && strstr(plan->params_json[i], "\"ratio\":") ? "ratio" : "t";
            }
            if (pt->ens.kind == RMT_ENS_PRODUCT) {
                /* the chain's dimensions together make the draw big */
                field = "factors";
                snprintf(dims, sizeof dims, "N0 = %lld with %d factors", (long long)pt->ens.n, (int)pt->ens.nfactors);
            }
            char path[128];
            snprintf(path, sizeof path, "%sensemble.%s", plan->exp_prefix[pt->experiment], field);
            return RMT_ERR(RMT_EUSAGE,
                           "%s: %s: %s needs %s per rank for one draw on %d rank%s (point %u), more than the "
                           "%s available per rank (%s)%s",
                           plan->config_path, path, dims, bytes_str(need).s, pt->ranks_per_draw,
                           pt->ranks_per_draw == 1 ? "" : "s", i, bytes_str(bytes_per_rank).s, describe, fix);
        }
    }
    return RMT_OK;
}
