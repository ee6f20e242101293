/* Reference T5 attention forward and backward, in double; see ref/attention.h. */
#include "ref/attention.h"

#include <math.h>
#include <stdlib.h>

#include "ref/cast.h"
#include "ref/dropout.h"
#include "ref/relpos.h"

typedef struct {
    const fv_attn_desc *a;
    const int32_t *seg_q, *seg_k, *pos_q, *pos_k, *lut;
    const float *table;
} ctx;

/* Probabilities of row (b, h, i) from its raw scores s (Tk doubles), in place. */
static void row_softmax(const ctx *c, size_t b, size_t h, size_t i, double *s) {
    const fv_attn_desc *a = c->a;
    int32_t sq = c->seg_q[b * a->Tq + i];
    double m = -INFINITY;
    for (size_t j = 0; j < a->Tk; j++) {
        int32_t sk = c->seg_k[b * a->Tk + j];
        int vis = sk != 0 && (a->pad_mask_only || sk == sq) && (!a->causal || j <= i);
        if (!vis) {
            s[j] = -INFINITY;
            continue;
        }
        if (a->use_bias) {
            int32_t bk = fv_ref_relpos_lookup(c->lut, a->lut_radius, (int64_t)c->pos_k[b * a->Tk + j] - c->pos_q[b * a->Tq + i]);
            s[j] += c->table[(size_t)bk * a->H + h];
        }
        if (s[j] > m) m = s[j];
    }
    double sum = 0;
    for (size_t j = 0; j < a->Tk; j++) sum += s[j] == -INFINITY ? 0 : exp(s[j] - m);
    for (size_t j = 0; j < a->Tk; j++) s[j] = (s[j] == -INFINITY || sum == 0) ? 0 : exp(s[j] - m) / sum;
}

static const float *tok(const fv_attn_desc *a, const float *x, uint32_t stride, size_t T, size_t b, size_t t, size_t h) {
    return x + (b * T + t) * fv_attn_stride(a, stride) + h * a->dk;
}

/* A K or V element as the forward reads it: through fp16 with kv_f16 (the K/V storage type). */
static double kv(const fv_attn_desc *a, float x) { return a->kv_f16 ? fv_ref_round_f16(x) : x; }

/* P of row (b, h, i) in double. */
static void row_probs(const ctx *c, const float *q, const float *k, size_t b, size_t h, size_t i, double *s) {
    const fv_attn_desc *a = c->a;
    const float *qi = tok(a, q, a->q_stride, a->Tq, b, i, h);
    for (size_t j = 0; j < a->Tk; j++) {
        const float *kj = tok(a, k, a->k_stride, a->Tk, b, j, h);
        double acc = 0;
        for (size_t d = 0; d < a->dk; d++) acc += (double)qi[d] * kv(a, kj[d]);
        s[j] = acc;
    }
    row_softmax(c, b, h, i, s);
}

/* The dropout factor of score element e: 0 when dropped, else 1 / (1 - rate) (1 without dropout). */
static double drop_factor(const fv_ref_attn_drop *d, size_t e) {
    if (!d || d->rate == 0.0f) return 1.0;
    return fv_ref_dropout_keep(d->seed, d->salt, (uint32_t)e, d->rate) ? (double)(1.0f / (1.0f - d->rate)) : 0.0;
}

int fv_ref_attention(const fv_attn_desc *a, const float *q, const float *k, const float *v, float *o,
                     const int32_t *seg_q, const int32_t *seg_k, const int32_t *pos_q, const int32_t *pos_k,
                     const float *table, const int32_t *lut, float *p) {
    return fv_ref_attention_drop(a, q, k, v, o, seg_q, seg_k, pos_q, pos_k, table, lut, p, NULL);
}

int fv_ref_attention_drop(const fv_attn_desc *a, const float *q, const float *k, const float *v, float *o,
                          const int32_t *seg_q, const int32_t *seg_k, const int32_t *pos_q, const int32_t *pos_k,
                          const float *table, const int32_t *lut, float *p, const fv_ref_attn_drop *drop) {
    ctx c = {a, seg_q, seg_k, pos_q, pos_k, lut, table};
    double *s = malloc(a->Tk * sizeof *s);
    if (!s) return -1;
    for (size_t b = 0; b < a->B; b++)
        for (size_t h = 0; h < a->H; h++)
            for (size_t i = 0; i < a->Tq; i++) {
                row_probs(&c, q, k, b, h, i, s);
                if (p)
                    for (size_t j = 0; j < a->Tk; j++) p[((b * a->H + h) * a->Tq + i) * a->Tk + j] = (float)s[j];
                size_t e0 = ((b * a->H + h) * a->Tq + i) * a->Tk;
                for (size_t j = 0; j < a->Tk; j++) s[j] *= drop_factor(drop, e0 + j);
                float *oi = (float *)tok(a, o, a->o_stride, a->Tq, b, i, h);
                for (size_t d = 0; d < a->dk; d++) {
                    double acc = 0;
                    for (size_t j = 0; j < a->Tk; j++) acc += s[j] * kv(a, tok(a, v, a->v_stride, a->Tk, b, j, h)[d]);
                    oi[d] = (float)acc;
                }
            }
    free(s);
    return 0;
}

int fv_ref_attention_back(const fv_attn_desc *a, const float *q, const float *k, const float *v, const float *dout,
                          const int32_t *seg_q, const int32_t *seg_k, const int32_t *pos_q, const int32_t *pos_k,
                          const float *table, const int32_t *lut, float *dq, float *dk, float *dv, float *dtable) {
    return fv_ref_attention_back_drop(a, q, k, v, dout, seg_q, seg_k, pos_q, pos_k, table, lut, dq, dk, dv, dtable,
                                      NULL);
}

int fv_ref_attention_back_drop(const fv_attn_desc *a, const float *q, const float *k, const float *v,
                               const float *dout, const int32_t *seg_q, const int32_t *seg_k, const int32_t *pos_q,
                               const int32_t *pos_k, const float *table, const int32_t *lut, float *dq, float *dk,
                               float *dv, float *dtable, const fv_ref_attn_drop *drop) {
    if (a->kv_f16) return -1; /* forward only, as ops/attention.h */
    ctx c = {a, seg_q, seg_k, pos_q, pos_k, lut, table};
    size_t hd = (size_t)a->H * a->dk, nq = a->B * a->Tq * hd, nk = a->B * a->Tk * hd;
    double *s = malloc(a->Tk * sizeof *s), *dp = malloc(a->Tk * sizeof *dp);
    double *gq = calloc(nq, sizeof *gq), *gk = calloc(nk, sizeof *gk), *gv = calloc(nk, sizeof *gv);
    double *gt = a->use_bias ? calloc((size_t)a->num_buckets * a->H, sizeof *gt) : NULL;
    int rc = (!s || !dp || !gq || !gk || !gv || (a->use_bias && !gt)) ? -1 : 0;
    for (size_t b = 0; !rc && b < a->B; b++)
        for (size_t h = 0; h < a->H; h++)
            for (size_t i = 0; i < a->Tq; i++) {
                row_probs(&c, q, k, b, h, i, s);
                const float *doi = tok(a, dout, a->o_stride, a->Tq, b, i, h), *qi = tok(a, q, a->q_stride, a->Tq, b, i, h);
                size_t e0 = ((b * a->H + h) * a->Tq + i) * a->Tk;
                double dot = 0;
                for (size_t j = 0; j < a->Tk; j++) {
                    const float *vj = tok(a, v, a->v_stride, a->Tk, b, j, h);
                    double f = drop_factor(drop, e0 + j), acc = 0;
                    for (size_t d = 0; d < a->dk; d++) {
                        acc += (double)doi[d] * vj[d];
                        gv[((b * a->Tk + j) * a->H + h) * a->dk + d] += f * s[j] * doi[d];
                    }
                    dp[j] = f * acc; /* through the dropout: dP = mask / (1 - rate) * d(dropped P) */
                    dot += dp[j] * s[j];
                }
                for (size_t j = 0; j < a->Tk; j++) {
                    double ds = s[j] * (dp[j] - dot);
                    if (ds == 0) continue;
                    const float *kj = tok(a, k, a->k_stride, a->Tk, b, j, h);
                    for (size_t d = 0; d < a->dk; d++) {
                        gq[((b * a->Tq + i) * a->H + h) * a->dk + d] += ds * kj[d];
                        gk[((b * a->Tk + j) * a->H + h) * a->dk + d] += ds * qi[d];
                    }
                    if (gt) {
                        int32_t bk = fv_ref_relpos_lookup(lut, a->lut_radius, (int64_t)pos_k[b * a->Tk + j] - pos_q[b * a->Tq + i]);
                        gt[(size_t)bk * a->H + h] += ds;
                    }
                }
            }
    for (size_t t = 0; !rc && t < a->B * a->Tq; t++)
        for (size_t e = 0; e < hd; e++) dq[t * fv_attn_stride(a, a->q_stride) + e] = (float)gq[t * hd + e];
    for (size_t t = 0; !rc && t < a->B * a->Tk; t++)
        for (size_t e = 0; e < hd; e++) {
            dk[t * fv_attn_stride(a, a->k_stride) + e] = (float)gk[t * hd + e];
            dv[t * fv_attn_stride(a, a->v_stride) + e] = (float)gv[t * hd + e];
        }
    for (size_t e = 0; !rc && gt && e < (size_t)a->num_buckets * a->H; e++) dtable[e] = (float)(dtable[e] + gt[e]);
    free(s);
    free(dp);
    free(gq);
    free(gk);
    free(gv);
    free(gt);
    return rc;
}

void fv_ref_attn_softmax(const fv_attn_desc *a, float *sc, const int32_t *seg_q, const int32_t *seg_k,
                         const int32_t *pos_q, const int32_t *pos_k, const float *table, const int32_t *lut) {
    ctx c = {a, seg_q, seg_k, pos_q, pos_k, lut, table};
    double *s = malloc(a->Tk * sizeof *s);
    if (!s) return;
    for (size_t b = 0; b < a->B; b++)
        for (size_t h = 0; h < a->H; h++)
            for (size_t i = 0; i < a->Tq; i++) {
                float *row = sc + ((b * a->H + h) * a->Tq + i) * a->Tk;
                for (size_t j = 0; j < a->Tk; j++) s[j] = row[j];
                row_softmax(&c, b, h, i, s);
                for (size_t j = 0; j < a->Tk; j++) row[j] = (float)s[j];
            }
    free(s);
}

void fv_ref_attn_softmax_back(const fv_attn_desc *a, const float *p, float *dp) {
    size_t rows = (size_t)a->B * a->H * a->Tq;
    for (size_t r = 0; r < rows; r++) {
        const float *pr = p + r * a->Tk;
        float *dr = dp + r * a->Tk;
        double dot = 0;
        for (size_t j = 0; j < a->Tk; j++) dot += (double)pr[j] * dr[j];
        for (size_t j = 0; j < a->Tk; j++) dr[j] = (float)(pr[j] * (dr[j] - dot));
    }
}
