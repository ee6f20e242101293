/* The host-side weight packer of io/wpack.h (what `convert` writes), checked on its own:
 *  - q8 per block: |q| <= 127, the scale is the smallest fp16 >= max|w| / 127, the round trip
 *    |w - scale * q| <= scale / 2, the unpacked value is float(q) * scale rounded once; all-zero
 *    blocks (scale 0, no NaN), a block with one huge value among tiny ones, fp16-subnormal
 *    scales, ragged last blocks (padding q = 0), halves rounded away from zero;
 *  - f16 / bf16: every packed value equals the scalar converters' (round to nearest even, ties
 *    shown on known bit patterns), bf16 subnormals stored as zero, row padding zero;
 *  - bad input: NaN, infinity, beyond fp16, a q8 scale beyond fp16, null arrays, unknown types. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "io/half.h"
#include "io/wpack.h"
#include "io/wtile.h"

static int8_t q_at(const uint32_t *row, uint32_t k) { return (int8_t)(uint8_t)(row[k / 4] >> (8 * (k % 4))); }
static uint16_t h_at(const uint32_t *row, uint32_t k) { return (uint16_t)(row[k / 2] >> (16 * (k % 2))); }

/* Rows of different magnitudes; special blocks in rows 0-2. */
static float *make_weights(fv_check *c, uint32_t N, uint32_t K) {
    float *w = fv_check_alloc(c, (size_t)N * K);
    if (!w) return NULL;
    for (uint32_t n = 0; n < N; n++)
        for (uint32_t k = 0; k < K; k++)
            w[(size_t)n * K + k] = (float)(fv_rng_normal(&c->rng) * pow(10.0, (double)n - 3.0));
    for (uint32_t k = 0; k < K && k < 32; k++) w[k] = 0.0f;                           /* all-zero block */
    if (N > 1)
        for (uint32_t k = 0; k < K && k < 32; k++) w[K + k] = k == 5 ? 3.0e4f : 1e-3f * (float)k; /* one huge */
    if (N > 2)
        for (uint32_t k = 0; k < K && k < 32; k++) w[2 * (size_t)K + k] = 1e-7f * (float)((int)k - 16); /* tiny */
    return w;
}

static int q8_case(fv_check *c, uint32_t N, uint32_t K) {
    char shape[48];
    snprintf(shape, sizeof shape, "%ux%u", N, K);
    float *w = make_weights(c, N, K), *deq = fv_check_alloc(c, (size_t)N * K);
    uint32_t *data = fv_check_alloc_u32(c, fv_wpack_data_words(FV_WT_Q8, N, K));
    uint32_t *sc = fv_check_alloc_u32(c, fv_wpack_scale_words(FV_WT_Q8, N, K));
    if (!w || !deq || !data || !sc) return fv_check_fail(c, "wpack q8", shape, "out of host memory");
    if (fv_wpack(FV_WT_Q8, w, N, K, data, sc, "check")) return fv_check_fail(c, "wpack q8", shape, fv_last_error());
    fv_wunpack(FV_WT_Q8, data, sc, N, K, deq);
    uint32_t rw = fv_wpack_row_words(FV_WT_Q8, K), nb = fv_q8_blocks(K);
    double worst = 0; /* max |w - s q| / s over nonzero scales */
    for (uint32_t n = 0; n < N; n++) {
        const uint32_t *row = data + (size_t)n * rw;
        for (uint32_t b = 0; b < nb; b++) {
            uint32_t k0 = b * 32, k1 = k0 + 32 < K ? k0 + 32 : K;
            double amax = 0, s = fv_q8_scale(sc, K, n, b);
            for (uint32_t k = k0; k < k1; k++) amax = fmax(amax, fabs((double)w[(size_t)n * K + k]));
            char why[160];
            uint16_t h = fv_f32_to_f16((float)s);
            int minimal = amax == 0 ? s == 0 : s >= amax / 127 && (h == 0 || (double)fv_f16_to_f32(h - 1) < amax / 127);
            if (!isfinite(s) || !minimal) {
                snprintf(why, sizeof why, "row %u block %u: scale %g is not the smallest fp16 >= %g / 127", n, b, s, amax);
                return fv_check_fail(c, "wpack q8", shape, why);
            }
            for (uint32_t k = k0; k < 32 * (b + 1); k++) {
                int q = q_at(row, k);
                if (k >= K) {
                    if (q != 0) return fv_check_fail(c, "wpack q8", shape, "padding of the last block is not 0");
                    continue;
                }
                double x = w[(size_t)n * K + k], err = fabs(x - s * q);
                float d = deq[(size_t)n * K + k];
                if (q < -127 || q > 127 || err > s / 2 || d != (float)((double)q * s) || isnan(d)) {
                    snprintf(why, sizeof why, "row %u col %u: w %g -> q %d, scale %g, deq %g (|err| %g > scale/2?)", n,
                             k, x, q, s, (double)d, err);
                    return fv_check_fail(c, "wpack q8", shape, why);
                }
                if (s > 0 && err / s > worst) worst = err / s;
            }
        }
    }
    char detail[96];
    snprintf(detail, sizeof detail, "round trip |w - s q| <= %.3f s (bound 0.5 s), |q| <= 127, minimal scales", worst);
    fv_check_pass(c, "wpack q8", shape, detail);
    return 0;
}

/* Halves away from zero: scale 1 (max |w| = 127) and w = +-2.5, 0.5, -0.5, 126.5. */
static int q8_ties(fv_check *c) {
    float w[32] = {127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 126.5f, -1.5f};
    uint32_t data[8], sc[1];
    static const int want[7] = {127, 3, -3, 1, -1, 127, -2};
    if (fv_wpack(FV_WT_Q8, w, 1, 32, data, sc, "ties")) return fv_check_fail(c, "wpack q8", "ties", fv_last_error());
    for (int k = 0; k < 7; k++)
        if (q_at(data, (uint32_t)k) != want[k] || fv_q8_scale(sc, 32, 0, 0) != 1.0f)
            return fv_check_fail(c, "wpack q8", "ties", "a half was not rounded away from zero");
    fv_check_pass(c, "wpack q8", "ties", "+-2.5 -> +-3, +-0.5 -> +-1, 126.5 -> 127");
    return 0;
}

static int half_case(fv_check *c, enum fv_wtype t, uint32_t N, uint32_t K) {
    char shape[48];
    snprintf(shape, sizeof shape, "%ux%u", N, K);
    const char *what = t == FV_WT_F16 ? "wpack f16" : "wpack bf16";
    float *w = fv_check_rand(c, (size_t)N * K, -2, 2), *deq = fv_check_alloc(c, (size_t)N * K);
    uint32_t *data = fv_check_alloc_u32(c, fv_wpack_data_words(t, N, K));
    if (!w || !deq || !data) return fv_check_fail(c, what, shape, "out of host memory");
    /* spread over the type's range, with fp16 subnormals and bf16 subnormals among them */
    for (size_t i = 0; i < (size_t)N * K; i++) w[i] *= (float)pow(10.0, (double)(i % 9) - (t == FV_WT_F16 ? 5.0 : 4.0));
    if (t == FV_WT_BF16 && N * K > 3) w[1] = 3e-39f, w[2] = -1e-40f;
    if (fv_wpack(t, w, N, K, data, NULL, "check")) return fv_check_fail(c, what, shape, fv_last_error());
    fv_wunpack(t, data, NULL, N, K, deq);
    uint32_t rw = fv_wpack_row_words(t, K);
    for (uint32_t n = 0; n < N; n++)
        for (uint32_t k = 0; k < 2 * rw; k++) {
            uint16_t got = h_at(data + (size_t)n * rw, k), want = 0;
            if (k < K) {
                float x = w[(size_t)n * K + k];
                want = t == FV_WT_F16 ? fv_f32_to_f16(x) : fv_f32_to_bf16(x);
                if (t == FV_WT_BF16 && (want & 0x7f80u) == 0) want &= 0x8000u;
                float back = t == FV_WT_F16 ? fv_f16_to_f32(want) : fv_bf16_to_f32(want);
                if (memcmp(&back, &deq[(size_t)n * K + k], 4) != 0)
                    return fv_check_fail(c, what, shape, "unpacked value differs from the converter's");
            }
            if (got != want) {
                char why[96];
                snprintf(why, sizeof why, "row %u col %u: packed 0x%04x, expected 0x%04x", n, k, got, want);
                return fv_check_fail(c, what, shape, why);
            }
        }
    fv_check_pass(c, what, shape, "every value as the RNE converter, padding 0");
    return 0;
}

static float bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static int known_bits(fv_check *c) {
    /* bf16 ties to even: 1 + 2^-8 -> 1 (even), 1 + 3 * 2^-8 -> 1 + 2^-6; above half rounds up */
    int ok = fv_f32_to_bf16(bits(0x3F808000u)) == 0x3F80 && fv_f32_to_bf16(bits(0x3F818000u)) == 0x3F82 &&
             fv_f32_to_bf16(bits(0x3F80C000u)) == 0x3F81 && fv_f32_to_bf16(bits(0xBF808001u)) == 0xBF81 &&
             fv_f32_to_f16(bits(0x3F801000u)) == 0x3C00 && fv_f32_to_f16(bits(0x3F803000u)) == 0x3C02 &&
             fv_f32_to_f16(65504.0f) == 0x7BFF && fv_f32_to_f16(5.9604645e-8f) == 0x0001;
    if (!ok) return fv_check_fail(c, "wpack", "known bits", "an f16/bf16 rounding differs from RNE");
    fv_check_pass(c, "wpack", "known bits", "f16 and bf16 ties to even, max and min subnormal");
    return 0;
}

static int bad_input(fv_check *c) {
    float w[64];
    uint32_t data[64], sc[4];
    for (int i = 0; i < 64; i++) w[i] = 0.25f;
    int rcs[9], n = 0;
    w[3] = NAN;
    rcs[n++] = fv_wpack(FV_WT_Q8, w, 2, 32, data, sc, "bad");
    w[3] = INFINITY;
    rcs[n++] = fv_wpack(FV_WT_BF16, w, 2, 32, data, NULL, "bad");
    w[3] = 7.0e4f;
    rcs[n++] = fv_wpack(FV_WT_F16, w, 2, 32, data, NULL, "bad");
    w[3] = 1.0e7f; /* scale 1e7 / 127 > 65504 */
    rcs[n++] = fv_wpack(FV_WT_Q8, w, 2, 32, data, sc, "bad");
    w[3] = 0.25f;
    rcs[n++] = fv_wpack(FV_WT_Q8, w, 2, 32, data, NULL, "bad");
    rcs[n++] = fv_wpack(FV_WT_F16, NULL, 2, 32, data, NULL, "bad");
    rcs[n++] = fv_wpack((enum fv_wtype)7, w, 2, 32, data, NULL, "bad");
    rcs[n++] = fv_wpack(FV_WT_F16, w, 0, 32, data, NULL, "bad");
    enum fv_wtype t;
    rcs[n++] = fv_wtype_parse("int8", &t);
    if (fv_wtype_parse("q8", &t) || t != FV_WT_Q8 || fv_wtype_parse("bf16", &t) || t != FV_WT_BF16)
        return fv_check_fail(c, "wpack", "bad input", "a valid type name was not parsed");
    return fv_check_rejected(c, "wpack", rcs, n,
                             "NaN, inf, beyond fp16, q8 scale beyond fp16, no scales, null, unknown type, empty, 'int8'");
}

/* The tiled layout (io/wtile.h): the tiled words read in order are, group by group, chunk j of
 * each of the group's rows in turn for j = 0, 1, ... (enumerated here without fv_wtile_word), and
 * untiling restores the row-major words; groups of 1 are the row-major layout. */
static int tile_case(fv_check *c, uint32_t N, uint32_t rw, uint32_t G) {
    char shape[64];
    snprintf(shape, sizeof shape, "%u rows of %u words, groups of %u", N, rw, G);
    size_t n = (size_t)N * rw;
    uint32_t *src = fv_check_alloc_u32(c, n), *t = fv_check_alloc_u32(c, n), *back = fv_check_alloc_u32(c, n);
    if (!src || !t || !back) return fv_check_fail(c, "wtile", shape, "out of host memory");
    for (size_t i = 0; i < n; i++) src[i] = (uint32_t)fv_rng_u64(&c->rng);
    fv_wtile(src, t, N, rw, G);
    size_t at = 0;
    for (uint32_t g0 = 0; g0 < N; g0 += G)
        for (uint32_t w = 0; w < rw; w += FV_WTILE_CHUNK)
            for (uint32_t r = g0; r < N && r < g0 + G; r++)
                for (uint32_t i = 0; i < FV_WTILE_CHUNK; i++, at++)
                    if (t[at] != src[(size_t)r * rw + w + i] || fv_wtile_word(r, w + i, N, rw, G) != at)
                        return fv_check_fail(c, "wtile", shape, "a word is not where the layout puts it");
    fv_wuntile(t, back, N, rw, G);
    if (memcmp(back, src, n * 4)) return fv_check_fail(c, "wtile", shape, "untiling does not restore the rows");
    if (G == 1 && memcmp(t, src, n * 4)) return fv_check_fail(c, "wtile", shape, "groups of one are not row-major");
    printf("wtile %s: layout and round trip OK\n", shape);
    return 0;
}

int fv_check_op_wpack(fv_check *c) {
    int bad = 0;
    static const uint32_t shapes[][2] = {{7, 32}, {5, 45}, {7, 1000}, {3, 1}, {9, 97}};
    for (int s = 0; s < 5; s++) bad |= q8_case(c, shapes[s][0], shapes[s][1]);
    bad |= q8_ties(c);
    for (int s = 0; s < 5; s++) {
        bad |= half_case(c, FV_WT_F16, shapes[s][0], shapes[s][1]);
        bad |= half_case(c, FV_WT_BF16, shapes[s][0], shapes[s][1]);
    }
    bad |= known_bits(c);
    bad |= bad_input(c);
    bad |= tile_case(c, 300, 24, 128) | tile_case(c, 19, 16, 8) | tile_case(c, 5, 8, 1) | tile_case(c, 3, 32, 128);
    if (fv_wtile_fits(FV_WT_F16, 40) || !fv_wtile_fits(FV_WT_F16, 48) || !fv_wtile_fits(FV_WT_Q8, 45) ||
        fv_wtile_fits(FV_WT_F32, 64))
        bad |= fv_check_fail(c, "wtile", "fits", "f16 K 40 / 48, q8 K 45, f32 answered wrongly");
    return bad;
}
