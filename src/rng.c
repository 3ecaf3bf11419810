#include "rng.h"

#include <math.h>
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
static int zig_ready;

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
    zig_ready = 1;
}

/* Block b of the normal at (i, j, tag): b = 0 is the counter itself, later
 * blocks (rare: rejections and the tail) put b above the tags' range. */
static void nblock(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag, uint32_t b, uint32_t w[4])
{
    rmt_rng_block(s, i, j, tag + (b << 20), w);
}

double rmt_rng_normal(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag)
{
    if (!zig_ready) zig_init();
    uint32_t w[4], b = 0;
    for (;;) {
        nblock(s, i, j, tag, b++, w);
        /* u uniform in (-1, 1) from 53 bits, the block from 7 other bits */
        double u = 2.0 * u53(w[0], w[1]) - 1.0;
        unsigned k = w[2] & (ZIG_C - 1);
        if (fabs(u) < zig_ratio[k]) return u * zig_x[k]; /* inside a rectangle: ~99% */
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
    }
}
