/* xoshiro256** seeded through splitmix64; see rng.h. */
#include "base/rng.h"

#include <math.h>

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void fv_rng_seed(fv_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t fv_rng_u64(fv_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

float fv_rng_uniform(fv_rng *r) { return (float)(fv_rng_u64(r) >> 40) * (1.0f / 16777216.0f); }

double fv_rng_uniform_d(fv_rng *r) { return (double)(fv_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }

double fv_rng_normal(fv_rng *r) {
    double u1 = fv_rng_uniform_d(r), u2 = fv_rng_uniform_d(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t fv_rng_below(fv_rng *r, uint64_t n) {
    if (n == 0) return 0;
    /* Rejection keeps the draw unbiased for any n. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = fv_rng_u64(r);
    while (x >= limit);
    return x % n;
}
