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

double rmt_rng_normal(const rmt_stream *s, uint32_t i, uint32_t j, uint32_t tag)
{
    uint32_t w[4];
    rmt_rng_block(s, i, j, tag, w);
    double u1 = u53(w[0], w[1]);
    double u2 = u53(w[2], w[3]);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
