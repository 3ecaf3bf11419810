#include "freeprob.h"

#include <math.h>
#include <string.h>

static double binom(int n, int k)
{
    if (k < 0 || k > n) return 0.0;
    if (k > n - k) k = n - k;
    double b = 1.0;
    for (int i = 1; i <= k; i++) b = b * (double)(n - k + i) / (double)i;
    return b < 9e15 ? nearbyint(b) : b; /* exact below 2^53 */
}

void rmt_fp_semicircle(int K, double *m)
{
    for (int k = 1; k <= K; k++)
        m[k - 1] = k % 2 ? 0.0 : binom(k, k / 2) / (double)(k / 2 + 1);
}

void rmt_fp_marchenko_pastur(double q, int K, double *m)
{
    for (int k = 1; k <= K; k++) {
        double s = 0.0, qp = 1.0;
        for (int r = 1; r <= k; r++) {
            s += binom(k, r) * binom(k, r - 1) / (double)k * qp;
            qp *= q;
        }
        m[k - 1] = s;
    }
}

void rmt_fp_fuss_catalan(int s, int K, double *m)
{
    for (int k = 1; k <= K; k++) m[k - 1] = binom((s + 1) * k, k) / (double)(s * k + 1);
}

/* Series are arrays f[0..K] of coefficients of z^0 .. z^K. */

/* g with f(g(x)) = x + O(x^(K+1)), for f[0] = 0, f[1] != 0. */
static void revert(const double *f, int K, double *g)
{
    double pw[RMT_FP_MAX + 1][RMT_FP_MAX + 1]; /* pw[k] = g^k, truncated */
    memset(g, 0, sizeof(double) * (size_t)(K + 1));
    g[1] = 1.0 / f[1];
    for (int n = 2; n <= K; n++) {
        /* coefficient of x^n in f(g) with g_n = 0; g_n enters only through f_1 g_n */
        for (int i = 0; i <= K; i++) pw[1][i] = g[i];
        for (int k = 2; k <= n; k++)
            for (int i = 0; i <= n; i++) {
                double s = 0.0;
                for (int j = 1; j < i; j++) s += pw[k - 1][j] * g[i - j];
                pw[k][i] = s;
            }
        double c = 0.0;
        for (int k = 2; k <= n; k++) c += f[k] * pw[k][n];
        g[n] = -c / f[1];
    }
}

/* S-transform coefficients s[0..K-1] of the law with moments m[0..K-1]. */
static void s_transform(const double *m, int K, double *s)
{
    double psi[RMT_FP_MAX + 1], chi[RMT_FP_MAX + 1];
    psi[0] = 0.0;
    for (int k = 1; k <= K; k++) psi[k] = m[k - 1];
    revert(psi, K, chi);
    /* S(z) = chi(z) (1 + z) / z */
    for (int j = 0; j < K; j++) s[j] = chi[j + 1] + (j > 0 ? chi[j] : 0.0);
}

int rmt_fp_free_product(const double *a, const double *b, int K, double *out)
{
    if (K < 1) return 0;
    if (a[0] == 0.0 || b[0] == 0.0 || K > RMT_FP_MAX) return -1;
    double sa[RMT_FP_MAX], sb[RMT_FP_MAX], chi[RMT_FP_MAX + 1], psi[RMT_FP_MAX + 1];
    s_transform(a, K, sa);
    s_transform(b, K, sb);
    /* chi(z) = z S_a(z) S_b(z) / (1 + z) */
    chi[0] = 0.0;
    for (int k = 1; k <= K; k++) {
        double c = 0.0;
        for (int j = 0; j <= k - 1; j++) {
            double sj = 0.0;
            for (int i = 0; i <= j; i++) sj += sa[i] * sb[j - i];
            c += sj * ((k - 1 - j) % 2 ? -1.0 : 1.0);
        }
        chi[k] = c;
    }
    revert(chi, K, psi);
    for (int k = 1; k <= K; k++) out[k - 1] = psi[k];
    return 0;
}

/* Sum over the rest of a Dyck word from position pos: each closer pairs
 * with the latest open opener, which enumerates the non-crossing pairings. */
static void dyck(int pos, int n, int depth, int opens, int *stack, int *pr, const double *a, double *sum)
{
    if (pos == n) {
        /* Kreweras complement: the cycles of i -> pr[i + 1] */
        char seen[RMT_FP_MAX] = {0};
        double w = 1.0;
        for (int i = 0; i < n; i++) {
            if (seen[i]) continue;
            int len = 0, j = i;
            while (!seen[j]) {
                seen[j] = 1;
                len++;
                j = pr[(j + 1) % n];
            }
            w *= a[len - 1];
        }
        *sum += w;
        return;
    }
    if (opens < n / 2) {
        stack[depth] = pos;
        dyck(pos + 1, n, depth + 1, opens + 1, stack, pr, a, sum);
    }
    if (depth > 0) {
        int o = stack[depth - 1];
        pr[o] = pos;
        pr[pos] = o;
        dyck(pos + 1, n, depth - 1, opens, stack, pr, a, sum);
        stack[depth - 1] = o;
    }
}

void rmt_fp_semicircle_product(const double *a, int K, double *out)
{
    int stack[RMT_FP_MAX], pr[RMT_FP_MAX];
    for (int k = 1; k <= K && k <= 16; k++) {
        double s = 0.0;
        if (k % 2 == 0) dyck(0, k, 0, 0, stack, pr, a, &s);
        out[k - 1] = s;
    }
}

double rmt_fp_product_edge(const double *c, int k)
{
    /* d/du log f at z = e^u is z/(1+z) + sum c_i z/(1 + c_i z) - 1, increasing in u */
    double lo = -60.0, hi = 60.0;
    for (int it = 0; it < 200; it++) {
        double u = 0.5 * (lo + hi), z = exp(u), g = z / (1.0 + z) - 1.0;
        for (int i = 0; i < k; i++) g += c[i] * z / (1.0 + c[i] * z);
        if (g < 0) lo = u;
        else hi = u;
    }
    double z = exp(0.5 * (lo + hi)), f = (1.0 + z) / z;
    for (int i = 0; i < k; i++) f *= 1.0 + c[i] * z;
    return f;
}

double rmt_fp_golden_min(double (*f)(const double *par, double x), const double *par, double lo, double hi, double tol)
{
    const double g = 0.5 * (sqrt(5.0) - 1.0);
    double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo), f1 = f(par, x1), f2 = f(par, x2);
    for (int it = 0; it < 200 && hi - lo > tol; it++) {
        if (f1 < f2) {
            hi = x2, x2 = x1, f2 = f1;
            x1 = hi - g * (hi - lo), f1 = f(par, x1);
        } else {
            lo = x1, x1 = x2, f1 = f2;
            x2 = lo + g * (hi - lo), f2 = f(par, x2);
        }
    }
    return fmin(f1, f2);
}

/* z(w) = w sqrt(h(w)), h(w) = w G(w) - 1 = int x / (w - x) dmu_q(x), at
 * w = b + e^u beyond MP's edge b (par: q, a, b); G in the form free of
 * cancellation, 2 / ((w + q - 1) + sqrt((w - b)(w - a))). */
static double ww_z(const double *par, double u)
{
    const double q = par[0], a = par[1], b = par[2], d = exp(u), w = b + d;
    return w * sqrt(w * 2.0 / ((w + q - 1.0) + sqrt(d * (w - a))) - 1.0);
}

double rmt_fp_wishart_wigner_edge(double q)
{
    /* z falls from w = b (where G' diverges) and grows like sqrt(w): its
     * minimum is the edge */
    const double b = (1.0 + sqrt(q)) * (1.0 + sqrt(q)), a = (1.0 - sqrt(q)) * (1.0 - sqrt(q));
    const double par[3] = {q, a, b};
    return rmt_fp_golden_min(ww_z, par, -40.0, 12.0 + log(b), 1e-12);
}
