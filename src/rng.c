#include "rng.h"

#include <math.h>
#include <pthread.h>
#include <string.h>
#include <Random123/philox.h>

void rmt_rng_block(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag, uint32_t out[4])
{
    philox4x32_ctr_t c = {{i, j, s->draw, tag}};
    philox4x32_key_t k = {{s->seed, s->point}};
    philox4x32_ctr_t r = philox4x32(c, k);
    for (int q = 0; q < 4; q++) out[q] = r.v[q];
}

/* 53 bits from two words, mapped to the open interval (0, 1): (m + 0.5) / 2^53. */
static double u53(uint32_t hi, uint32_t lo)
{
    uint64_t m = ((uint64_t)hi << 21) ^ (uint64_t)(lo >> 11);
    return ((double)m + 0.5) * 0x1p-53;
}

double rmt_rng_uniform(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag)
{
    uint32_t w[4];
    rmt_rng_block(s, i, j, tag, w);
    return u53(w[0], w[1]);
}

/* Ziggurat tables (Doornik 2005, "An improved ziggurat method to generate
 * normal random samples", 128 blocks): x[i] the right edges, ratio[i] =
 * x[i+1] / x[i]. Computed once; only IEEE arithmetic and libm's exp/log/sqrt
 * enter, at start-up. */
#define ZIG_C 128
#define ZIG_R 3.442619855899            /* start of the tail */
#define ZIG_V 9.91256303526217e-3      /* area of each block */
static double zig_x[ZIG_C + 1], zig_ratio[ZIG_C];
static pthread_once_t zig_once = PTHREAD_ONCE_INIT; /* rank 0 draws in a second thread */

static void zig_init(void)
{
    double f = exp(-0.5 * ZIG_R * ZIG_R);
    zig_x[0] = ZIG_V / f; /* the bottom block holds the tail beyond R */
    zig_x[1] = ZIG_R;
    zig_x[ZIG_C] = 0;
    for (int i = 2; i < ZIG_C; i++) {
        zig_x[i] = sqrt(-2.0 * log(ZIG_V / zig_x[i - 1] + f));
        f = exp(-0.5 * zig_x[i] * zig_x[i]);
    }
    for (int i = 0; i < ZIG_C; i++) zig_ratio[i] = zig_x[i + 1] / zig_x[i];
}

/* Block b of the normal at (i, j, tag): b = 0 is the counter itself, later
 * blocks (rare: rejections and the tail) put b above the tags' range. */
static void nblock(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag, uint32_t b, uint32_t w[4])
{
    rmt_rng_block(s, i, j, tag + (b << 20), w);
}

/* The normal at (i, j, tag) given its first block w: the whole of
 * rmt_rng_normal but computing that block. */
static double normal_from(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag, uint32_t w[4])
{
    uint32_t b = 1;
    for (;;) {
        /* u uniform in (-1, 1) from 53 bits, the block from 7 other bits */
        double u = 2.0 * u53(w[0], w[1]) - 1.0;
        unsigned k = w[2] & (ZIG_C - 1);
        if (fabs(u) < zig_ratio[k]) return u * zig_x[k]; /* inside a rectangle: 97.25 % */
        if (k == 0) {
            /* the tail beyond R, exactly (Marsaglia 1964): no truncation */
            double x, y;
            do {
                uint32_t t[4];
                nblock(s, i, j, tag, b++, t);
                x = log(u53(t[0], t[1])) / ZIG_R;
                y = log(u53(t[2], t[3]));
            } while (-2.0 * y < x * x);
            return u < 0 ? x - ZIG_R : ZIG_R - x;
        }
        /* a wedge: accept under the density */
        double x = u * zig_x[k];
        double f0 = exp(-0.5 * (zig_x[k] * zig_x[k] - x * x));
        double f1 = exp(-0.5 * (zig_x[k + 1] * zig_x[k + 1] - x * x));
        if (f1 + u53(w[3], w[2] >> 7) * (f0 - f1) < 1.0) return x;
        nblock(s, i, j, tag, b++, w);
    }
}

double rmt_rng_normal(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag)
{
    pthread_once(&zig_once, zig_init);
    uint32_t w[4];
    nblock(s, i, j, tag, 0, w);
    return normal_from(s, i, j, tag, w);
}

/* ------------------------------------------------------------------ runs */

/* Counters per batch (a multiple of every VLANES). Philox runs on GCC vectors of 64-bit lanes, each
 * holding one 32-bit word: VBYTES wide, the widest the build's ISA has
 * (one AVX-512 register holds 8 lanes). The rest are plain loops over
 * lanes marked `omp simd` (meson passes -fopenmp-simd: vectorisation only,
 * no OpenMP runtime). Integer arithmetic is exact and the floating-point
 * operations are rmt_rng_normal's, lane by lane, so the values do not depend
 * on the vector width or the ISA. */
enum { LANES = 16 };

#if defined(__AVX512F__)
#include <immintrin.h>
#define VBYTES 64
#elif defined(__AVX2__)
#include <immintrin.h>
#define VBYTES 32
#elif defined(__SSE2__)
#include <immintrin.h>
#define VBYTES 16
#else
#define VBYTES 16
#endif
typedef uint64_t u64v __attribute__((vector_size(VBYTES)));
enum { VLANES = VBYTES / 8, NVEC = LANES / VLANES };

/* a * b for lanes below 2^32 (upper halves are ignored): the 32 x 32 ->
 * 64-bit multiply of Philox. x86 has it as one instruction (pmuludq); gcc
 * would multiply the full 64 bits (vpmullq, or three pmuludq without
 * AVX-512DQ), which costs 1.3-2.5x the whole of Philox. */
static inline u64v mul32(u64v a, u64v b)
{
#if defined(__AVX512F__)
    return (u64v)_mm512_mul_epu32((__m512i)a, (__m512i)b);
#elif defined(__AVX2__)
    return (u64v)_mm256_mul_epu32((__m256i)a, (__m256i)b);
#elif defined(__SSE2__)
    return (u64v)_mm_mul_epu32((__m128i)a, (__m128i)b);
#else
    const uint64_t lo = 0xffffffffu;
    return (a & lo) * (b & lo);
#endif
}

/* Philox4x32-10 of LANES consecutive counters: word `along` of counter l is
 * c[along] + l (mod 2^32), the others c; lane l of x[q] (vector l / VLANES,
 * element l % VLANES) is word q of block l. Random123's rounds and
 * constants (as philox4x32: round, bump the key, round, ...), on vectors,
 * because its philox4x32() on one counter at a time does not vectorise.
 * Within the rounds only the low 32 bits of a lane are kept exact: the
 * upper half of a word never reaches a lower one (mul32 ignores it, the
 * rest is xor), so it is cleared once, at the end. */
static inline void philox_lanes(const uint32_t key[][2], const uint32_t c[4], int along, u64v x[4][NVEC])
{
    const uint64_t lo = 0xffffffffu;
    u64v lane;
    for (int e = 0; e < VLANES; e++) lane[e] = (uint64_t)e;
    for (int q = 0; q < 4; q++)
        for (int v = 0; v < NVEC; v++) {
            x[q][v] = (u64v){0} + c[q];
            if (q == along) x[q][v] += (uint64_t)(v * VLANES) + lane;
        }
    const u64v m0 = (u64v){0} + PHILOX_M4x32_0, m1 = (u64v){0} + PHILOX_M4x32_1;
    for (int r = 0; r < philox4x32_rounds; r++) {
        for (int v = 0; v < NVEC; v++) {
            u64v p0 = mul32(x[0][v], m0), p1 = mul32(x[2][v], m1);
            x[0][v] = (p1 >> 32) ^ x[1][v] ^ key[r][0];
            x[1][v] = p1;
            x[2][v] = (p0 >> 32) ^ x[3][v] ^ key[r][1];
            x[3][v] = p0;
        }
    }
    for (int q = 0; q < 4; q++)
        for (int v = 0; v < NVEC; v++) x[q][v] &= lo;
}

/* The round keys of (seed, point): key, key + W, key + 2 W, ... */
static void round_keys(const rmt_stream *s, uint32_t key[philox4x32_rounds][2])
{
    uint32_t k0 = s->seed, k1 = s->point;
    for (int r = 0; r < philox4x32_rounds; r++) {
        key[r][0] = k0;
        key[r][1] = k1;
        k0 += PHILOX_W32_0;
        k1 += PHILOX_W32_1;
    }
}

void rmt_rng_uniforms(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag, rmt_rng_along along, int64_t count,
                      double *out)
{
    uint32_t key[philox4x32_rounds][2];
    uint64_t x[2][LANES];
    double part[LANES];
    round_keys(s, key);
    for (int64_t k0 = 0; k0 < count; k0 += LANES) {
        uint32_t c[4] = {i, j, s->draw, tag};
        c[along] += (uint32_t)k0;
        u64v p[4][NVEC];
        philox_lanes(key, c, along, p);
        memcpy(x[0], p[0], sizeof p[0]);
        memcpy(x[1], p[1], sizeof p[1]);
        int m = count - k0 < LANES ? (int)(count - k0) : LANES;
        double *o = m == LANES ? out + k0 : part; /* a last, partial batch goes through part */
#pragma omp simd
        for (int l = 0; l < LANES; l++) o[l] = u53((uint32_t)x[0][l], (uint32_t)x[1][l]);
        if (m < LANES) memcpy(out + k0, part, sizeof(double) * (size_t)m);
    }
}

/* Values per chunk: the rectangle tests of a chunk's LANES-wide batches are
 * gathered in one bit mask before the rare fallbacks, so that a branch
 * taken on (unpredictable) failures runs once per CHUNK values. */
enum { CHUNK = 4 * LANES };

/* The first block's rectangle test of rmt_rng_normal on every lane, with
 * the same operations in the same order; lanes that fail it (wedges and the
 * tail: 2.75 % of values) go on in rmt_rng_normal's own code (normal_from)
 * from the block computed here. Contraction into FMA cannot make the two
 * paths differ: the only a * b + c shape is 2 u - 1, and 2 u is exact, so
 * fused or not it rounds once. The table look-ups take each lane's index
 * out of the Philox vectors, in a loop of their own: gcc does not vectorise
 * them (it makes no gathers when tuning for AMD Zen), and inside the
 * arithmetic's loop they would stop it vectorising that. */
void rmt_rng_normals(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag, rmt_rng_along along, int64_t count,
                     double scale, double *out)
{
    pthread_once(&zig_once, zig_init);
    uint32_t key[philox4x32_rounds][2];
    uint64_t x[4][CHUNK];
    double part[CHUNK], xk[LANES], rk[LANES];
    round_keys(s, key);
    for (int64_t k0 = 0; k0 < count; k0 += CHUNK) {
        const int m = count - k0 < CHUNK ? (int)(count - k0) : CHUNK;
        double *o = m == CHUNK ? out + k0 : part; /* a last, partial chunk goes through part */
        uint64_t slow = 0; /* bit l: value l failed the rectangle test */
        for (int b = 0; b < m; b += LANES) {
            uint32_t c[4] = {i, j, s->draw, tag};
            c[along] += (uint32_t)(k0 + b);
            u64v p[4][NVEC];
            philox_lanes(key, c, along, p);
            for (int q = 0; q < 4; q++) memcpy(x[q] + b, p[q], sizeof p[q]);
            for (int v = 0; v < NVEC; v++)
                for (int e = 0; e < VLANES; e++) {
                    unsigned k = (unsigned)p[2][v][e] & (ZIG_C - 1);
                    xk[v * VLANES + e] = zig_x[k];
                    rk[v * VLANES + e] = zig_ratio[k];
                }
            uint32_t fail = 0;
#pragma omp simd reduction(| : fail)
            for (int l = 0; l < LANES; l++) {
                double u = 2.0 * u53((uint32_t)x[0][b + l], (uint32_t)x[1][b + l]) - 1.0;
                o[b + l] = scale * (u * xk[l]);
                fail |= (uint32_t)!(fabs(u) < rk[l]) << l;
            }
            slow |= (uint64_t)fail << b;
        }
        if (m < CHUNK) slow &= ((uint64_t)1 << m) - 1;
        for (; slow; slow &= slow - 1) {
            const int l = __builtin_ctzll(slow);
            uint32_t cl[2] = {i, j}, w[4];
            cl[along] += (uint32_t)(k0 + l);
            for (int q = 0; q < 4; q++) w[q] = (uint32_t)x[q][l];
            o[l] = scale * normal_from(s, cl[0], cl[1], tag, w);
        }
        if (m < CHUNK) memcpy(out + k0, part, sizeof(double) * (size_t)m);
    }
}
