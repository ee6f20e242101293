/* The counter-based hash of shaders/common/hash.glsl, bit for bit, for CPU references. */
#ifndef FV_REF_HASH_H
#define FV_REF_HASH_H

#include <stdint.h>

static inline uint32_t fv_mix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

static inline uint32_t fv_hash3(uint32_t a, uint32_t b, uint32_t c) { return fv_mix32((fv_mix32(fv_mix32(a) ^ b)) + c); }

#endif
