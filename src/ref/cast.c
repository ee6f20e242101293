/* The fp32 -> fp16 cast reference; see cast.h. */
#include "ref/cast.h"

#include <math.h>
#include <string.h>

uint16_t fv_ref_f16_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    if (isnan(x)) return (uint16_t)(sign | 0x7e00u | ((u >> 13) & 0x1ffu));
    double a = fabs((double)x);
    /* 65520 = 65504 + half an ulp (32 / 2): the tie rounds to the even 2^16, i.e. infinity */
    if (a >= 65520.0) return (uint16_t)(sign | 0x7c00u);
    if (a < ldexp(1.0, -14)) /* subnormal range: an integer number of 2^-24 units (1024 = the smallest normal) */
        return (uint16_t)(sign | (uint16_t)rint(ldexp(a, 24)));
    int k;
    frexp(a, &k); /* a = f 2^k, f in [0.5, 1): the fp16 exponent is k - 1 */
    int e = k - 1;
    double q = rint(ldexp(a, 10 - e)); /* 11-bit significand in [1024, 2048] */
    if (q >= 2048.0) {
        q = 1024.0;
        e++;
    }
    return (uint16_t)(sign | (uint16_t)((e + 15) << 10) | (uint16_t)((uint32_t)q - 1024u));
}

void fv_ref_cast_f16(const float *x, uint16_t *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = fv_ref_f16_bits(x[i]);
}

float fv_ref_f16_value(uint16_t h) {
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double s = (h & 0x8000u) ? -1.0 : 1.0;
    if (e == 31) return m ? (float)NAN * (float)s : (float)(s * INFINITY);
    if (e == 0) return (float)(s * ldexp(m, -24)); /* subnormal: m units of 2^-24 */
    return (float)(s * ldexp(1024 + m, e - 25));
}

float fv_ref_round_f16(float x) { return fv_ref_f16_value(fv_ref_f16_bits(x)); }
