/* Deterministic random numbers: splitmix64-seeded xoshiro256** (Blackman & Vigna, 2018).
 * The state is four words, small enough to save in a training checkpoint. */
#ifndef FV_BASE_RNG_H
#define FV_BASE_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } fv_rng;

void fv_rng_seed(fv_rng *r, uint64_t seed);
uint64_t fv_rng_u64(fv_rng *r);
/* Uniform in [0, 1) with 24 bits (float) or 53 bits (double). */
float fv_rng_uniform(fv_rng *r);
double fv_rng_uniform_d(fv_rng *r);
/* Standard normal (Box-Muller). */
double fv_rng_normal(fv_rng *r);
/* Uniform integer in [0, n). */
uint64_t fv_rng_below(fv_rng *r, uint64_t n);

#endif
