/* fp16 KV caches on the general decode path (the one a decode step takes where fv_attn_decode
 * does not serve it): fv_kv_append_f16 into fp16 self caches + fv_attention with kv_f16 reading
 * them, recorded once and replayed at several steps; the cross K|V cache filled at "prefill" by
 * fv_cast_f16 of an fp32 linear output and read by fv_attention with kv_f16 (pad mask, strided
 * K|V); a beam reorder of fp16 cache rows by fv_gather_rows over 32-bit words. References: the
 * attention reference reading K/V rounded through fp16 (ref/attention.h), ref/decode.h's
 * fv_ref_kv_append_f16 and fv_ref_gather_rows. Odd shapes (odd dk and H*dk, B > 1, padded rows,
 * a row with no visible key).
 * Tolerances: O 1e-4 relative (the reference rounds K/V exactly as the device stores them, so
 * only fp32 summation order differs); caches, the cast and the gather 0 (exact bits, compared
 * as fp16 values). Where the device has no 16-bit storage (or FLANVK_DISABLE_F16=1) the path is
 * unsupported: the check then requires that every fp16-K/V call is rejected with an error and
 * says so in a passing line; fv_attention_back with kv_f16 must always be rejected. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "ops/attention.h"
#include "ops/cast.h"
#include "ops/decode.h"
#include "ops/relpos.h"
#include "ref/attention.h"
#include "ref/cast.h"
#include "ref/decode.h"

enum { NB = 32, LR = 128, MAXD = 128 };

/* Self-attention: this step's k/v (slices of a fused QKV row) appended to fp16 caches by
 * fv_kv_append_f16, then fv_attention over the caches, as the decode step's general path. */
static int self_case(fv_check *c, uint32_t B, uint32_t Tmax, uint32_t H, uint32_t dk, int use_bias) {
    char shape[96];
    snprintf(shape, sizeof shape, "self%s B%u Tmax%u H%u dk%u", use_bias ? "" : " nobias", B, Tmax, H, dk);
    uint32_t hd = H * dk, ns = 3 * hd + 3; /* fused QKV rows with an odd gap */
    size_t nqkv = (size_t)B * ns, ncache = (size_t)B * Tmax * hd;
    float *qkv = fv_check_alloc(c, nqkv), *k = fv_check_alloc(c, ncache), *v = fv_check_alloc(c, ncache);
    float *tab = fv_check_rand(c, NB * H, -2, 2), *o = fv_check_alloc(c, (size_t)B * hd);
    uint32_t *sq = fv_check_alloc_u32(c, B), *sk = fv_check_alloc_u32(c, (size_t)B * Tmax), *pq = fv_check_alloc_u32(c, B);
    uint32_t *pk = fv_check_alloc_u32(c, (size_t)B * Tmax), *lut = fv_check_alloc_u32(c, 2 * LR + 1);
    uint32_t *stepv = fv_check_alloc_u32(c, 1);
    uint16_t *rk = (uint16_t *)fv_check_alloc(c, ncache), *rv = (uint16_t *)fv_check_alloc(c, ncache);
    float *rkf = fv_check_alloc(c, ncache), *rvf = fv_check_alloc(c, ncache);
    if (!qkv || !k || !v || !tab || !o || !sq || !sk || !pq || !pk || !lut || !stepv || !rk || !rv || !rkf || !rvf ||
        fv_relpos_lut_fill((int32_t *)lut, LR, 0, NB, MAXD))
        return fv_check_fail(c, "attn_kv_f16", shape, "setup failed");
    for (uint32_t b = 0; b < B; b++) {
        sq[b] = 1;
        for (uint32_t j = 0; j < Tmax; j++) pk[b * Tmax + j] = j;
    }
    fv_buf *bqkv = fv_check_upload(c, NULL, nqkv), *bk = fv_check_upload_f16(c, NULL, ncache);
    fv_buf *bv = fv_check_upload_f16(c, NULL, ncache), *bo = fv_check_upload(c, NULL, (size_t)B * hd);
    fv_buf *bp = fv_check_upload(c, NULL, (size_t)B * H * Tmax), *btab = fv_check_upload(c, tab, NB * H);
    fv_buf *bsq = fv_check_upload_u32(c, sq, B), *bsk = fv_check_upload_u32(c, NULL, (size_t)B * Tmax);
    fv_buf *bpq = fv_check_upload_u32(c, NULL, B), *bpk = fv_check_upload_u32(c, pk, (size_t)B * Tmax);
    fv_buf *blut = fv_check_upload_u32(c, lut, 2 * LR + 1), *bstep = fv_check_upload_u32(c, NULL, 1);
    if (!bqkv || !bk || !bv || !bo || !bp || !btab || !bsq || !bsk || !bpq || !bpk || !blut || !bstep)
        return fv_check_fail(c, "attn_kv_f16", shape, fv_last_error());
    fv_attn_desc a = {.B = B, .Tq = 1, .Tk = Tmax, .H = H, .dk = dk, .q_stride = ns, .use_bias = use_bias,
                      .num_buckets = NB, .lut_radius = LR, .kv_f16 = 1};
    fv_t none = fv_tensor(NULL, 0), st = fv_tensor(bstep, 0);
    if (fv_check_begin(c) ||
        fv_kv_append_f16(c->g, fv_tensor(bqkv, hd), st, fv_tensor(bk, 0), B, hd, ns, hd, Tmax * hd, Tmax) ||
        fv_kv_append_f16(c->g, fv_tensor(bqkv, 2 * hd), st, fv_tensor(bv, 0), B, hd, ns, hd, Tmax * hd, Tmax) ||
        fv_attention(c->g, &a, fv_tensor(bqkv, 0), fv_tensor(bk, 0), fv_tensor(bv, 0), fv_tensor(bo, 0),
                     fv_tensor(bsq, 0), fv_tensor(bsk, 0), use_bias ? fv_tensor(bpq, 0) : none,
                     use_bias ? fv_tensor(bpk, 0) : none, use_bias ? fv_tensor(btab, 0) : none,
                     use_bias ? fv_tensor(blut, 0) : none, fv_tensor(bp, 0)) ||
        fv_graph_end(c->g))
        return fv_check_fail(c, "attn_kv_f16", shape, fv_last_error());
    const uint32_t steps[] = {0, 1, Tmax / 2, Tmax - 1};
    int bad = 0;
    for (int s = 0; s < 4; s++) {
        uint32_t step = steps[s];
        if (s > 0 && step == steps[s - 1]) continue;
        stepv[0] = step;
        for (size_t i = 0; i < nqkv; i++) qkv[i] = fv_rng_uniform(&c->rng) * 2 - 1;
        for (uint32_t b = 0; b < B; b++) {
            pq[b] = step;
            for (uint32_t j = 0; j < Tmax; j++) {
                sk[b * Tmax + j] = j <= step;
                size_t row = ((size_t)b * Tmax + j) * hd;
                for (uint32_t e = 0; e < hd; e++) { /* masked slots finite (zero), as ops/attention.h asks */
                    k[row + e] = j < step ? fv_rng_uniform(&c->rng) * 2 - 1 : 0.0f;
                    v[row + e] = j < step ? fv_rng_uniform(&c->rng) * 2 - 1 : 0.0f;
                }
            }
        }
        if (fv_buf_write(c->d, bstep, 0, stepv, 4) || fv_buf_write(c->d, bqkv, 0, qkv, nqkv * 4) ||
            fv_buf_write(c->d, bsk, 0, sk, (size_t)B * Tmax * 4) || fv_buf_write(c->d, bpq, 0, pq, B * 4) ||
            fv_check_write_f16(c, bk, k, ncache) || fv_check_write_f16(c, bv, v, ncache) || fv_graph_run(c->g))
            return fv_check_fail(c, "attn_kv_f16", shape, fv_last_error());
        /* the caches as the reference appends them (bits), and the fp32 values the reference attends over */
        fv_ref_cast_f16(k, rk, ncache);
        fv_ref_cast_f16(v, rv, ncache);
        fv_ref_kv_append_f16(qkv + hd, step, rk, B, hd, ns, hd, (size_t)Tmax * hd, Tmax);
        fv_ref_kv_append_f16(qkv + 2 * hd, step, rv, B, hd, ns, hd, (size_t)Tmax * hd, Tmax);
        for (size_t i = 0; i < ncache; i++) {
            rkf[i] = fv_ref_f16_value(rk[i]);
            rvf[i] = fv_ref_f16_value(rv[i]);
        }
        if (fv_ref_attention(&a, qkv, rkf, rvf, o, (int32_t *)sq, (int32_t *)sk, (int32_t *)pq, (int32_t *)pk, tab,
                             (int32_t *)lut, NULL))
            return fv_check_fail(c, "attn_kv_f16", shape, "reference out of memory");
        char what[80];
        snprintf(what, sizeof what, "attention kv_f16 self step %u O", step);
        bad |= fv_check_compare(c, what, shape, fv_check_download(c, bo, (size_t)B * hd), o, (size_t)B * hd, 1e-4);
        snprintf(what, sizeof what, "kv_append_f16 step %u K cache", step);
        bad |= fv_check_compare(c, what, shape, fv_check_download_f16(c, bk, ncache), rkf, ncache, 0);
        snprintf(what, sizeof what, "kv_append_f16 step %u V cache", step);
        bad |= fv_check_compare(c, what, shape, fv_check_download_f16(c, bv, ncache), rvf, ncache, 0);
    }
    return bad;
}

/* Cross-attention: the fp32 K|V of the encoder output (a linear layer's [B, Tk, 2*H*dk]) cast
 * to the fp16 cache once, then read with K and V strided in it. */
static int cross_case(fv_check *c, uint32_t B, uint32_t Tk, uint32_t H, uint32_t dk) {
    char shape[96];
    snprintf(shape, sizeof shape, "cross B%u Tk%u H%u dk%u", B, Tk, H, dk);
    uint32_t hd = H * dk, kvs = 2 * hd;
    size_t nkv = (size_t)B * Tk * kvs;
    float *q = fv_check_rand(c, (size_t)B * hd, -1, 1), *kv = fv_check_rand(c, nkv, -1, 1);
    float *o = fv_check_alloc(c, (size_t)B * hd), *kvr = fv_check_alloc(c, nkv);
    uint32_t *sq = fv_check_alloc_u32(c, B), *sk = fv_check_alloc_u32(c, (size_t)B * Tk);
    if (!q || !kv || !o || !kvr || !sq || !sk) return fv_check_fail(c, "attn_kv_f16", shape, "setup failed");
    for (uint32_t b = 0; b < B; b++) {
        sq[b] = 1;
        uint32_t len = b == 0 ? Tk : 1 + (uint32_t)fv_rng_below(&c->rng, Tk);
        for (uint32_t j = 0; j < Tk; j++) sk[b * Tk + j] = b == 1 ? 0 : j < len; /* row 1: nothing visible */
    }
    fv_buf *bq = fv_check_upload(c, q, (size_t)B * hd), *bkv32 = fv_check_upload(c, kv, nkv);
    fv_buf *bkv = fv_check_upload_f16(c, NULL, nkv), *bo = fv_check_upload(c, NULL, (size_t)B * hd);
    fv_buf *bp = fv_check_upload(c, NULL, (size_t)B * H * Tk), *bsq = fv_check_upload_u32(c, sq, B);
    fv_buf *bsk = fv_check_upload_u32(c, sk, (size_t)B * Tk);
    fv_attn_desc a = {.B = B, .Tq = 1, .Tk = Tk, .H = H, .dk = dk, .k_stride = kvs, .v_stride = kvs,
                      .pad_mask_only = 1, .kv_f16 = 1};
    fv_t none = fv_tensor(NULL, 0);
    if (!bq || !bkv32 || !bkv || !bo || !bp || !bsq || !bsk || fv_check_begin(c) ||
        fv_cast_f16(c->g, fv_tensor(bkv32, 0), fv_tensor(bkv, 0), (uint32_t)nkv) ||
        fv_attention(c->g, &a, fv_tensor(bq, 0), fv_tensor(bkv, 0), fv_tensor(bkv, hd), fv_tensor(bo, 0),
                     fv_tensor(bsq, 0), fv_tensor(bsk, 0), none, none, none, none, fv_tensor(bp, 0)) ||
        fv_check_run(c))
        return fv_check_fail(c, "attn_kv_f16", shape, fv_last_error());
    for (size_t i = 0; i < nkv; i++) kvr[i] = fv_ref_round_f16(kv[i]);
    int bad = fv_check_compare(c, "cast_f16 cross K|V cache", shape, fv_check_download_f16(c, bkv, nkv), kvr, nkv, 0);
    if (fv_ref_attention(&a, q, kv, kv + hd, o, (int32_t *)sq, (int32_t *)sk, NULL, NULL, NULL, NULL, NULL))
        return fv_check_fail(c, "attn_kv_f16", shape, "reference out of memory");
    bad |= fv_check_compare(c, "attention kv_f16 cross O", shape, fv_check_download(c, bo, (size_t)B * hd), o,
                            (size_t)B * hd, 1e-4);
    return bad;
}

/* Beam reorder of an fp16 cache: rows of `halves` fp16 elements (even) gathered as halves / 2
 * words. Values include zeros beside nonzero halves (words that read as float denormals) and
 * fp16 NaN/inf, which a float copy could alter. */
static int gather_case(fv_check *c) {
    const uint32_t rows = 6, src_rows = 5, halves = 2 * 3 * 7; /* e.g. Tmax 3 x H*dk 7 x 2 */
    size_t ns = (size_t)src_rows * halves, nd = (size_t)rows * halves;
    float *src = fv_check_rand(c, ns, -1, 1), *ref = fv_check_alloc(c, nd);
    uint32_t idx[6] = {4, 0, 0, 3, 7 /* out of range: zeros */, 2};
    if (!src || !ref) return fv_check_fail(c, "gather_rows f16", "6x42", "setup failed");
    for (size_t i = 0; i < ns; i += 5) src[i] = 0.0f; /* a zero high or low half */
    src[3] = NAN, src[8] = INFINITY, src[9] = -6.0e-8f; /* fp16 NaN, inf, a subnormal */
    fv_buf *bs = fv_check_upload_f16(c, src, ns), *bi = fv_check_upload_u32(c, idx, rows);
    fv_buf *bd = fv_check_upload_f16(c, NULL, nd);
    if (!bs || !bi || !bd || fv_check_begin(c) ||
        fv_gather_rows(c->g, fv_tensor(bs, 0), fv_tensor(bi, 0), fv_tensor(bd, 0), rows, halves / 2, src_rows) ||
        fv_check_run(c))
        return fv_check_fail(c, "gather_rows f16", "6x42", fv_last_error());
    /* bits compared through the words: fv_check_compare would stop at the NaN */
    const uint32_t *got = (const uint32_t *)fv_check_download(c, bd, nd / 2);
    uint16_t *sh = (uint16_t *)fv_check_alloc(c, ns / 2);
    uint32_t *want = fv_check_alloc_u32(c, nd / 2);
    if (!got || !sh || !want) return fv_check_fail(c, "gather_rows f16", "6x42", "download failed");
    fv_ref_cast_f16(src, sh, ns);
    fv_ref_gather_rows((const float *)sh, idx, (float *)want, rows, halves / 2, src_rows);
    if (memcmp(got, want, nd * 2)) return fv_check_fail(c, "gather_rows f16", "6x42", "fp16 rows not copied bit for bit");
    fv_check_pass(c, "gather_rows f16", "6x42", "fp16 cache rows (NaN, inf, subnormal, zero halves) copied bit for bit as words");
    return 0;
}

/* Without 16-bit storage every fp16-K/V call must fail cleanly; the backward never takes kv_f16. */
static int rejected(fv_check *c, int supported) {
    fv_buf *x = fv_check_upload(c, NULL, 4096), *y = fv_check_upload(c, NULL, 4096), *z = fv_check_upload(c, NULL, 4096);
    fv_buf *w = fv_check_upload(c, NULL, 4096), *st = fv_check_upload_u32(c, NULL, 4);
    if (!x || !y || !z || !w || !st || fv_check_begin(c)) return fv_check_fail(c, "attn_kv_f16", "bad input", fv_last_error());
    fv_attn_desc a = {.B = 1, .Tq = 1, .Tk = 8, .H = 2, .dk = 8, .kv_f16 = 1};
    fv_t X = fv_tensor(x, 0), Y = fv_tensor(y, 0), Z = fv_tensor(z, 0), W = fv_tensor(w, 0), S = fv_tensor(st, 0);
    fv_t n = fv_tensor(NULL, 0);
    int rcs[4], nrc = 1;
    rcs[0] = fv_attention_back(c->g, &a, X, X, X, Y, X, X, n, n, n, Z, Z, Z, n, W, n);
    if (!supported) {
        rcs[nrc++] = fv_attention(c->g, &a, X, Y, Y, Z, S, S, n, n, n, n, W);
        rcs[nrc++] = fv_kv_append_f16(c->g, X, S, Y, 1, 16, 16, 16, 128, 8);
        rcs[nrc++] = fv_cast_f16(c->g, X, Y, 16);
    }
    fv_graph_end(c->g);
    return fv_check_rejected(c, "attn_kv_f16", rcs, nrc,
                             supported ? "backward with kv_f16 rejected"
                                       : "backward with kv_f16, and (no 16-bit storage) fv_attention kv_f16, "
                                         "fv_kv_append_f16 and fv_cast_f16 rejected");
}

int fv_check_op_attn_kv_f16(fv_check *c) {
    if (!fv_attn_kv_f16_supported(c->d)) {
        char detail[400];
        snprintf(detail, sizeof detail, "fp16 KV caches unsupported on '%s' (no 16-bit storage, or FLANVK_DISABLE_F16): "
                                        "decode keeps fp32 caches", c->d->info.name);
        fv_check_pass(c, "attn_kv_f16", "-", detail);
        return rejected(c, 0);
    }
    int bad = 0;
    bad |= self_case(c, 1, 7, 1, 16, 1);
    bad |= self_case(c, 3, 33, 3, 7, 0);
    bad |= self_case(c, 2, c->quick ? 40 : 129, 8, 64, 1);
    bad |= cross_case(c, 1, 1, 1, 16);
    bad |= cross_case(c, 3, 37, 3, 7);
    bad |= cross_case(c, 2, c->quick ? 65 : 257, 8, 64);
    bad |= gather_case(c);
    bad |= rejected(c, 1);
    return bad;
}
