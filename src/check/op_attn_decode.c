/* One-dispatch decode attention (ops/attn_decode.h) vs the plain-C attention reference
 * (ref/attention.h) set up as fv_attention would be for the same decode step.
 * Self-attention: recorded once and replayed at several steps; before each run the cache slots
 * below `step` hold random values and the slots from `step` on hold NaN, so a kernel that reads
 * a slot it must not (or forgets to append this step's k/v) fails; the caches are compared too.
 * Cross-attention: random padding masks, one row with every key masked (O = 0). Odd shapes,
 * strided fused-QKV inputs, batch > 1. Tolerance 1e-4 relative, as the attention check.
 * fp16 K/V (kv_f16): the same cases with fp16 caches (slots past `step` hold fp16 NaN) against
 * the reference reading K/V rounded to fp16 (ref/attention.h), so the tolerance stays 1e-4 (only
 * fp32 summation order differs); the appended cache slots must equal the reference's rounding
 * bit for bit (compared as values, tolerance 0). Self cases run with and without the bias. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "ops/attn_decode.h"
#include "ops/relpos.h"
#include "ref/attention.h"
#include "ref/cast.h"

enum { NB = 32, LR = 160, MAXD = 128 };

/* K/V buffers of n elements, fp32 or fp16 */
static fv_buf *kv_buf(fv_check *c, const float *x, size_t n, int f16) {
    return f16 ? fv_check_upload_f16(c, x, n) : fv_check_upload(c, x, n);
}
static int kv_write(fv_check *c, fv_buf *b, const float *x, size_t n, int f16) {
    return f16 ? fv_check_write_f16(c, b, x, n) : fv_buf_write(c->d, b, 0, x, n * 4);
}
static float *kv_read(fv_check *c, fv_buf *b, size_t n, int f16) {
    return f16 ? fv_check_download_f16(c, b, n) : fv_check_download(c, b, n);
}

/* per_row: each row at its own step (continuous batching), row b at (base + 3 b) mod (Tmax + 1). */
static int self_case(fv_check *c, uint32_t B, uint32_t Tmax, uint32_t H, uint32_t dk, int f16, int use_bias, int per_row) {
    char shape[96];
    snprintf(shape, sizeof shape, "self%s%s%s B%u Tmax%u H%u dk%u", f16 ? " f16" : "", use_bias ? "" : " nobias",
             per_row ? " per-row steps" : "", B, Tmax, H, dk);
    uint32_t hd = H * dk, ns = 3 * hd + 4; /* fused QKV rows with a gap */
    size_t nqkv = (size_t)B * ns, ncache = (size_t)B * Tmax * hd;
    float *qkv = fv_check_alloc(c, nqkv), *k = fv_check_alloc(c, ncache), *v = fv_check_alloc(c, ncache);
    float *kref = fv_check_alloc(c, ncache), *vref = fv_check_alloc(c, ncache), *tab = fv_check_rand(c, NB * H, -2, 2);
    float *o = fv_check_alloc(c, (size_t)B * hd);
    uint32_t *sq = fv_check_alloc_u32(c, B), *sk = fv_check_alloc_u32(c, (size_t)B * Tmax), *pq = fv_check_alloc_u32(c, B);
    uint32_t *pk = fv_check_alloc_u32(c, (size_t)B * Tmax), *lut = fv_check_alloc_u32(c, 2 * LR + 1);
    uint32_t *stepv = fv_check_alloc_u32(c, B);
    if (!qkv || !k || !v || !kref || !vref || !tab || !o || !sq || !sk || !pq || !pk || !lut || !stepv ||
        fv_relpos_lut_fill((int32_t *)lut, LR, 0, NB, MAXD))
        return fv_check_fail(c, "attn_decode", shape, "setup failed");
    fv_buf *bqkv = fv_check_upload(c, NULL, nqkv), *bk = kv_buf(c, NULL, ncache, f16);
    fv_buf *bv = kv_buf(c, NULL, ncache, f16), *bo = fv_check_upload(c, NULL, (size_t)B * hd);
    fv_buf *btab = fv_check_upload(c, tab, NB * H), *blut = fv_check_upload_u32(c, lut, 2 * LR + 1);
    fv_buf *bstep = fv_check_upload_u32(c, stepv, B);
    if (!bqkv || !bk || !bv || !bo || !btab || !blut || !bstep) return fv_check_fail(c, "attn_decode", shape, fv_last_error());
    fv_attn_dec_desc a = {.B = B, .H = H, .dk = dk, .Tk = Tmax, .q_stride = ns, .new_stride = ns, .self = 1,
                          .use_bias = use_bias, .num_buckets = NB, .lut_radius = LR, .kv_f16 = f16, .step_per_row = per_row};
    if (fv_check_begin(c) ||
        fv_attn_decode(c->g, &a, fv_tensor(bqkv, 0), fv_tensor(bk, 0), fv_tensor(bv, 0), fv_tensor(bo, 0),
                       fv_tensor(NULL, 0), fv_tensor(bstep, 0), fv_tensor(bqkv, hd), fv_tensor(bqkv, 2 * hd),
                       use_bias ? fv_tensor(btab, 0) : fv_tensor(NULL, 0), use_bias ? fv_tensor(blut, 0) : fv_tensor(NULL, 0)) ||
        fv_graph_end(c->g))
        return fv_check_fail(c, "attn_decode", shape, fv_last_error());
    fv_attn_desc r = {.B = B, .Tq = 1, .Tk = Tmax, .H = H, .dk = dk, .q_stride = ns, .use_bias = use_bias,
                      .num_buckets = NB, .lut_radius = LR, .kv_f16 = f16};
    const uint32_t steps[] = {0, 1, Tmax / 2, Tmax - 1, Tmax /* past the end: no append */};
    int bad = 0;
    for (int s = 0; s < 5; s++) {
        uint32_t base = steps[s];
        if (s > 0 && base == steps[s - 1]) continue;
        for (size_t i = 0; i < nqkv; i++) qkv[i] = fv_rng_uniform(&c->rng) * 2 - 1;
        for (uint32_t b = 0; b < B; b++) {
            uint32_t step = per_row ? (base + 3 * b) % (Tmax + 1) : base;
            stepv[b] = step;
            pq[b] = step;
            sq[b] = 1;
            for (uint32_t j = 0; j < Tmax; j++) {
                size_t row = ((size_t)b * Tmax + j) * hd;
                pk[b * Tmax + j] = j;
                sk[b * Tmax + j] = j <= step;
                for (uint32_t e = 0; e < hd; e++) {
                    float kr = fv_rng_uniform(&c->rng) * 2 - 1, vr = fv_rng_uniform(&c->rng) * 2 - 1;
                    k[row + e] = j < step ? kr : NAN;
                    v[row + e] = j < step ? vr : NAN;
                    kref[row + e] = j < step ? kr : j == step ? qkv[(size_t)b * ns + hd + e] : 0.0f;
                    vref[row + e] = j < step ? vr : j == step ? qkv[(size_t)b * ns + 2 * hd + e] : 0.0f;
                }
            }
        }
        if (fv_buf_write(c->d, bstep, 0, stepv, 4ull * (per_row ? B : 1)) || fv_buf_write(c->d, bqkv, 0, qkv, nqkv * 4) ||
            kv_write(c, bk, k, ncache, f16) || kv_write(c, bv, v, ncache, f16) || fv_graph_run(c->g))
            return fv_check_fail(c, "attn_decode", shape, fv_last_error());
        if (fv_ref_attention(&r, qkv, kref, vref, o, (int32_t *)sq, (int32_t *)sk, (int32_t *)pq, (int32_t *)pk, tab,
                             (int32_t *)lut, NULL))
            return fv_check_fail(c, "attn_decode", shape, "reference out of memory");
        char what[80];
        snprintf(what, sizeof what, "attn_decode self step %u O", base);
        bad |= fv_check_compare(c, what, shape, fv_check_download(c, bo, (size_t)B * hd), o, (size_t)B * hd, 1e-4);
        /* the caches: slots 0..step of each row (the rest stays NaN and is not compared); rows
         * are compared over the longest row's slots, so short rows' NaN slots are masked by copying
         * the reference there */
        uint32_t upto = 0;
        for (uint32_t b = 0; b < B; b++) upto = stepv[b] + 1 > upto ? stepv[b] + 1 : upto;
        if (upto > Tmax) upto = Tmax;
        float *gk = kv_read(c, bk, ncache, f16), *gv = kv_read(c, bv, ncache, f16);
        float *ck = fv_check_alloc(c, (size_t)B * upto * hd), *cv = fv_check_alloc(c, (size_t)B * upto * hd);
        float *rk = fv_check_alloc(c, (size_t)B * upto * hd), *rv = fv_check_alloc(c, (size_t)B * upto * hd);
        if (!gk || !gv || !ck || !cv || !rk || !rv) return fv_check_fail(c, "attn_decode", shape, "download failed");
        for (uint32_t b = 0; b < B; b++) {
            size_t n = (size_t)upto * hd, from = (size_t)b * Tmax * hd, to = (size_t)b * n;
            memcpy(ck + to, gk + from, n * 4);
            memcpy(cv + to, gv + from, n * 4);
            memcpy(rk + to, kref + from, n * 4);
            memcpy(rv + to, vref + from, n * 4);
            for (size_t i = (size_t)(stepv[b] + 1) * hd; i < n; i++) ck[to + i] = rk[to + i], cv[to + i] = rv[to + i];
        }
        for (size_t i = 0; f16 && i < (size_t)B * upto * hd; i++) { /* what an fp16 cache must hold */
            rk[i] = fv_ref_round_f16(rk[i]);
            rv[i] = fv_ref_round_f16(rv[i]);
        }
        snprintf(what, sizeof what, "attn_decode self step %u K cache", base);
        bad |= fv_check_compare(c, what, shape, ck, rk, (size_t)B * upto * hd, 0);
        snprintf(what, sizeof what, "attn_decode self step %u V cache", base);
        bad |= fv_check_compare(c, what, shape, cv, rv, (size_t)B * upto * hd, 0);
    }
    return bad;
}

static int cross_case(fv_check *c, uint32_t B, uint32_t Tk, uint32_t H, uint32_t dk, int f16) {
    char shape[96];
    snprintf(shape, sizeof shape, "cross%s B%u Tk%u H%u dk%u", f16 ? " f16" : "", B, Tk, H, dk);
    uint32_t hd = H * dk, kvs = 2 * hd;
    size_t nkv = (size_t)B * Tk * kvs;
    float *q = fv_check_rand(c, (size_t)B * hd, -1, 1), *kv = fv_check_rand(c, nkv, -1, 1);
    float *o = fv_check_alloc(c, (size_t)B * hd);
    uint32_t *sq = fv_check_alloc_u32(c, B), *sk = fv_check_alloc_u32(c, (size_t)B * Tk);
    if (!q || !kv || !o || !sq || !sk) return fv_check_fail(c, "attn_decode", shape, "setup failed");
    for (uint32_t b = 0; b < B; b++) {
        sq[b] = 1;
        uint32_t len = b == 0 ? Tk : 1 + (uint32_t)fv_rng_below(&c->rng, Tk); /* padded prompts */
        for (uint32_t j = 0; j < Tk; j++) sk[b * Tk + j] = b == 1 ? 0 : j < len; /* row 1: nothing visible */
    }
    fv_buf *bq = fv_check_upload(c, q, (size_t)B * hd), *bkv = kv_buf(c, kv, nkv, f16);
    fv_buf *bo = fv_check_upload(c, NULL, (size_t)B * hd), *bsk = fv_check_upload_u32(c, sk, (size_t)B * Tk);
    fv_attn_dec_desc a = {.B = B, .H = H, .dk = dk, .Tk = Tk, .k_stride = kvs, .v_stride = kvs, .kv_f16 = f16};
    fv_t none = fv_tensor(NULL, 0);
    if (!bq || !bkv || !bo || !bsk || fv_check_begin(c) ||
        fv_attn_decode(c->g, &a, fv_tensor(bq, 0), fv_tensor(bkv, 0), fv_tensor(bkv, hd), fv_tensor(bo, 0),
                       fv_tensor(bsk, 0), none, none, none, none, none) ||
        fv_check_run(c))
        return fv_check_fail(c, "attn_decode", shape, fv_last_error());
    fv_attn_desc r = {.B = B, .Tq = 1, .Tk = Tk, .H = H, .dk = dk, .k_stride = kvs, .v_stride = kvs, .pad_mask_only = 1,
                      .kv_f16 = f16};
    if (fv_ref_attention(&r, q, kv, kv + hd, o, (int32_t *)sq, (int32_t *)sk, NULL, NULL, NULL, NULL, NULL))
        return fv_check_fail(c, "attn_decode", shape, "reference out of memory");
    return fv_check_compare(c, f16 ? "attn_decode cross f16 O" : "attn_decode cross O", shape, fv_check_download(c, bo, (size_t)B * hd), o, (size_t)B * hd,
                            1e-4);
}

static int bad_input(fv_check *c) {
    fv_buf *x = fv_check_upload(c, NULL, 4096), *y = fv_check_upload(c, NULL, 4096), *st = fv_check_upload(c, NULL, 4);
    fv_buf *z = fv_check_upload(c, NULL, 4096), *w = fv_check_upload(c, NULL, 4096);
    if (!x || !y || !z || !w || !st || fv_check_begin(c)) return fv_check_fail(c, "attn_decode", "bad input", fv_last_error());
    fv_attn_dec_desc cross = {.B = 2, .H = 2, .dk = 16, .Tk = 8};
    fv_attn_dec_desc self = {.B = 1, .H = 2, .dk = 16, .Tk = 8, .self = 1};
    fv_attn_dec_desc big = cross, biased = cross, odd = cross;
    big.Tk = 4096;
    biased.use_bias = 1;
    odd.dk = 18;
    fv_t X = fv_tensor(x, 0), Y = fv_tensor(y, 0), Z = fv_tensor(z, 0), W = fv_tensor(w, 0), S = fv_tensor(st, 0), none = fv_tensor(NULL, 0);
    const char *what[] = {"null q", "k too small", "bias without self", "dk not a multiple of 4", "misaligned q",
                          "self without step", "self with K = V buffer"};
    int accepted[] = {
        fv_attn_decode(c->g, &cross, none, Y, Y, X, Y, none, none, none, none, none) == 0,
        fv_attn_decode(c->g, &big, X, Y, Y, fv_tensor(st, 0), Y, none, none, none, none, none) == 0,
        fv_attn_decode(c->g, &biased, X, Y, Y, S, Y, none, none, none, Y, Y) == 0,
        fv_attn_decode(c->g, &odd, X, Y, Y, S, Y, none, none, none, none, none) == 0,
        fv_attn_decode(c->g, &cross, fv_tensor(x, 2), Y, Y, S, Y, none, none, none, none, none) == 0,
        fv_attn_decode(c->g, &self, X, Y, Z, W, none, none, X, X, none, none) == 0,
        fv_attn_decode(c->g, &self, X, Y, Y, W, none, S, X, X, none, none) == 0,
    };
    fv_graph_end(c->g);
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
        if (accepted[i]) return fv_check_fail(c, "attn_decode", "bad input", what[i]);
    fv_check_pass(c, "attn_decode", "bad input", "null buffer, short k, bias without self, odd dk, misaligned offset, "
                                                  "missing step, K = V cache rejected");
    return 0;
}

int fv_check_op_attn_decode(fv_check *c) {
    const char *why = fv_attn_decode_unavailable(c->d);
    if (why) { /* said, not skipped silently: decoding then runs the general attention op, checked by op_attention */
        char detail[200];
        snprintf(detail, sizeof detail, "not used on this device (%s): decode steps take the general attention path", why);
        fv_check_pass(c, "attn_decode", "-", detail);
        return 0;
    }
    int bad = 0;
    bad |= self_case(c, 1, 7, 1, 16, 0, 1, 0);
    bad |= self_case(c, 3, 33, 6, 64, 0, 1, 0);
    bad |= self_case(c, 2, c->quick ? 77 : 1001, 12, 64, 0, 1, 0);
    bad |= self_case(c, 5, 19, 3, 16, 0, 1, 0);
    bad |= self_case(c, 5, 19, 3, 16, 0, 1, 1);
    bad |= cross_case(c, 1, 1, 1, 16, 0);
    bad |= cross_case(c, 3, 37, 6, 64, 0);
    bad |= cross_case(c, 2, c->quick ? 129 : 1030, 8, 64, 0);
    bad |= cross_case(c, 4, 65, 12, 16, 0);
    /* fp16 K/V: the kernel needs no 16-bit storage, so these run wherever the op does */
    bad |= self_case(c, 1, 7, 1, 16, 1, 1, 0);
    bad |= self_case(c, 3, 33, 6, 64, 1, 0, 0);
    bad |= self_case(c, 2, c->quick ? 77 : 301, 5, 64, 1, 1, 0);
    bad |= self_case(c, 5, 19, 3, 20, 1, 0, 0);
    bad |= self_case(c, 4, 21, 3, 16, 1, 1, 1);
    bad |= cross_case(c, 1, 1, 1, 16, 1);
    bad |= cross_case(c, 3, 37, 6, 64, 1);
    bad |= cross_case(c, 2, c->quick ? 129 : 517, 8, 64, 1);
    bad |= cross_case(c, 4, 65, 3, 28, 1);
    bad |= bad_input(c);
    return bad;
}
