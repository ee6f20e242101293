/* Attention block ranges (ops/attn_ranges.h): the shader against the brute-force reference
 * (exact: the values are token indices) on odd sizes and every mask kind: padded, packed with
 * many segments, causal, pad-mask only, cross-attention with segments missing on one side (rows
 * that see nothing), all-padding rows; outputs NaN-poisoned; bad input rejected. */
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "ops/attn_ranges.h"
#include "ref/attn_ranges.h"

/* Segment ids [B, T]: a real length per row (rest padding; a row may be all padding), cut into
 * up to `segs` segments of random lengths; `shift` renumbers them (cross-attention rows whose
 * segment the other side lacks). */
static void segments(fv_check *c, uint32_t B, uint32_t T, uint32_t segs, uint32_t shift, uint32_t *seg) {
    for (uint32_t b = 0; b < B; b++) {
        uint32_t len = b == 2 ? 0 : T - (uint32_t)fv_rng_below(&c->rng, T / 3 + 1), id = 1;
        uint32_t cut = 1 + (uint32_t)fv_rng_below(&c->rng, 2 * T / segs + 1);
        for (uint32_t t = 0; t < T; t++) {
            if (t >= len) {
                seg[b * T + t] = 0;
                continue;
            }
            if (t >= cut && id < segs) id++, cut = t + 1 + (uint32_t)fv_rng_below(&c->rng, 2 * T / segs + 1);
            seg[b * T + t] = id + shift;
        }
    }
}

static int one(fv_check *c, uint32_t B, uint32_t Tq, uint32_t Tk, uint32_t segs, int causal, int pad_only, int shift) {
    char shape[96];
    snprintf(shape, sizeof shape, "B%u Tq%u Tk%u segs%u%s%s%s", B, Tq, Tk, segs, causal ? " causal" : "",
             pad_only ? " padmask" : "", shift ? " shifted" : "");
    fv_attn_desc a = {.B = B, .Tq = Tq, .Tk = Tk, .H = 1, .dk = 1, .causal = causal, .pad_mask_only = pad_only};
    uint32_t *sq = fv_check_alloc_u32(c, (size_t)B * Tq), *sk = fv_check_alloc_u32(c, (size_t)B * Tk);
    size_t n = fv_attn_ranges_size(&a);
    uint32_t *ref = fv_check_alloc_u32(c, n);
    if (!sq || !sk || !ref) return fv_check_fail(c, "attn_ranges", shape, "out of host memory");
    segments(c, B, Tq, segs, 0, sq);
    if (Tq == Tk && !shift) memcpy(sk, sq, (size_t)B * Tk * 4);
    else segments(c, B, Tk, segs, shift ? 1 : 0, sk);
    fv_buf *bsq = fv_check_upload_u32(c, sq, (size_t)B * Tq), *bsk = fv_check_upload_u32(c, sk, (size_t)B * Tk);
    fv_buf *br = fv_check_upload(c, NULL, n + 5);
    if (!bsq || !bsk || !br) return fv_check_fail(c, "attn_ranges", shape, fv_last_error());
    if (fv_check_begin(c) || fv_attn_ranges(c->g, &a, fv_tensor(bsq, 0), fv_tensor(bsk, 0), fv_tensor(br, 5)) ||
        fv_check_run(c))
        return fv_check_fail(c, "attn_ranges", shape, fv_last_error());
    float *got = fv_check_download(c, br, n + 5);
    if (!got) return fv_check_fail(c, "attn_ranges", shape, fv_last_error());
    fv_ref_attn_ranges(&a, (int32_t *)sq, (int32_t *)sk, ref);
    size_t bad = 0, empty = 0, covered = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, got + 5 + i, 4);
        bad += v != ref[i];
        if (i % 2) {
            empty += ref[i] == ref[i - 1];
            covered += ref[i] - ref[i - 1];
        }
    }
    if (bad) {
        char why[128];
        snprintf(why, sizeof why, "%zu of %zu range ends differ from the reference", bad, n);
        return fv_check_fail(c, "attn_ranges", shape, why);
    }
    char detail[96];
    uint64_t full = (uint64_t)B * (fv_div_up(Tq, 16) * Tk + fv_div_up(Tk, 16) * Tq);
    snprintf(detail, sizeof detail, "exact; %zu empty blocks, ranges cover %.0f%% of the score blocks", empty,
             100.0 * (double)covered / (double)full);
    fv_check_pass(c, "attn_ranges", shape, detail);
    return 0;
}

static int bad_input(fv_check *c) {
    fv_buf *s = fv_check_upload_u32(c, NULL, 64), *r = fv_check_upload_u32(c, NULL, 64);
    if (!s || !r) return fv_check_fail(c, "attn_ranges", "bad input", fv_last_error());
    fv_attn_desc a = {.B = 2, .Tq = 32, .Tk = 32, .H = 1, .dk = 1}, a0 = a;
    a0.Tk = 0;
    if (fv_check_begin(c)) return fv_check_fail(c, "attn_ranges", "bad input", fv_last_error());
    int acc = 0;
    acc += fv_attn_ranges(c->g, &a, fv_tensor(NULL, 0), fv_tensor(s, 0), fv_tensor(r, 0)) == 0; /* null seg_q */
    acc += fv_attn_ranges(c->g, &a, fv_tensor(s, 0), fv_tensor(s, 0), fv_tensor(r, 60)) == 0;   /* short ranges */
    acc += fv_attn_ranges(c->g, &a0, fv_tensor(s, 0), fv_tensor(s, 0), fv_tensor(r, 0)) == 0;   /* Tk = 0 */
    acc += fv_attn_ranges(c->g, &a, fv_tensor(s, 0), fv_tensor(s, 0), fv_tensor(s, 0)) == 0;    /* ranges in seg */
    a.Tq = 40;
    acc += fv_attn_ranges(c->g, &a, fv_tensor(s, 0), fv_tensor(s, 0), fv_tensor(r, 0)) == 0;    /* short seg_q */
    fv_graph_end(c->g);
    if (acc) return fv_check_fail(c, "attn_ranges", "bad input", "a bad call was accepted");
    fv_check_pass(c, "attn_ranges", "bad input", "null and short segment ids, short ranges, Tk=0, aliasing rejected");
    return 0;
}

int fv_check_op_attn_ranges(fv_check *c) {
    int bad = 0;
    bad |= one(c, 1, 1, 1, 1, 0, 0, 0);
    bad |= one(c, 2, 7, 7, 2, 1, 0, 0);
    bad |= one(c, 3, 33, 33, 3, 0, 0, 0);
    bad |= one(c, 3, 33, 130, 4, 0, 1, 0);      /* pad-mask only cross */
    bad |= one(c, 3, 130, 33, 4, 0, 0, 1);      /* packed cross, segments missing on one side */
    bad |= one(c, 3, 512, 512, 8, 0, 0, 0);     /* encoder, 8 per row */
    bad |= one(c, 3, 128, 128, 4, 1, 0, 0);     /* decoder, causal */
    bad |= one(c, 3, 128, 512, 4, 0, 0, 0);     /* cross */
    bad |= one(c, 2, 1000, 1031, 7, 0, 0, 0);
    bad |= one(c, 2, 1031, 1031, 5, 1, 0, 0);
    bad |= one(c, 3, 37, 37, 1, 1, 0, 0);       /* plain padded causal */
    bad |= bad_input(c);
    return bad;
}
