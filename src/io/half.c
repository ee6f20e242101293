/* fp16 / bf16 conversions by bit manipulation (see half.h). No reliance on _Float16 or F16C so
 * the results are the same on every compiler and CPU. */
#include "io/half.h"

#include <string.h>

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float fv_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) return u2f(sign | 0x7f800000u | (man << 13)); /* inf / NaN (payload kept) */
    if (exp == 0) {
        /* zero or subnormal: man * 2^-24, exact in float32 */
        float v = (float)man * u2f(0x33800000u); /* 2^-24 */
        return u2f(sign | f2u(v));
    }
    return u2f(sign | ((exp + 112u) << 23) | (man << 13));
}

uint16_t fv_f32_to_f16(float f) {
    uint32_t u = f2u(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) { /* inf or NaN */
        if (a == 0x7f800000u) return sign | 0x7c00u;
        return sign | 0x7e00u | (uint16_t)((a >> 13) & 0x1ffu); /* quiet NaN, keep top payload */
    }
    if (a >= 0x477ff000u) return sign | 0x7c00u; /* >= 65520 rounds to infinity */
    if (a < 0x38800000u) {
        /* result is subnormal or zero in fp16: value = a_float / 2^-24 units, rounded RNE. */
        if (a < 0x33000000u) return sign; /* < 2^-25: rounds to zero (2^-25 itself ties to 0) */
        uint32_t e = a >> 23;                     /* biased float exponent, 102..112 */
        uint32_t m = (a & 0x7fffffu) | 0x800000u; /* 24-bit significand */
        uint32_t shift = 126u - e;                /* bits dropped to reach units of 2^-24 */
        uint32_t q = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u))) q++;
        return sign | (uint16_t)q;
    }
    /* normal: rebias exponent and round the 13 dropped mantissa bits; a carry rolls into the
     * exponent, which is the correct result (up to the 65504 max handled above). */
    uint32_t r = a - 0x38000000u; /* exponent bias 127 -> 15, shifted form */
    uint32_t q = r >> 13;
    uint32_t rem = r & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) q++;
    return sign | (uint16_t)q;
}

float fv_bf16_to_f32(uint16_t b) { return u2f((uint32_t)b << 16); }

uint16_t fv_f32_to_bf16(float f) {
    uint32_t u = f2u(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
    uint32_t lsb = (u >> 16) & 1u;
    u += 0x7fffu + lsb; /* RNE; overflow of the largest finite values correctly gives inf */
    return (uint16_t)(u >> 16);
}

void fv_f16_to_f32_n(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = fv_f16_to_f32(src[i]);
}

void fv_f32_to_f16_n(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = fv_f32_to_f16(src[i]);
}

void fv_bf16_to_f32_n(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = fv_bf16_to_f32(src[i]);
}

void fv_f32_to_bf16_n(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = fv_f32_to_bf16(src[i]);
}
