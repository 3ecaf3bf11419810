/* freeprob: moments of limiting spectral laws, by power series in double
 * precision: Catalan, Narayana (Marchenko-Pastur), free multiplicative
 * convolution through S-transforms, and the product of a free semicircle
 * with a positive element. Pure functions; no MPI, no allocation.
 *
 * A law is given by its moments m[0..K-1] = m_1 .. m_K (m_k = phi(x^k)),
 * K <= RMT_FP_MAX. */
#ifndef RMT_FREEPROB_H
#define RMT_FREEPROB_H

#define RMT_FP_MAX 32

/* Semicircle on [-2, 2]: m_k = Catalan(k/2) for even k, 0 for odd k. */
void rmt_fp_semicircle(int K, double *m);

/* Marchenko-Pastur with ratio q = n/t and mean 1 (W = Z Z^T / t, atom at
 * zero included): m_k = sum_{r=1..k} (1/k) C(k, r) C(k, r-1) q^(r-1). */
void rmt_fp_marchenko_pastur(double q, int K, double *m);

/* Fuss-Catalan numbers (1/(s k + 1)) C((s + 1) k, k), k = 1..K: the
 * moments of P^T P for a product P of s square Gaussian factors. */
void rmt_fp_fuss_catalan(int s, int K, double *m);

/* Moments of the free multiplicative convolution of a and b (both with a
 * nonzero first moment), through S_ab = S_a S_b. Returns 0, or -1 when a
 * first moment is zero. */
int rmt_fp_free_product(const double *a, const double *b, int K, double *out);

/* Moments of a^(1/2) s a^(1/2) with s a standard semicircle free from a:
 * m_2k = sum over non-crossing pairings pi of [2k] of prod over the blocks
 * V of the Kreweras complement of pi of phi(a^|V|); odd moments 0. a needs
 * K moments. K <= 16. */
void rmt_fp_semicircle_product(const double *a, int K, double *out);

/* Right edge of the law with S-transform prod_i 1/(1 + c_i z) (a free
 * product of Marchenko-Pastur laws, e.g. P^T P for a chain of Gaussian
 * factors): min over z > 0 of (1 + z)/z prod_i (1 + c_i z). */
double rmt_fp_product_edge(const double *c, int k);

/* The least value of f(par, x) on [lo, hi] for f with one minimum there:
 * golden-section search down to an interval of tol. */
double rmt_fp_golden_min(double (*f)(const double *par, double x), const double *par, double lo, double hi, double tol);

/* Right edge of W^(1/2) H W^(1/2) (the spectrum of W H), W Marchenko-Pastur
 * of ratio q (mean 1), H a semicircle on [-2, 2] free from W; the spectrum
 * is symmetric. Its Stieltjes transform is G(z) = int dmu_W(x) / (z - e x)
 * with e = int x dmu_W(x) / (z - e x) (H is semicircular: the self-energy
 * of the Gaussian H is W times (1/n) tr W R); with w = z / e this is
 * e^2 = h(w) = int x / (w - x) dmu_W, z = w sqrt(h(w)), and the edge is the
 * minimum of z over w beyond W's support (as for Silverstein and Choi's
 * sample covariance edges). q -> 0 gives 2. */
double rmt_fp_wishart_wigner_edge(double q);

#endif
