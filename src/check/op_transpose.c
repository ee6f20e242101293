/* Transpose (shaders/transpose.comp): shader vs the reference (ref/transpose.c), bit for bit
 * (tolerance: exact; a transpose moves values, and the fp16 output rounds to nearest even as
 * ref/cast.c does), fp32 and fp16 outputs, on odd shapes (1x1, 7x33, 33x1000), a weight-like
 * 512x1152, and shapes/offsets that take each path: 4 x 4 blocks with 4-wide texel fetches
 * (aligned), 4 x 4 blocks with element loads (cols % 4 != 0 or x's offset odd), one element
 * per invocation (rows % 4 != 0 or y's offset odd). Inputs mix ordinary values with exact fp16
 * ties and out-of-range magnitudes. The output starts filled with a NaN pattern no input
 * produces; elements outside the output range must stay untouched. No backward (the op has
 * none), so no finite differences. Bad input (short, null, shared buffer, huge shape, unknown
 * dtype) must be rejected. (Its cost in the training step: `flanvk bench train --profile`.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "ops/transpose.h"
#include "ref/transpose.h"

#define POISON 0x7fa55a5au /* an fp32 signalling NaN; as two halves, fp16 NaNs 0x5a5a / 0x7fa5 */

static float pick(fv_rng *r) {
    uint64_t k = fv_rng_below(r, 16);
    float s = fv_rng_below(r, 2) ? -1.0f : 1.0f;
    if (k == 0) /* an exact tie between two normal fp16 values */
        return s * (float)ldexp(1024.0 + (double)fv_rng_below(r, 1024) + 0.5, (int)fv_rng_below(r, 30) - 24);
    if (k == 1) return s * (float)ldexp(1.0 + fv_rng_uniform_d(r), (int)fv_rng_below(r, 46) - 28);
    return 2.0f * fv_rng_uniform(r) - 1.0f;
}

static int one(fv_check *c, uint32_t rows, uint32_t cols, uint32_t xo, uint32_t yo, enum fv_dtype dt) {
    const char *what = dt == FV_F16 ? "transpose fp16" : "transpose fp32";
    char shape[80];
    snprintf(shape, sizeof shape, "%ux%u x+%u y+%u", rows, cols, xo, yo);
    size_t n = (size_t)rows * cols, esz = dt == FV_F16 ? 2 : 4;
    size_t words = ((yo + n) * esz + 3) / 4 + 1; /* one word of slack past the end */
    float *x = fv_check_alloc(c, n + xo);
    uint32_t *poison = fv_check_alloc_u32(c, words), *got = fv_check_alloc_u32(c, words);
    uint32_t *ref = fv_check_alloc_u32(c, words);
    if (!x || !poison || !got || !ref) return fv_check_fail(c, what, shape, "out of host memory");
    for (size_t i = 0; i < n + xo; i++) x[i] = pick(&c->rng);
    for (size_t i = 0; i < words; i++) poison[i] = ref[i] = POISON;
    if (dt == FV_F16) fv_ref_transpose_f16(x + xo, (uint16_t *)ref + yo, rows, cols);
    else fv_ref_transpose(x + xo, (float *)ref + yo, rows, cols);
    fv_buf *bx = fv_check_upload(c, x, n + xo), *by = fv_check_upload_u32(c, poison, words);
    if (!bx || !by) return fv_check_fail(c, what, shape, fv_last_error());
    if (fv_check_begin(c) || fv_transpose(c->g, fv_tensor(bx, xo), fv_tensor(by, yo), rows, cols, dt) ||
        fv_check_run(c) || fv_buf_read(c->d, by, 0, got, words * 4))
        return fv_check_fail(c, what, shape, fv_last_error());
    /* compare every element slot of the buffer, inside the output range and out of it */
    size_t slots = words * 4 / esz, bad = 0, first = 0;
    for (size_t i = 0; i < slots; i++) {
        int differ = dt == FV_F16 ? ((uint16_t *)got)[i] != ((uint16_t *)ref)[i] : got[i] != ref[i];
        if (differ && !bad++) first = i;
    }
    char why[160];
    if (bad) {
        int inside = first >= yo && first < yo + n;
        snprintf(why, sizeof why, "%zu of %zu elements differ; first at %zu (%s the output range)", bad, slots, first,
                 inside ? "inside" : "outside");
        return fv_check_fail(c, what, shape, why);
    }
    snprintf(why, sizeof why, "%zu of %zu bit-exact vs ref (tol: exact), rest untouched,", n, n);
    fv_check_pass(c, what, shape, why);
    return 0;
}

static int bad_input(fv_check *c) {
    fv_buf *a = fv_check_upload(c, NULL, 64), *b = fv_check_upload(c, NULL, 64);
    if (!a || !b) return fv_check_fail(c, "transpose", "bad input", fv_last_error());
    if (fv_check_begin(c)) return fv_check_fail(c, "transpose", "bad input", fv_last_error());
    int r[7];
    r[0] = fv_transpose(c->g, fv_tensor(a, 0), fv_tensor(b, 0), 8, 9, FV_F32);                 /* x too short */
    r[1] = fv_transpose(c->g, fv_tensor(a, 0), fv_tensor(b, 4), 4, 16, FV_F32);                /* y too short */
    r[2] = fv_transpose(c->g, fv_tensor(NULL, 0), fv_tensor(b, 0), 2, 2, FV_F32);              /* null x */
    r[3] = fv_transpose(c->g, fv_tensor(a, 0), fv_tensor(NULL, 0), 2, 2, FV_F32);              /* null y */
    r[4] = fv_transpose(c->g, fv_tensor(a, 0), fv_tensor(a, 32), 4, 4, FV_F32);                /* one buffer */
    r[5] = fv_transpose(c->g, fv_tensor(a, 0), fv_tensor(b, 0), 65536, 65536, FV_F32);         /* 2^32 elements */
    r[6] = fv_transpose(c->g, fv_tensor(a, 0), fv_tensor(b, 0), 2, 2, (enum fv_dtype)7);       /* unknown dtype */
    fv_graph_end(c->g);
    return fv_check_rejected(c, "transpose", r, 7, "short, null, shared buffers, 2^32 elements, unknown dtype rejected");
}

int fv_check_op_transpose(fv_check *c) {
    /* rows, cols, x offset, y offset */
    static const uint32_t shapes[][4] = {
        {1, 1, 0, 0},       {7, 33, 0, 0},     {7, 33, 3, 5},    {33, 1000, 1, 2}, {12, 7, 0, 4}, /* scalar; v4 element loads */
        {8, 1000, 1, 0},    {1000, 12, 4, 8},  {36, 1000, 0, 0}, {512, 1152, 0, 0}, /* v4 element / texel loads */
    };
    int count = sizeof shapes / sizeof shapes[0], bad = 0;
    for (int i = 0; i < count; i++) {
        if (c->quick && shapes[i][0] * shapes[i][1] > 100000) continue;
        bad |= one(c, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], FV_F32);
        if (c->d->fp16) bad |= one(c, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], FV_F16);
        fv_check_release(c);
    }
    if (!c->d->fp16) fv_check_pass(c, "transpose fp16", "skipped", "device without 16-bit storage:");
    bad |= bad_input(c);
    return bad;
}
