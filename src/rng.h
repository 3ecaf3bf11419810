/* rng: counter-based random numbers (Random123 Philox4x32-10).
 *
 * Every value is a pure function of (seed, point, draw, i, j, tag): there is
 * no generator state, so how draws or matrix blocks are split over ranks
 * cannot change a single bit. The key is (seed, point); the counter is
 * (i, j, draw, tag), where tag separates independent variables that share
 * an entry (the Gaussian value, a percolation mask, a factor index, ...).
 * Not collective; no MPI. */
#ifndef RMT_RNG_H
#define RMT_RNG_H

#include <stdint.h>

typedef struct {
    uint32_t seed;   /* config "seed" */
    uint32_t point;  /* global point index */
    uint32_t draw;   /* draw index within the point */
} rmt_stream;

/* Tags: which variable of an entry is drawn. */
enum {
    RMT_TAG_ENTRY = 0,     /* Gaussian value of a matrix entry */
    RMT_TAG_MASK = 1,      /* percolation keep/drop uniform */
    RMT_TAG_SHARED = 2,    /* a draw-wide variable (i, j give its number) */
    RMT_TAG_FACTOR0 = 16,  /* + factor number, for products */
    RMT_TAG_FACTOR_MASK0 = 32 /* + factor number: a product factor's percolation uniforms */
};

/* The raw Philox4x32-10 block for one counter. */
void rmt_rng_block(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag, uint32_t out[4]);

/* A uniform double in the open interval (0, 1) with 53 random bits. */
double rmt_rng_uniform(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag);

/* A standard normal N(0, 1) by the ziggurat method (Doornik's 128-block
 * version): about 97 % of values cost one Philox block, a compare and a
 * multiply; rejections and the tail beyond 3.44 draw further blocks (tag +
 * b 2^20), and the tail is sampled exactly (Marsaglia), so the tails are not
 * truncated. Tags must stay below 2^20. */
double rmt_rng_normal(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag);

/* Runs of consecutive counters, for filling matrices: one counter word
 * runs, the other fixed. RMT_RNG_ALONG_I: counters (i + k, j, draw, tag);
 * RMT_RNG_ALONG_J: (i, j + k, draw, tag); k = 0 .. count - 1, the running
 * word wrapping modulo 2^32. */
typedef enum { RMT_RNG_ALONG_I = 0, RMT_RNG_ALONG_J = 1 } rmt_rng_along;

/* out[k] = scale * rmt_rng_normal(s, counter k), bit for bit: Philox runs on
 * 16 counters at once and the ziggurat's rectangle test on all of them; the
 * 2.75 % of values that fail it go on in rmt_rng_normal's own code. About 3x
 * faster than a loop of rmt_rng_normal with AVX-512 or AVX2. */
void rmt_rng_normals(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag, rmt_rng_along along, int64_t count,
                     double scale, double *out);

/* out[k] = rmt_rng_uniform(s, counter k), bit for bit. */
void rmt_rng_uniforms(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag, rmt_rng_along along, int64_t count,
                      double *out);

#endif
