/* fp32 -> fp16 cast: shader vs the double-arithmetic reference (ref/cast.c) and the host
 * converter (io/half.c), bit for bit (tolerance: exact; RNE is deterministic), on odd sizes and
 * odd element offsets, with inputs that stress the rounding: random magnitudes from 2^-28
 * (underflow to zero) to 2^17 (overflow to inf), exact ties between neighbouring fp16 values
 * (normal and subnormal), and specials (+-0, +-inf, NaN, 65504, 65519.996, 65520). The output
 * starts filled with a NaN pattern the cast never produces from these inputs. No backward, so no
 * finite differences; bad input (short buffer, null buffer, shared buffer) must be rejected. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "io/half.h"
#include "ops/cast.h"
#include "ref/cast.h"

#define POISON 0x7d557d55u /* two fp16 signalling NaNs with payload 0x155 */

static float pick(fv_rng *r) {
    static const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 65504.0f, -65504.0f, 65519.996f,
                                    65520.0f, -65520.0f, 6.1035156e-05f, 5.9604645e-08f, 2.9802322e-08f,
                                    2.9802326e-08f, 1e-30f, 3.4e38f};
    uint64_t kind = fv_rng_below(r, 20);
    if (kind == 0) return special[fv_rng_below(r, sizeof special / sizeof special[0])];
    float s = fv_rng_below(r, 2) ? -1.0f : 1.0f;
    if (kind <= 3) { /* exact tie between two normal fp16 values: (q + 1/2) ulp */
        int e = (int)fv_rng_below(r, 30) - 14;
        double q = 1024.0 + (double)fv_rng_below(r, 1024);
        return s * (float)ldexp(q + 0.5, e - 10);
    }
    if (kind == 4) /* tie between two subnormals */
        return s * (float)ldexp((double)fv_rng_below(r, 1024) + 0.5, -24);
    if (kind <= 14) { /* any magnitude, 2^-28 .. 2^17 */
        int e = (int)fv_rng_below(r, 46) - 28;
        return s * (float)ldexp(1.0 + fv_rng_uniform_d(r), e);
    }
    return 2.0f * fv_rng_uniform(r) - 1.0f;
}

static int one(fv_check *c, uint32_t n, uint32_t xo, uint32_t yo) {
    char shape[64];
    snprintf(shape, sizeof shape, "n=%u x+%u y+%u", n, xo, yo);
    float *x = fv_check_alloc(c, (size_t)n + xo);
    uint32_t words = (n + yo + 1) / 2;
    uint32_t *poison = fv_check_alloc_u32(c, words), *got32 = fv_check_alloc_u32(c, words);
    uint16_t *ref = (uint16_t *)fv_check_alloc(c, n / 2 + 1);
    if (!x || !poison || !got32 || !ref) return fv_check_fail(c, "cast_f16", shape, "out of host memory");
    for (uint32_t i = 0; i < n + xo; i++) x[i] = pick(&c->rng);
    for (uint32_t i = 0; i < words; i++) poison[i] = POISON;
    fv_buf *bx = fv_check_upload(c, x, (size_t)n + xo), *by = fv_check_upload_u32(c, poison, words);
    if (!bx || !by) return fv_check_fail(c, "cast_f16", shape, fv_last_error());
    if (fv_check_begin(c) || fv_cast_f16(c->g, fv_tensor(bx, xo), fv_tensor(by, yo), n) || fv_check_run(c) ||
        fv_buf_read(c->d, by, 0, got32, (VkDeviceSize)words * 4))
        return fv_check_fail(c, "cast_f16", shape, fv_last_error());
    uint16_t got16[1];
    const uint8_t *got = (const uint8_t *)got32;
    fv_ref_cast_f16(x + xo, ref, n);
    uint32_t bad_dev = 0, bad_host = 0, first = UINT32_MAX, bad_pad = 0;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(got16, got + 2 * ((size_t)yo + i), 2);
        if (got16[0] != ref[i]) {
            bad_dev++;
            if (first == UINT32_MAX) first = i;
        }
        bad_host += fv_f32_to_f16(x[xo + i]) != ref[i];
    }
    for (uint32_t i = 0; i < 2 * words; i++) /* elements outside [yo, yo + n) untouched */
        if (i < yo || i >= yo + n) {
            memcpy(got16, got + 2 * (size_t)i, 2);
            bad_pad += got16[0] != (uint16_t)(POISON & 0xffffu);
        }
    char why[160];
    if (bad_dev) {
        memcpy(got16, got + 2 * ((size_t)yo + first), 2);
        snprintf(why, sizeof why, "%u of %u differ from the reference; first at %u: %.9g -> 0x%04x, want 0x%04x",
                 bad_dev, n, first, (double)x[xo + first], got16[0], ref[first]);
        return fv_check_fail(c, "cast_f16 vs ref", shape, why);
    }
    if (bad_pad) {
        snprintf(why, sizeof why, "%u elements outside the output range were written", bad_pad);
        return fv_check_fail(c, "cast_f16 bounds", shape, why);
    }
    if (bad_host) {
        snprintf(why, sizeof why, "io/half.c disagrees with the reference on %u of %u", bad_host, n);
        return fv_check_fail(c, "cast_f16 ref vs io/half.c", shape, why);
    }
    snprintf(why, sizeof why, "%u of %u bit-exact vs ref and io/half.c (tol: exact), rest untouched,", n, n);
    fv_check_pass(c, "cast_f16", shape, why);
    return 0;
}

static int bad_input(fv_check *c) {
    fv_buf *a = fv_check_upload(c, NULL, 10), *b = fv_check_upload(c, NULL, 10);
    if (!a || !b) return fv_check_fail(c, "cast_f16", "bad input", fv_last_error());
    int rc = fv_check_begin(c);
    int r1 = rc ? 0 : fv_cast_f16(c->g, fv_tensor(a, 0), fv_tensor(b, 0), 11);     /* x too short */
    int r2 = rc ? 0 : fv_cast_f16(c->g, fv_tensor(a, 0), fv_tensor(b, 15), 10);    /* y too short (fp16 offset) */
    int r3 = rc ? 0 : fv_cast_f16(c->g, fv_tensor(NULL, 0), fv_tensor(b, 0), 4);   /* null x */
    int r4 = rc ? 0 : fv_cast_f16(c->g, fv_tensor(a, 0), fv_tensor(a, 12), 4);     /* one buffer */
    fv_graph_end(c->g);
    if (rc || !r1 || !r2 || !r3 || !r4)
        return fv_check_fail(c, "cast_f16", "bad input", "a short, null or shared buffer was accepted");
    fv_check_pass(c, "cast_f16", "bad input", "short, null and shared buffers rejected");
    return 0;
}

int fv_check_op_cast(fv_check *c) {
    if (!c->d->fp16) {
        fv_check_pass(c, "cast_f16", "skipped", "device without 16-bit storage:");
        return 0;
    }
    static const uint32_t shapes[][3] = {{1, 0, 0}, {7, 0, 1}, {33, 3, 5}, {1000, 0, 0}, {4099, 1, 3}, {1048577, 2, 1}};
    int bad = 0, count = c->quick ? 5 : 6;
    for (int i = 0; i < count; i++) bad |= one(c, shapes[i][0], shapes[i][1], shapes[i][2]);
    return bad | bad_input(c);
}
