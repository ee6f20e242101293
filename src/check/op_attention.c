/* T5 attention: shader vs the double reference on odd shapes (Tq, Tk in {1, 7, 33, 130}, H in
 * {1, 3, 8}, dk in {8, 64}, B in {1, 2}) with padded and packed segments (restarting positions),
 * causal masks, cross-attention, fused QKV strides, large scores, the position bias, and a
 * decode step replayed with a changing cache length; the softmax kernels alone; the reference
 * backward vs finite differences (dQ, dK, dV, dTable); bad input rejected.
 * Tolerances (max abs err / max |ref|): P and O 1e-4 (1e-3 in the large-score case, whose fp32
 * scores reach several hundred, so their rounding error moves P by ~1e-5 relative), dQ dK dV
 * 1e-3, dTable 1e-3 (fp32 sums over up to 130 keys and 260 rows); the softmax kernels alone 1e-5;
 * finite differences 1e-2 (central step 1e-2).
 * Dropout on the probabilities (training): the full forward + backward with rates 0.1 to 0.5
 * (self, causal, packed, fused, cross, with bias, dk 12) against the reference with the same hash
 * mask, same tolerances (the fused backward takes its softmax row sums from the forward's O,
 * so these also check that identity under dropout); finite differences of the reference with the mask held fixed (a fixed seed).
 * On texel devices (lavapipe) shapes with Tq > 4 go through the fused kernels (ops/attn_fused.h):
 * Tk % 4 == 0 cases exercise their vec4 variants, the others (odd Tk, Tk not a multiple of the
 * 64-key chunk, Tq not a multiple of the 16-row block) the scalar ones.
 * Block ranges (ops/attn_ranges.h): every full forward + backward case runs a second time with
 * the ranges of its mask (computed on the device), into separate NaN-filled outputs; P, O, dQ,
 * dK, dV and dTable must equal the unranged run's bit for bit (same kernels, only exact-zero terms
 * skipped) and, like it, the reference. Cases with B*T large enough to skip blocks: packed
 * 130/130 and 1000-token packed rows with several segments, causal, padding.
 * Sparse writes (texel path): with ranges the fused kernels leave the blocks no product reads
 * unwritten, so the ranged P and dropped P are compared where written (the rest must be NaN from
 * the poisoned buffer over a zero of the unranged run), and every output being exact shows that no
 * product read an unwritten element; a "sandwich" mask (queries in segments 1|2|1, keys 1|2)
 * makes the kernels zero the dead chunks the transposed products still read. The dropped P of
 * the fused forward must equal fv_dropout of its P bit for bit, and the ranged backward reads the
 * forward's dropped P (pd_kept) where the unranged one recomputes it: same bits again. */
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "ops/attention.h"
#include "ops/attn_ranges.h"
#include "ops/dropout.h"
#include "ops/relpos.h"
#include "ref/attention.h"

typedef struct {
    uint32_t B, Tq, Tk, H, dk;
    int causal, pad_only, bias, bidir, packed, fused;
    float scale;
    float drop; /* dropout rate on P (0: none) */
} cfg;

enum { NB = 32, MAXD = 128, LR = 128 };

/* Segment ids and positions for [B, T]: a real length per row (the rest padding), split into
 * 1..3 segments when packed, positions restarting at each segment. */
static void segments(fv_check *c, uint32_t B, uint32_t T, int packed, uint32_t *seg, uint32_t *pos) {
    if (packed == 2) { /* sandwich (cross-attention): see sandwich() */
        for (uint32_t t = 0; t < B * T; t++) seg[t] = 1, pos[t] = t % T;
        return;
    }
    for (uint32_t b = 0; b < B; b++) {
        uint32_t len = T - (uint32_t)fv_rng_below(&c->rng, T / 3 + 1);
        uint32_t id = 1, start = 0, cut = packed ? 1 + (uint32_t)fv_rng_below(&c->rng, len) : len;
        for (uint32_t t = 0; t < T; t++) {
            if (t >= len) {
                seg[b * T + t] = 0;
                pos[b * T + t] = t;
                continue;
            }
            if (t == cut && id < 3) {
                id++;
                start = t;
                cut = t + 1 + (uint32_t)fv_rng_below(&c->rng, len - t);
            }
            seg[b * T + t] = id;
            pos[b * T + t] = t - start;
        }
    }
}

/* A mask whose query-range hulls are not covered by the key-range hulls (the case that forces the
 * sparse kernels to zero some dead chunks): queries in thirds of segments 1, 2, 1; keys in halves
 * of segments 1, 2. The key blocks of segment 1 are seen by the first and last thirds, so the
 * transposed products read them over the middle third too, whose queries see none of them. */
static void sandwich(uint32_t B, uint32_t Tq, uint32_t Tk, uint32_t *sq, uint32_t *sk) {
    for (uint32_t b = 0; b < B; b++) {
        for (uint32_t i = 0; i < Tq; i++) sq[b * Tq + i] = 3 * i / Tq == 1 ? 2 : 1;
        for (uint32_t j = 0; j < Tk; j++) sk[b * Tk + j] = 2 * j / Tk == 1 ? 2 : 1;
    }
}

/* The H*dk columns of each of n tokens of a strided tensor, packed. */
static float *pack(fv_check *c, const float *x, size_t n, uint32_t hd, uint32_t stride) {
    float *o = fv_check_alloc(c, n * hd);
    for (size_t t = 0; o && x && t < n; t++) memcpy(o + t * hd, x + t * stride, hd * sizeof *o);
    return o;
}

static void name(char *s, size_t n, const cfg *g) {
    snprintf(s, n, "B%u Tq%u Tk%u H%u dk%u%s%s%s%s%s%s", g->B, g->Tq, g->Tk, g->H, g->dk,
             g->packed == 2 ? " sandwich" : g->packed ? " packed" : " padded",
             g->causal ? " causal" : "", g->pad_only ? " padmask" : "", g->bias ? (g->bidir ? " bias-bi" : " bias-uni") : "",
             g->fused ? " fusedQKV" : "", g->scale > 1 ? " large" : "");
    if (g->drop > 0) snprintf(s + strlen(s), n - strlen(s), " dropout %.1f", g->drop);
}

typedef struct {
    fv_attn_desc a;
    uint32_t *sq, *sk, *pq, *pk, *lut;
    float *q, *k, *v, *table, *dout;
    float *qkv; /* fused: q, k, v all point into it */
    size_t nq, nk, no; /* floats of the strided q, k/v, o tensors */
} inst;

static int make(fv_check *c, const cfg *g, inst *x) {
    memset(x, 0, sizeof *x);
    uint32_t hd = g->H * g->dk, fs = g->fused ? 3 * hd : hd;
    x->a = (fv_attn_desc){.B = g->B, .Tq = g->Tq, .Tk = g->Tk, .H = g->H, .dk = g->dk, .q_stride = fs, .k_stride = fs,
                          .v_stride = fs, .o_stride = g->fused ? hd + 3 : 0, .causal = g->causal,
                          .pad_mask_only = g->pad_only, .use_bias = g->bias, .num_buckets = NB, .lut_radius = LR};
    x->sq = fv_check_alloc_u32(c, g->B * g->Tq);
    x->pq = fv_check_alloc_u32(c, g->B * g->Tq);
    x->sk = fv_check_alloc_u32(c, g->B * g->Tk);
    x->pk = fv_check_alloc_u32(c, g->B * g->Tk);
    x->lut = fv_check_alloc_u32(c, 2 * LR + 1);
    if (!x->sq || !x->pq || !x->sk || !x->pk || !x->lut) return -1;
    segments(c, g->B, g->Tq, g->packed, x->sq, x->pq);
    if (g->Tq == g->Tk) {
        memcpy(x->sk, x->sq, g->B * g->Tk * sizeof *x->sk);
        memcpy(x->pk, x->pq, g->B * g->Tk * sizeof *x->pk);
    } else {
        segments(c, g->B, g->Tk, g->packed, x->sk, x->pk);
    }
    if (g->packed == 2) sandwich(g->B, g->Tq, g->Tk, x->sq, x->sk);
    if (fv_relpos_lut_fill((int32_t *)x->lut, LR, g->bidir, NB, MAXD)) return -1;
    float s = g->scale > 0 ? g->scale : 1;
    x->nq = (size_t)g->B * g->Tq * fs;
    x->nk = (size_t)g->B * g->Tk * fs;
    x->no = (size_t)g->B * g->Tq * fv_attn_stride(&x->a, x->a.o_stride);
    if (g->fused) {
        x->qkv = fv_check_rand(c, x->nq, -s, s);
        if (!x->qkv) return -1;
        x->q = x->qkv;
        x->k = x->qkv + hd;
        x->v = x->qkv + 2 * hd;
    } else {
        x->q = fv_check_rand(c, x->nq, -s, s);
        x->k = fv_check_rand(c, x->nk, -s, s);
        x->v = fv_check_rand(c, x->nk, -1, 1);
    }
    x->table = fv_check_rand(c, NB * g->H, -2, 2);
    x->dout = fv_check_rand(c, x->no, -1, 1);
    return (x->q && x->k && x->v && x->table && x->dout) ? 0 : -1;
}

/* Device q, k, v (one fused buffer or three): x's inputs, or NaN-filled outputs when nan. */
static int upload_qkv(fv_check *c, const inst *x, int nan, fv_t *tq, fv_t *tk, fv_t *tv) {
    uint32_t hd = x->a.H * x->a.dk;
    if (x->qkv) {
        fv_buf *b = fv_check_upload(c, nan ? NULL : x->qkv, x->nq);
        *tq = fv_tensor(b, 0), *tk = fv_tensor(b, hd), *tv = fv_tensor(b, 2 * hd);
    } else {
        *tq = fv_tensor(fv_check_upload(c, nan ? NULL : x->q, x->nq), 0);
        *tk = fv_tensor(fv_check_upload(c, nan ? NULL : x->k, x->nk), 0);
        *tv = fv_tensor(fv_check_upload(c, nan ? NULL : x->v, x->nk), 0);
    }
    return (tq->buf && tk->buf && tv->buf) ? 0 : -1;
}

static float *download_t(fv_check *c, fv_t t, size_t n) {
    float *all = fv_check_download(c, t.buf, t.off + n);
    return all ? all + t.off : NULL;
}

/* Bitwise equality of n floats (what the ranged run must give); one line like fv_check_compare. */
static int same_bits(fv_check *c, const char *what, const char *shape, const float *got, const float *want, size_t n) {
    char w[96];
    snprintf(w, sizeof w, "%s ranged == unranged", what);
    if (!got || !want) return fv_check_fail(c, w, shape, fv_last_error());
    size_t diff = 0;
    for (size_t i = 0; i < n; i++) diff += memcmp(got + i, want + i, sizeof *got) != 0;
    if (diff) {
        char why[64];
        snprintf(why, sizeof why, "%zu of %zu values differ", diff, n);
        return fv_check_fail(c, w, shape, why);
    }
    fv_check_pass(c, w, shape, "bit-identical");
    return 0;
}

/* The ranged run's P (or dropped P) against the unranged one's: the sparse kernels leave the
 * blocks no product reads unwritten (NaN from the poisoned buffer), which must be zeros in the
 * unranged P; every written value must be the same bits. */
static int same_written(fv_check *c, const char *what, const char *shape, const float *got, const float *want, size_t n) {
    char w[96];
    snprintf(w, sizeof w, "%s ranged == unranged where written", what);
    if (!got || !want) return fv_check_fail(c, w, shape, fv_last_error());
    size_t diff = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i]) && want[i] == 0.0f) skipped++;
        else diff += memcmp(got + i, want + i, sizeof *got) != 0;
    }
    char why[96];
    snprintf(why, sizeof why, diff ? "%zu of %zu values differ" : "bit-identical, %zu of %zu zeros not written",
             diff ? diff : skipped, n);
    if (diff) return fv_check_fail(c, w, shape, why);
    fv_check_pass(c, w, shape, why);
    return 0;
}

static int full(fv_check *c, const cfg *g, int accumulate_table) {
    char shape[160];
    name(shape, sizeof shape, g);
    inst x;
    if (make(c, g, &x)) return fv_check_fail(c, "attention", shape, "setup failed");
    const fv_attn_desc *a = &x.a;
    uint32_t hd = g->H * g->dk;
    size_t ns = (size_t)g->B * g->H * g->Tq * g->Tk, nh = (size_t)g->B * g->H * g->Tq * NB;
    float *dt0 = accumulate_table ? fv_check_rand(c, NB * g->H, -1, 1) : fv_check_alloc(c, NB * g->H);
    fv_t q, k, v, dq, dk, dv, dq2, dk2, dv2;
    if (!dt0 || upload_qkv(c, &x, 0, &q, &k, &v) || upload_qkv(c, &x, 1, &dq, &dk, &dv) ||
        upload_qkv(c, &x, 1, &dq2, &dk2, &dv2))
        return fv_check_fail(c, "attention", shape, fv_last_error());
    /* the ranged run's outputs and scratch */
    fv_buf *bo2 = fv_check_upload(c, NULL, x.no), *bp2 = fv_check_upload(c, NULL, ns), *bdp2 = fv_check_upload(c, NULL, ns);
    fv_buf *bh2 = fv_check_upload(c, NULL, nh), *bdt2 = fv_check_upload(c, dt0, NB * g->H), *bpd2 = fv_check_upload(c, NULL, ns);
    fv_buf *brg = fv_check_upload_u32(c, NULL, fv_attn_ranges_size(&x.a));
    if (!bo2 || !bp2 || !bdp2 || !bh2 || !bdt2 || !bpd2 || !brg) return fv_check_fail(c, "attention", shape, fv_last_error());
    fv_buf *bo = fv_check_upload(c, NULL, x.no), *bp = fv_check_upload(c, NULL, ns), *bdp = fv_check_upload(c, NULL, ns);
    fv_buf *bdo = fv_check_upload(c, x.dout, x.no), *bh = fv_check_upload(c, NULL, nh);
    fv_buf *bsq = fv_check_upload_u32(c, x.sq, g->B * g->Tq), *bsk = fv_check_upload_u32(c, x.sk, g->B * g->Tk);
    fv_buf *bpq = fv_check_upload_u32(c, x.pq, g->B * g->Tq), *bpk = fv_check_upload_u32(c, x.pk, g->B * g->Tk);
    fv_buf *blut = fv_check_upload_u32(c, x.lut, 2 * LR + 1), *btab = fv_check_upload(c, x.table, NB * g->H);
    fv_buf *bdt = fv_check_upload(c, dt0, NB * g->H);
    uint32_t seeds[2] = {0xdead, 4242};
    fv_buf *bseed = fv_check_upload_u32(c, seeds, 2), *bpd = fv_check_upload(c, NULL, ns);
    if (!bo || !bp || !bdp || !bdo || !bh || !bsq || !bsk || !bpq || !bpk || !blut || !btab || !bdt || !bseed || !bpd)
        return fv_check_fail(c, "attention", shape, fv_last_error());
    fv_attn_dropout drop = {fv_tensor(bseed, 1), 0x1234u, g->drop, fv_tensor(bpd, 0), 0};
    /* the ranged backward reads the forward's dropped P (pd_kept), the unranged one recomputes it */
    fv_attn_dropout drop2 = {fv_tensor(bseed, 1), 0x1234u, g->drop, fv_tensor(bpd2, 0), 1};
    fv_buf *bpd3 = fv_check_upload(c, NULL, ns); /* fv_dropout of the unranged P, for the fused one */
    if (!bpd3) return fv_check_fail(c, "attention", shape, fv_last_error());
    fv_ref_attn_drop rdrop = {seeds[1], 0x1234u, g->drop};
    fv_t none = fv_tensor(NULL, 0), rg = fv_tensor(brg, 0);
    if (fv_check_begin(c) ||
        fv_attention_drop(c->g, a, q, k, v, fv_tensor(bo, 0), fv_tensor(bsq, 0), fv_tensor(bsk, 0), fv_tensor(bpq, 0),
                          fv_tensor(bpk, 0), fv_tensor(btab, 0), fv_tensor(blut, 0), fv_tensor(bp, 0),
                          g->drop > 0 ? &drop : NULL, none) ||
        fv_attention_back_drop(c->g, a, q, k, v, fv_tensor(bp, 0), fv_tensor(bo, 0), fv_tensor(bdo, 0), fv_tensor(bpq, 0),
                               fv_tensor(bpk, 0), fv_tensor(blut, 0), dq, dk, dv, fv_tensor(bdt, 0), fv_tensor(bdp, 0),
                               fv_tensor(bh, 0), g->drop > 0 ? &drop : NULL, none) ||
        (g->drop > 0 && fv_dropout(c->g, fv_tensor(bp, 0), fv_tensor(bseed, 1), fv_tensor(bpd3, 0), (uint32_t)ns, 0x1234u,
                                   g->drop)) ||
        fv_attn_ranges(c->g, a, fv_tensor(bsq, 0), fv_tensor(bsk, 0), rg) ||
        fv_attention_drop(c->g, a, q, k, v, fv_tensor(bo2, 0), fv_tensor(bsq, 0), fv_tensor(bsk, 0), fv_tensor(bpq, 0),
                          fv_tensor(bpk, 0), fv_tensor(btab, 0), fv_tensor(blut, 0), fv_tensor(bp2, 0),
                          g->drop > 0 ? &drop2 : NULL, rg) ||
        fv_attention_back_drop(c->g, a, q, k, v, fv_tensor(bp2, 0), fv_tensor(bo2, 0), fv_tensor(bdo, 0),
                               fv_tensor(bpq, 0), fv_tensor(bpk, 0), fv_tensor(blut, 0), dq2, dk2, dv2,
                               fv_tensor(bdt2, 0), fv_tensor(bdp2, 0), fv_tensor(bh2, 0), g->drop > 0 ? &drop2 : NULL,
                               rg) ||
        fv_check_run(c))
        return fv_check_fail(c, "attention", shape, fv_last_error());

    float *o = fv_check_alloc(c, x.no), *p = fv_check_alloc(c, ns), *dt = fv_check_copy(c, dt0, NB * g->H);
    /* reference gradients in the device layout (one fused array when q, k, v are fused) */
    float *rq = fv_check_alloc(c, x.nq), *rk = x.qkv ? rq + hd : fv_check_alloc(c, x.nk);
    float *rv = x.qkv ? rq + 2 * hd : fv_check_alloc(c, x.nk);
    const int32_t *sq = (int32_t *)x.sq, *sk = (int32_t *)x.sk, *pq = (int32_t *)x.pq, *pk = (int32_t *)x.pk;
    if (!o || !p || !rq || !rk || !rv || !dt ||
        fv_ref_attention_drop(a, x.q, x.k, x.v, o, sq, sk, pq, pk, x.table, (int32_t *)x.lut, p, &rdrop) ||
        fv_ref_attention_back_drop(a, x.q, x.k, x.v, x.dout, sq, sk, pq, pk, x.table, (int32_t *)x.lut, rq, rk, rv, dt,
                                   &rdrop))
        return fv_check_fail(c, "attention", shape, "reference out of memory");
    uint32_t so = fv_attn_stride(a, a->o_stride), sq_ = fv_attn_stride(a, a->q_stride), sk_ = fv_attn_stride(a, a->k_stride);
    size_t tq = (size_t)g->B * g->Tq, tk = (size_t)g->B * g->Tk;
    int bad = 0;
    double ftol = g->scale > 1 ? 1e-3 : 1e-4;
    bad |= fv_check_compare(c, "attention fwd P", shape, fv_check_download(c, bp, ns), p, ns, ftol);
    bad |= fv_check_compare(c, "attention fwd O", shape, pack(c, fv_check_download(c, bo, x.no), tq, hd, so),
                            pack(c, o, tq, hd, so), tq * hd, ftol);
    bad |= fv_check_compare(c, "attention bwd dQ", shape, pack(c, download_t(c, dq, x.nq - dq.off), tq, hd, sq_),
                            pack(c, rq, tq, hd, sq_), tq * hd, 1e-3);
    bad |= fv_check_compare(c, "attention bwd dK", shape, pack(c, download_t(c, dk, x.nk - dk.off), tk, hd, sk_),
                            pack(c, rk, tk, hd, sk_), tk * hd, 1e-3);
    bad |= fv_check_compare(c, "attention bwd dV", shape, pack(c, download_t(c, dv, x.nk - dv.off), tk, hd, sk_),
                            pack(c, rv, tk, hd, sk_), tk * hd, 1e-3);
    if (g->bias)
        bad |= fv_check_compare(c, accumulate_table ? "attention bwd dTable (+=)" : "attention bwd dTable", shape,
                                fv_check_download(c, bdt, NB * g->H), dt, NB * g->H, 1e-3);
    bad |= same_written(c, "attention P", shape, fv_check_download(c, bp2, ns), fv_check_download(c, bp, ns), ns);
    if (g->drop > 0) {
        float *pd = fv_check_download(c, bpd, ns), *pd3 = fv_check_download(c, bpd3, ns);
        bad |= same_written(c, "attention dropped P", shape, fv_check_download(c, bpd2, ns), pd, ns);
        if (!pd || !pd3) return fv_check_fail(c, "attention dropped P", shape, fv_last_error());
        size_t diff = 0;
        for (size_t i = 0; i < ns; i++) diff += memcmp(pd + i, pd3 + i, sizeof *pd) != 0;
        char why[64];
        snprintf(why, sizeof why, "%zu of %zu values differ", diff, ns);
        if (diff) bad |= fv_check_fail(c, "attention dropped P == fv_dropout(P)", shape, why);
        else fv_check_pass(c, "attention dropped P == fv_dropout(P)", shape, "bit-identical");
    }
    bad |= same_bits(c, "attention O", shape, pack(c, fv_check_download(c, bo2, x.no), tq, hd, so),
                     pack(c, fv_check_download(c, bo, x.no), tq, hd, so), tq * hd);
    bad |= same_bits(c, "attention dQ", shape, pack(c, download_t(c, dq2, x.nq - dq2.off), tq, hd, sq_),
                     pack(c, download_t(c, dq, x.nq - dq.off), tq, hd, sq_), tq * hd);
    bad |= same_bits(c, "attention dK", shape, pack(c, download_t(c, dk2, x.nk - dk2.off), tk, hd, sk_),
                     pack(c, download_t(c, dk, x.nk - dk.off), tk, hd, sk_), tk * hd);
    bad |= same_bits(c, "attention dV", shape, pack(c, download_t(c, dv2, x.nk - dv2.off), tk, hd, sk_),
                     pack(c, download_t(c, dv, x.nk - dv.off), tk, hd, sk_), tk * hd);
    if (g->bias)
        bad |= same_bits(c, "attention dTable", shape, fv_check_download(c, bdt2, NB * g->H),
                         fv_check_download(c, bdt, NB * g->H), NB * g->H);
    return bad;
}

/* The fused row kernels alone, on random scores (no GEMM involved). */
static int softmax_only(fv_check *c, const cfg *g) {
    char shape[160];
    name(shape, sizeof shape, g);
    inst x;
    if (make(c, g, &x)) return fv_check_fail(c, "attn_softmax", shape, "setup failed");
    size_t ns = (size_t)g->B * g->H * g->Tq * g->Tk;
    float s = 4 * (g->scale > 0 ? g->scale : 1);
    float *sc = fv_check_rand(c, ns, -s, s), *dp = fv_check_rand(c, ns, -1, 1);
    fv_buf *bp = fv_check_upload(c, sc, ns), *bdp = fv_check_upload(c, dp, ns);
    fv_buf *bsq = fv_check_upload_u32(c, x.sq, g->B * g->Tq), *bsk = fv_check_upload_u32(c, x.sk, g->B * g->Tk);
    fv_buf *bpq = fv_check_upload_u32(c, x.pq, g->B * g->Tq), *bpk = fv_check_upload_u32(c, x.pk, g->B * g->Tk);
    fv_buf *blut = fv_check_upload_u32(c, x.lut, 2 * LR + 1), *btab = fv_check_upload(c, x.table, NB * g->H);
    if (!sc || !dp || !bp || !bdp || !bsq || !bsk || !bpq || !bpk || !blut || !btab)
        return fv_check_fail(c, "attn_softmax", shape, fv_last_error());
    if (fv_check_begin(c) ||
        fv_attn_softmax(c->g, &x.a, fv_tensor(bp, 0), fv_tensor(bsq, 0), fv_tensor(bsk, 0), fv_tensor(bpq, 0),
                        fv_tensor(bpk, 0), fv_tensor(btab, 0), fv_tensor(blut, 0)) ||
        fv_attn_softmax_back(c->g, &x.a, fv_tensor(bp, 0), fv_tensor(bdp, 0), fv_tensor(NULL, 0), fv_tensor(NULL, 0),
                             fv_tensor(NULL, 0), fv_tensor(NULL, 0)) ||
        fv_check_run(c))
        return fv_check_fail(c, "attn_softmax", shape, fv_last_error());
    float *p = fv_check_copy(c, sc, ns), *ds = fv_check_copy(c, dp, ns);
    if (!p || !ds) return fv_check_fail(c, "attn_softmax", shape, "out of memory");
    fv_ref_attn_softmax(&x.a, p, (int32_t *)x.sq, (int32_t *)x.sk, (int32_t *)x.pq, (int32_t *)x.pk, x.table,
                        (int32_t *)x.lut);
    /* the backward kernel ran on the device's P; feed the reference the same */
    float *gp = fv_check_download(c, bp, ns);
    if (!gp) return fv_check_fail(c, "attn_softmax", shape, fv_last_error());
    fv_ref_attn_softmax_back(&x.a, gp, ds);
    int bad = fv_check_compare(c, "attn_softmax P", shape, gp, p, ns, 1e-5);
    bad |= fv_check_compare(c, "attn_softmax_back dS", shape, fv_check_download(c, bdp, ns), ds, ns, 1e-5);
    return bad;
}

/* A decode step recorded once over a KV cache of Tmax slots and replayed as the cache fills:
 * only the contents of seg_k and pos_q change between runs. */
static int decode_replay(fv_check *c, uint32_t B, uint32_t Tmax, uint32_t H, uint32_t dk) {
    char shape[96];
    snprintf(shape, sizeof shape, "B%u Tmax%u H%u dk%u", B, Tmax, H, dk);
    uint32_t hd = H * dk;
    fv_attn_desc a = {.B = B, .Tq = 1, .Tk = Tmax, .H = H, .dk = dk, .use_bias = 1, .num_buckets = NB, .lut_radius = LR};
    float *q = fv_check_rand(c, B * hd, -1, 1), *k = fv_check_rand(c, (size_t)B * Tmax * hd, -1, 1);
    float *v = fv_check_rand(c, (size_t)B * Tmax * hd, -1, 1), *tab = fv_check_rand(c, NB * H, -2, 2);
    uint32_t *sq = fv_check_alloc_u32(c, B), *sk = fv_check_alloc_u32(c, B * Tmax), *pq = fv_check_alloc_u32(c, B);
    uint32_t *pk = fv_check_alloc_u32(c, B * Tmax), *lut = fv_check_alloc_u32(c, 2 * LR + 1);
    float *o = fv_check_alloc(c, B * hd);
    if (!q || !k || !v || !tab || !sq || !sk || !pq || !pk || !lut || !o || fv_relpos_lut_fill((int32_t *)lut, LR, 0, NB, MAXD))
        return fv_check_fail(c, "attention decode", shape, "setup failed");
    for (uint32_t b = 0; b < B; b++) {
        sq[b] = 1;
        for (uint32_t j = 0; j < Tmax; j++) pk[b * Tmax + j] = j;
    }
    fv_buf *bq = fv_check_upload(c, q, B * hd), *bk = fv_check_upload(c, k, (size_t)B * Tmax * hd);
    fv_buf *bv = fv_check_upload(c, v, (size_t)B * Tmax * hd), *bo = fv_check_upload(c, NULL, B * hd);
    fv_buf *bp = fv_check_upload(c, NULL, (size_t)B * H * Tmax), *btab = fv_check_upload(c, tab, NB * H);
    fv_buf *bsq = fv_check_upload_u32(c, sq, B), *bsk = fv_check_upload_u32(c, sk, B * Tmax);
    fv_buf *bpq = fv_check_upload_u32(c, pq, B), *bpk = fv_check_upload_u32(c, pk, B * Tmax);
    fv_buf *blut = fv_check_upload_u32(c, lut, 2 * LR + 1);
    if (!bq || !bk || !bv || !bo || !bp || !btab || !bsq || !bsk || !bpq || !bpk || !blut)
        return fv_check_fail(c, "attention decode", shape, fv_last_error());
    if (fv_check_begin(c) ||
        fv_attention(c->g, &a, fv_tensor(bq, 0), fv_tensor(bk, 0), fv_tensor(bv, 0), fv_tensor(bo, 0), fv_tensor(bsq, 0),
                     fv_tensor(bsk, 0), fv_tensor(bpq, 0), fv_tensor(bpk, 0), fv_tensor(btab, 0), fv_tensor(blut, 0),
                     fv_tensor(bp, 0)) ||
        fv_graph_end(c->g))
        return fv_check_fail(c, "attention decode", shape, fv_last_error());
    const uint32_t steps[] = {0, 5, Tmax - 1};
    int bad = 0;
    for (int s = 0; s < 3; s++) {
        uint32_t step = steps[s] < Tmax ? steps[s] : Tmax - 1;
        for (uint32_t b = 0; b < B; b++) {
            pq[b] = step;
            for (uint32_t j = 0; j < Tmax; j++) sk[b * Tmax + j] = j <= step;
        }
        if (fv_buf_write(c->d, bsk, 0, sk, B * Tmax * 4) || fv_buf_write(c->d, bpq, 0, pq, B * 4) || fv_graph_run(c->g))
            return fv_check_fail(c, "attention decode", shape, fv_last_error());
        fv_ref_attention(&a, q, k, v, o, (int32_t *)sq, (int32_t *)sk, (int32_t *)pq, (int32_t *)pk, tab, (int32_t *)lut,
                         NULL);
        char what[64];
        snprintf(what, sizeof what, "attention decode replay step %u O", step);
        bad |= fv_check_compare(c, what, shape, fv_check_download(c, bo, B * hd), o, B * hd, 1e-4);
    }
    return bad;
}

typedef struct {
    inst *x;
    const float *r; /* random projection of O */
    fv_ref_attn_drop drop;
} fd_ctx;

/* loss = sum(r * attention(q, k, v, table)) through the reference; the perturbed array is one of x's. */
static double fd_loss(void *vctx, const float *unused) {
    (void)unused;
    fd_ctx *f = vctx;
    inst *x = f->x;
    float *o = malloc(x->no * sizeof *o);
    if (!o || fv_ref_attention_drop(&x->a, x->q, x->k, x->v, o, (int32_t *)x->sq, (int32_t *)x->sk, (int32_t *)x->pq,
                                    (int32_t *)x->pk, x->table, (int32_t *)x->lut, NULL, &f->drop)) {
        free(o);
        return NAN;
    }
    double s = 0;
    for (size_t i = 0; i < x->no; i++) s += (double)f->r[i] * o[i];
    free(o);
    return s;
}

static int finite_differences(fv_check *c, const cfg *g) {
    char shape[160];
    name(shape, sizeof shape, g);
    inst x;
    if (make(c, g, &x)) return fv_check_fail(c, "attention ref fd", shape, "setup failed");
    float *dq = fv_check_alloc(c, x.nq), *dk = fv_check_alloc(c, x.nk), *dv = fv_check_alloc(c, x.nk);
    float *dt = fv_check_alloc(c, NB * g->H);
    fd_ctx f = {&x, x.dout, {77, 5, g->drop}};
    if (!dq || !dk || !dv || !dt ||
        fv_ref_attention_back_drop(&x.a, x.q, x.k, x.v, x.dout, (int32_t *)x.sq, (int32_t *)x.sk, (int32_t *)x.pq,
                                   (int32_t *)x.pk, x.table, (int32_t *)x.lut, dq, dk, dv, dt, &f.drop))
        return fv_check_fail(c, "attention ref fd", shape, "out of memory");
    int bad = fv_check_fd(c, "attention ref dQ vs finite diff", shape, fd_loss, &f, x.q, x.nq, dq, 24, 1e-2, 1e-2);
    bad |= fv_check_fd(c, "attention ref dK vs finite diff", shape, fd_loss, &f, x.k, x.nk, dk, 24, 1e-2, 1e-2);
    bad |= fv_check_fd(c, "attention ref dV vs finite diff", shape, fd_loss, &f, x.v, x.nk, dv, 24, 1e-2, 1e-2);
    if (g->bias)
        bad |= fv_check_fd(c, "attention ref dTable vs finite diff", shape, fd_loss, &f, x.table, NB * g->H, dt, 24, 1e-2,
                           1e-2);
    return bad;
}

static int bad_input(fv_check *c) {
    fv_buf *b = fv_check_upload(c, NULL, 4096), *small = fv_check_upload(c, NULL, 10);
    fv_buf *seg = fv_check_upload_u32(c, NULL, 64), *b2 = fv_check_upload(c, NULL, 4096), *b3 = fv_check_upload(c, NULL, 4096);
    fv_buf *b4 = fv_check_upload(c, NULL, 4096);
    if (!b || !small || !seg || !b2 || !b3 || !b4) return fv_check_fail(c, "attention", "bad input", fv_last_error());
    fv_attn_desc a = {.B = 1, .Tq = 4, .Tk = 4, .H = 2, .dk = 8};
    fv_t t = fv_tensor(b, 0), s = fv_tensor(seg, 0), p = fv_tensor(b2, 0), n = fv_tensor(NULL, 0);
    int rcs[11];
    if (fv_check_begin(c)) return fv_check_fail(c, "attention", "bad input", fv_last_error());
    fv_attn_desc a1 = a;
    a1.q_stride = 15; /* < H*dk */
    rcs[0] = fv_attention(c->g, &a1, t, t, t, fv_tensor(b3, 0), s, s, n, n, n, n, p);
    rcs[1] = fv_attention(c->g, &a, n, t, t, fv_tensor(b3, 0), s, s, n, n, n, n, p);
    rcs[2] = fv_attention(c->g, &a, t, t, t, fv_tensor(b3, 0), s, s, n, n, n, n, fv_tensor(small, 0)); /* small P */
    fv_attn_desc a2 = a;
    a2.use_bias = 1, a2.num_buckets = 32, a2.lut_radius = 128; /* bias without its buffers */
    rcs[3] = fv_attention(c->g, &a2, t, t, t, fv_tensor(b3, 0), s, s, s, s, n, n, p);
    /* dQ in the buffer of Q */
    rcs[4] = fv_attention_back(c->g, &a, t, fv_tensor(b3, 0), fv_tensor(b3, 0), p, fv_tensor(b3, 0), fv_tensor(b3, 0), n,
                               n, n, t,
                               fv_tensor(small, 0), fv_tensor(small, 0), n, fv_tensor(b2, 0), n);
    fv_attn_desc a3 = a;
    a3.Tk = 0;
    rcs[5] = fv_attention(c->g, &a3, t, t, t, fv_tensor(b3, 0), s, s, n, n, n, n, p);
    fv_attn_dropout dr = {s, 1, 0.1f, p, 0}; /* dropped P into the buffer of P */
    rcs[6] = fv_attention_drop(c->g, &a, t, t, t, fv_tensor(b3, 0), s, s, n, n, n, n, p, &dr, n);
    dr.pd_scratch = fv_tensor(small, 0), dr.rate = 1.0f; /* rate 1 */
    rcs[7] = fv_attention_back_drop(c->g, &a, t, t, t, p, t, t, n, n, n, fv_tensor(b3, 0), fv_tensor(b3, 0),
                                    fv_tensor(b3, 0), n, fv_tensor(b4, 0), n, &dr, n);
    rcs[8] = fv_attention_drop(c->g, &a, t, t, t, fv_tensor(b3, 0), s, s, n, n, n, n, p, NULL, fv_tensor(small, 8)); /* short ranges */
    rcs[9] = fv_attention_drop(c->g, &a, t, t, t, fv_tensor(b3, 0), s, s, n, n, n, n, p, NULL, p); /* ranges in P */
    fv_attn_dropout kept = {s, 1, 0.1f, fv_tensor(b3, 0), 1}; /* the kept dropped P in the buffer of dQ */
    rcs[10] = fv_attention_back_drop(c->g, &a, t, t, t, p, t, t, n, n, n, fv_tensor(b3, 0), fv_tensor(b3, 0),
                                     fv_tensor(b3, 0), n, fv_tensor(b4, 0), n, &kept, n);
    fv_graph_end(c->g);
    return fv_check_rejected(c, "attention", rcs, 11,
                             "short stride, null q, small P, missing bias buffers, aliased dQ, Tk=0, aliased dropped P, "
                             "dropout rate 1, short ranges, ranges aliasing P, kept dropped P aliasing dQ rejected");
}

int fv_check_op_attention(fv_check *c) {
    /* B Tq Tk H dk causal padonly bias bidir packed fused scale drop */
    static const cfg kern[] = {
        {1, 1, 1, 1, 8, 0, 0, 0, 0, 0, 0, 1, 0},     {2, 7, 7, 3, 8, 1, 0, 1, 0, 1, 0, 1, 0},
        {2, 33, 130, 8, 8, 0, 0, 1, 1, 1, 0, 1, 0},  {1, 130, 130, 3, 8, 1, 0, 1, 0, 1, 0, 8, 0},
        {2, 1000, 1031, 1, 8, 0, 0, 1, 1, 1, 0, 1, 0},
    };
    static const cfg cases[] = {
        {1, 1, 1, 1, 8, 0, 0, 0, 0, 0, 0, 1, 0},      /* smallest */
        {2, 7, 7, 3, 8, 1, 0, 1, 0, 0, 0, 1, 0},      /* decoder self-attention, padded */
        {2, 33, 33, 8, 64, 0, 0, 1, 1, 1, 1, 1, 0},   /* encoder, packed, fused QKV */
        {2, 7, 33, 8, 64, 0, 0, 0, 0, 1, 0, 1, 0},    /* packed cross-attention */
        {2, 33, 130, 1, 8, 0, 1, 0, 0, 0, 0, 1, 0},   /* padded cross-attention, pad mask only */
        {1, 130, 130, 3, 64, 1, 0, 1, 0, 1, 1, 8, 0}, /* packed decoder, fused, large scores */
        {2, 130, 7, 3, 8, 0, 0, 1, 1, 1, 0, 1, 0},    /* cross with bias, Tq > Tk */
        {2, 64, 64, 3, 64, 1, 0, 1, 0, 1, 0, 1, 0},   /* Tk % 4 == 0: fused kernels' vec4 path, causal */
        {1, 20, 96, 2, 8, 0, 0, 1, 1, 1, 0, 1, 0},    /* vec4 path, cross, Tq not a multiple of 16 */
        {2, 48, 128, 2, 64, 0, 0, 0, 0, 2, 0, 1, 0},  /* sandwich mask: sparse kernels must zero some dead chunks */
        {1, 50, 130, 2, 8, 0, 0, 1, 1, 2, 0, 1, 0},   /* sandwich, scalar path, bias */
        {2, 130, 130, 8, 64, 0, 0, 1, 1, 0, 0, 1, 0}, /* biggest */
    };
    int bad = 0;
    int nk = (int)(sizeof kern / sizeof *kern), nc = (int)(sizeof cases / sizeof *cases);
    for (int i = 0; i < nk - (c->quick ? 1 : 0); i++) bad |= softmax_only(c, &kern[i]);
    for (int i = 0; i < nc - (c->quick ? 2 : 0); i++) bad |= full(c, &cases[i], i % 2);
    bad |= decode_replay(c, 2, c->quick ? 33 : 130, 3, 64);
    static const cfg drops[] = {
        {2, 7, 7, 3, 8, 1, 0, 1, 0, 1, 0, 1, 0.3f},    /* decoder self-attention */
        {2, 48, 128, 2, 64, 0, 0, 0, 0, 2, 0, 1, 0.2f}, /* sandwich mask, vec4 */
        {1, 50, 130, 2, 8, 0, 0, 1, 1, 2, 0, 1, 0.1f},  /* sandwich mask, scalar */
        {2, 33, 33, 8, 64, 0, 0, 1, 1, 1, 1, 1, 0.1f}, /* encoder, fused QKV */
        {2, 7, 33, 8, 64, 0, 0, 0, 0, 1, 0, 1, 0.5f},  /* packed cross-attention */
        {1, 36, 68, 3, 64, 0, 0, 1, 1, 1, 0, 1, 0.1f}, /* vec4 path of the fused kernels */
        {2, 64, 64, 2, 64, 1, 0, 1, 0, 1, 0, 1, 0.2f}, /* vec4, causal, packed */
        {1, 48, 48, 3, 64, 1, 0, 1, 0, 0, 1, 1, 0.3f}, /* causal, fused QKV (scalar O, dO) */
        {2, 40, 72, 2, 64, 0, 0, 0, 0, 1, 0, 1, 0.2f}, /* vec4, packed cross-attention */
        {2, 21, 21, 3, 12, 1, 0, 1, 0, 1, 0, 1, 0.4f}, /* dk 12 (not a multiple of 8), causal, packed */
        {1, 300, 300, 2, 64, 0, 0, 1, 1, 1, 0, 1, 0.1f}, /* several chunks skipped, vec4 */
    };
    int ndrop = (int)(sizeof drops / sizeof *drops);
    for (int i = 0; i < ndrop - (c->quick ? 4 : 0); i++) bad |= full(c, &drops[i], i % 2);
    static const cfg fd[] = {{2, 7, 7, 2, 8, 1, 0, 1, 0, 1, 0, 1, 0},
                             {2, 5, 9, 2, 8, 0, 0, 1, 1, 1, 0, 1, 0},
                             {2, 7, 7, 2, 8, 1, 0, 1, 0, 1, 0, 1, 0.3f},
                             {2, 5, 9, 2, 8, 0, 0, 1, 1, 1, 0, 1, 0.5f}};
    for (int i = 0; i < 4; i++) bad |= finite_differences(c, &fd[i]);
    bad |= bad_input(c);
    return bad;
}
