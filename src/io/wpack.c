/* Packing weights into the word layouts of wpack.h, quantizing to q8, and unpacking them again. */
#include "io/wpack.h"

#include <math.h>
#include <string.h>

#include "base/error.h"
#include "io/half.h"

static const char *names[] = {"f32", "f16", "bf16", "q8"};

const char *fv_wtype_name(enum fv_wtype t) { return (unsigned)t < 4 ? names[t] : "?"; }

int fv_wtype_parse(const char *s, enum fv_wtype *out) {
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, names[i]) == 0) {
            *out = (enum fv_wtype)i;
            return 0;
        }
    return fv_err("unknown weight type '%s' (expected f32, f16, bf16 or q8)", s ? s : "(null)");
}

uint32_t fv_wpack_row_words(enum fv_wtype t, uint32_t K) {
    switch (t) {
    case FV_WT_F32: return K;
    case FV_WT_F16:
    case FV_WT_BF16: return 2 * ((K + 3) / 4);
    case FV_WT_Q8: return 8 * fv_q8_blocks(K);
    }
    return 0;
}

uint64_t fv_wpack_data_words(enum fv_wtype t, uint32_t N, uint32_t K) {
    return (uint64_t)N * fv_wpack_row_words(t, K);
}

uint64_t fv_wpack_scale_words(enum fv_wtype t, uint32_t N, uint32_t K) {
    return t == FV_WT_Q8 ? ((uint64_t)N * fv_q8_blocks(K) + 1) / 2 : 0;
}

static uint16_t half_at(const uint32_t *words, uint64_t i) { return (uint16_t)(words[i / 2] >> (16 * (i % 2))); }

float fv_q8_scale(const uint32_t *scales, uint32_t K, uint32_t n, uint32_t b) {
    return fv_f16_to_f32(half_at(scales, (uint64_t)n * fv_q8_blocks(K) + b));
}

/* The smallest fp16 >= v (v >= 0 finite, at most 65504). fv_f32_to_f16 rounds to nearest, so step
 * up by one fp16 ulp (the next bit pattern, for a positive value) while below. */
static uint16_t half_ceil(double v) {
    uint16_t h = fv_f32_to_f16((float)v);
    while ((double)fv_f16_to_f32(h) < v) h++;
    return h;
}

static int pack_q8_row(const float *w, uint32_t K, uint32_t n, uint32_t *row, uint32_t *scales, uint64_t sidx,
                       const char *what) {
    uint32_t nb = fv_q8_blocks(K);
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t k0 = b * FV_Q8_BLOCK, k1 = k0 + FV_Q8_BLOCK < K ? k0 + FV_Q8_BLOCK : K;
        double amax = 0;
        for (uint32_t k = k0; k < k1; k++) amax = fmax(amax, fabs((double)w[k]));
        if (amax / 127.0 > 65504.0)
            return fv_err("%s: row %u, columns %u..%u: max |w| = %g needs a q8 scale beyond fp16's 65504", what, n,
                          k0, k1 - 1, amax);
        uint16_t h = amax > 0 ? half_ceil(amax / 127.0) : 0;
        double s = fv_f16_to_f32(h);
        scales[(sidx + b) / 2] |= (uint32_t)h << (16 * ((sidx + b) % 2));
        for (uint32_t k = k0; k < k1; k++) {
            /* |w| <= amax <= 127 s, so |q| <= 127 with no clamp; round() takes halves away from zero */
            int q = s > 0 ? (int)round((double)w[k] / s) : 0;
            row[k / 4] |= (uint32_t)(uint8_t)(int8_t)q << (8 * (k % 4));
        }
    }
    return 0;
}

int fv_wpack(enum fv_wtype t, const float *w, uint32_t N, uint32_t K, uint32_t *data, uint32_t *scales,
             const char *what) {
    if (!what) what = "weight";
    if ((unsigned)t > FV_WT_Q8) return fv_err("%s: unknown weight type %d", what, (int)t);
    if (!w || !data || (t == FV_WT_Q8 && !scales)) return fv_err("%s: null array passed to the packer", what);
    if (N == 0 || K == 0) return fv_err("%s: empty weight %ux%u", what, N, K);
    uint32_t rw = fv_wpack_row_words(t, K);
    memset(data, 0, fv_wpack_data_words(t, N, K) * 4);
    if (t == FV_WT_Q8) memset(scales, 0, fv_wpack_scale_words(t, N, K) * 4);
    for (uint32_t n = 0; n < N; n++) {
        const float *src = w + (uint64_t)n * K;
        uint32_t *row = data + (uint64_t)n * rw;
        for (uint32_t k = 0; k < K; k++) {
            if (!isfinite(src[k])) return fv_err("%s: row %u, column %u is %g", what, n, k, src[k]);
            if (t == FV_WT_F16 && fabsf(src[k]) > 65504.0f)
                return fv_err("%s: row %u, column %u = %g is beyond fp16's 65504", what, n, k, src[k]);
        }
        if (t == FV_WT_F32) {
            memcpy(row, src, (size_t)K * 4);
        } else if (t == FV_WT_Q8) {
            FV_TRY(pack_q8_row(src, K, n, row, scales, (uint64_t)n * fv_q8_blocks(K), what));
        } else {
            for (uint32_t k = 0; k < K; k++) {
                uint16_t h = t == FV_WT_F16 ? fv_f32_to_f16(src[k]) : fv_f32_to_bf16(src[k]);
                /* a bf16 subnormal (|w| < 2^-126) is an fp32 subnormal, which devices that flush
                 * denormals would read as 0: store the 0 they would see, so every device agrees */
                if (t == FV_WT_BF16 && (h & 0x7f80u) == 0) h &= 0x8000u;
                row[k / 2] |= (uint32_t)h << (16 * (k % 2));
            }
        }
    }
    return 0;
}

void fv_wunpack(enum fv_wtype t, const uint32_t *data, const uint32_t *scales, uint32_t N, uint32_t K, float *out) {
    uint32_t rw = fv_wpack_row_words(t, K);
    for (uint32_t n = 0; n < N; n++) {
        const uint32_t *row = data + (uint64_t)n * rw;
        float *dst = out + (uint64_t)n * K;
        for (uint32_t k = 0; k < K; k++) {
            switch (t) {
            case FV_WT_F32: memcpy(&dst[k], &row[k], 4); break;
            case FV_WT_F16: dst[k] = fv_f16_to_f32(half_at(row, k)); break;
            case FV_WT_BF16: dst[k] = fv_bf16_to_f32(half_at(row, k)); break;
            case FV_WT_Q8: {
                int8_t q = (int8_t)(uint8_t)(row[k / 4] >> (8 * (k % 4)));
                dst[k] = (float)q * fv_q8_scale(scales, K, n, k / FV_Q8_BLOCK); /* one fp32 rounding */
                break;
            }
            }
        }
    }
}
