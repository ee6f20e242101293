/* Prefill and the replayed decode step; see t5_decode.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/t5_decode.h"
#include "model/t5_decode_impl.h"
#include "model/t5_forward.h"
#include "model/t5_layers.h"
#include "ops/attention.h"
#include "ops/attn_decode.h"
#include "ops/cast.h"
#include "ops/decode.h"
#include "ops/embedding.h"
#include "ops/gemm.h"
#include "ops/rmsnorm.h"

static fv_t T(fv_buf *b) { return fv_tensor(b, 0); }

static int alloc(fv_dev *d, uint64_t n, const char *what, fv_buf **out) {
    return fv_buf_alloc(d, (n ? n : 1) * 4, FV_MEM_DEVICE, what, out);
}

/* Inputs the host writes every step or prefill (tokens, step, positions, masks): FV_MEM_UPLOAD. */
static int alloc_in(fv_dev *d, uint64_t n, const char *what, fv_buf **out) {
    return fv_buf_alloc(d, (n ? n : 1) * 4, FV_MEM_UPLOAD, what, out);
}

static int record_prefill(fv_t5_dec *s) {
    fv_t5 *m = s->m;
    const fv_t5_config *c = &m->cfg;
    uint32_t ne = s->R * s->Te;
    fv_graph *g = s->prefill;
    FV_TRY(fv_graph_begin(g));
    FV_TRY(fv_t5_record_encoder(g, m, &s->enc, s->x, s->h, s->qkv, s->ao, s->p, s->ff, s->ffo, s->enc_out));
    for (int l = 0; l < c->num_decoder_layers; l++) {
        if (s->kv16) {
            FV_TRY(fv_t5_linear(g, m, &m->dec[l], FV_T5_CKV, T(s->enc_out), T(s->ckv32), ne, 0.0f));
            FV_TRY(fv_cast_f16(g, T(s->ckv32), T(s->ckv[l]), ne * 2 * m->inner));
        } else {
            FV_TRY(fv_t5_linear(g, m, &m->dec[l], FV_T5_CKV, T(s->enc_out), T(s->ckv[l]), ne, 0.0f));
        }
        /* masked cache slots must hold finite values: P = 0 there, but 0 * NaN is NaN */
        FV_TRY(fv_graph_fill(g, s->kc[l], 0));
        FV_TRY(fv_graph_fill(g, s->vc[l], 0));
    }
    return fv_graph_end(g);
}

/* The step over the first R rows into graph g (R = s->R but for slot states, which record one
 * step per row count so that a few busy slots do not pay for all of them). */
int fv_t5_dec_record_step(fv_t5_dec *s, fv_graph *g, uint32_t R) {
    fv_t5 *m = s->m;
    const fv_t5_config *c = &m->cfg;
    uint32_t D = (uint32_t)c->d_model, in = m->inner;
    float eps = (float)c->layer_norm_epsilon;
    FV_TRY(fv_graph_begin(g));
    if (s->beams) /* each row continues the cache of its parent row */
        for (int l = 0; l < c->num_decoder_layers; l++) {
            fv_buf *caches[2] = {s->kc[l], s->vc[l]};
            uint32_t words = s->kv16 ? s->tmax * in / 2 : s->tmax * in; /* inner is even */
            for (int k = 0; k < 2; k++) {
                FV_TRY(fv_gather_rows(g, T(caches[k]), T(s->parent), T(s->tmp), R, words, R));
                FV_TRY(fv_graph_copy(g, s->tmp, 0, caches[k], 0, (uint64_t)R * words * 4));
            }
        }
    FV_TRY(fv_t5_embed(g, m, T(s->ids), T(s->y), R));
    fv_attn_desc self = {
        .B = R, .Tq = 1, .Tk = s->tmax, .H = (uint32_t)c->num_heads, .dk = (uint32_t)c->d_kv,
        .q_stride = 3 * in, .k_stride = in, .v_stride = in, .o_stride = in, .use_bias = 1,
        .num_buckets = (uint32_t)c->relative_attention_num_buckets, .lut_radius = m->lut_radius, .kv_f16 = s->kv16,
    };
    fv_attn_desc cross = {
        .B = R, .Tq = 1, .Tk = s->Te, .H = (uint32_t)c->num_heads, .dk = (uint32_t)c->d_kv,
        .q_stride = in, .k_stride = 2 * in, .v_stride = 2 * in, .o_stride = in, .pad_mask_only = 1, .kv_f16 = s->kv16,
    };
    fv_attn_dec_desc fself = {
        .B = R, .H = self.H, .dk = self.dk, .Tk = s->tmax, .q_stride = 3 * in, .new_stride = 3 * in, .self = 1,
        .use_bias = 1, .num_buckets = self.num_buckets, .lut_radius = self.lut_radius, .kv_f16 = s->kv16,
        .step_per_row = s->slots,
    };
    fv_attn_dec_desc fcross = {.B = R, .H = cross.H, .dk = cross.dk, .Tk = s->Te, .k_stride = 2 * in, .v_stride = 2 * in,
                               .kv_f16 = s->kv16};
    fv_t none = fv_tensor(NULL, 0);
    fv_dev *d = fv_graph_dev(g);
    s->fused = c->num_decoder_layers > 0 && fv_attn_decode_ok(d, &fself, T(s->sqkv), T(s->kc[0]), T(s->vc[0]), T(s->sao), fv_tensor(s->sqkv, in),
                                 fv_tensor(s->sqkv, 2 * in)) &&
               fv_attn_decode_ok(d, &fcross, T(s->sq), fv_tensor(s->ckv[0], 0), fv_tensor(s->ckv[0], in), T(s->sao), none,
                                 none);
    for (int l = 0; l < c->num_decoder_layers; l++) {
        const fv_t5_block *b = &m->dec[l];
        FV_TRY(fv_t5_norm_linear(g, m, b, FV_T5_QKV, T(s->y), T(b->ln_self), T(s->sh), T(s->sqkv), R, 0.0f));
        if (s->fused) {
            FV_TRY(fv_attn_decode(g, &fself, T(s->sqkv), T(s->kc[l]), T(s->vc[l]), T(s->sao), none, T(s->stepbuf),
                                  fv_tensor(s->sqkv, in), fv_tensor(s->sqkv, 2 * in), T(m->dec_rel), T(m->dec_lut)));
        } else {
            if (s->slots) { /* each row appends at its own position */
                FV_TRY(fv_kv_append_rows(g, fv_tensor(s->sqkv, in), T(s->stepbuf), T(s->kc[l]), R, in, 3 * in, in,
                                         s->tmax * in, s->tmax, s->kv16));
                FV_TRY(fv_kv_append_rows(g, fv_tensor(s->sqkv, 2 * in), T(s->stepbuf), T(s->vc[l]), R, in, 3 * in, in,
                                         s->tmax * in, s->tmax, s->kv16));
            } else {
                int (*append)(fv_graph *, fv_t, fv_t, fv_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t) =
                    s->kv16 ? fv_kv_append_f16 : fv_kv_append;
                FV_TRY(append(g, fv_tensor(s->sqkv, in), T(s->stepbuf), T(s->kc[l]), R, in, 3 * in, in, s->tmax * in, s->tmax));
                FV_TRY(append(g, fv_tensor(s->sqkv, 2 * in), T(s->stepbuf), T(s->vc[l]), R, in, 3 * in, in, s->tmax * in,
                              s->tmax));
            }
            FV_TRY(fv_attention(g, &self, T(s->sqkv), T(s->kc[l]), T(s->vc[l]), T(s->sao), T(s->ones), T(s->self_seg),
                                T(s->pos_q), T(s->pos_k), T(m->dec_rel), T(m->dec_lut), T(s->sp)));
        }
        FV_TRY(fv_t5_linear(g, m, b, FV_T5_O, T(s->sao), T(s->y), R, 1.0f));
        FV_TRY(fv_t5_norm_linear(g, m, b, FV_T5_CQ, T(s->y), T(b->ln_cross), T(s->sh), T(s->sq), R, 0.0f));
        if (s->fused)
            FV_TRY(fv_attn_decode(g, &fcross, T(s->sq), fv_tensor(s->ckv[l], 0), fv_tensor(s->ckv[l], in), T(s->sao),
                                  T(s->cross_seg), none, none, none, none, none));
        else
            FV_TRY(fv_attention(g, &cross, T(s->sq), fv_tensor(s->ckv[l], 0), fv_tensor(s->ckv[l], in), T(s->sao),
                                T(s->ones), T(s->cross_seg), none, none, none, none, T(s->sp)));
        FV_TRY(fv_t5_linear(g, m, b, FV_T5_CO, T(s->sao), T(s->y), R, 1.0f));
        FV_TRY(fv_t5_ffn(g, m, b, s->y, s->sh, s->sff, s->sffo, R));
    }
    FV_TRY(fv_rmsnorm(g, T(s->y), T(m->dec_final), T(s->sh), R, D, eps));
    for (uint32_t i = 0; i < s->logits.n && fv_rowsplit_first(&s->logits, i) < R; i++) {
        uint32_t first = fv_rowsplit_first(&s->logits, i), count = fv_rowsplit_count(&s->logits, i);
        FV_TRY(fv_t5_logits(g, m, fv_tensor(s->sh, first * D), T(s->logits.piece[i]), R - first < count ? R - first : count));
    }
    return fv_graph_end(g);
}

int fv_t5_dec_clear(fv_t5_dec *s) {
    fv_graph *g = s->prefill;
    FV_TRY(fv_graph_begin(g));
    for (int l = 0; l < s->m->cfg.num_decoder_layers; l++) {
        FV_TRY(fv_graph_fill(g, s->kc[l], 0));
        FV_TRY(fv_graph_fill(g, s->vc[l], 0));
        FV_TRY(fv_graph_fill(g, s->ckv[l], 0));
    }
    FV_TRY(fv_graph_fill(g, s->cross_seg, 0));
    FV_TRY(fv_graph_end(g));
    return fv_graph_run(g);
}

static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* The per-row sizes of fv_t5_dec_create's allocations (per token of the prompt, then per row). */
uint64_t fv_t5_dec_row_bytes(const fv_t5 *m, uint32_t Te, uint32_t tmax) {
    const fv_t5_config *c = &m->cfg;
    uint64_t D = (uint64_t)c->d_model, in = m->inner, H = (uint64_t)c->num_heads, F = (uint64_t)c->d_ff;
    uint64_t per_token = max_u64(max_u64(D, 3 * in), (c->is_gated_act ? 2 : 1) * F);
    uint64_t b = max_u64((uint64_t)Te * per_token, H * Te * Te);
    b = max_u64(b, max_u64((uint64_t)tmax * in, H * max_u64(tmax, Te)));
    return 4 * b;
}

int fv_t5_dec_create(fv_t5 *m, uint32_t R, uint32_t Te, uint32_t tmax, int beams, fv_t5_dec **out) {
    return fv_t5_dec_create_mode(m, R, Te, tmax, beams, 0, 0, out);
}

int fv_t5_dec_create_mode(fv_t5 *m, uint32_t R, uint32_t Te, uint32_t tmax, int beams, int slots, uint32_t Rp,
                          fv_t5_dec **out) {
    *out = NULL;
    if (slots && beams) return fv_err("decode: a slot state has no beam search");
    if (!slots || Rp == 0 || Rp > R) Rp = R;
    if (!R || !Te || !tmax) return fv_err("decode: empty shape (%u rows, %u prompt tokens, %u steps)", R, Te, tmax);
    fv_t5_dec *s = calloc(1, sizeof *s);
    if (!s) return fv_err("out of host memory");
    const fv_t5_config *c = &m->cfg;
    fv_dev *d = m->d;
    s->m = m;
    s->R = R;
    s->Te = Te;
    s->tmax = tmax;
    s->beams = beams != 0;
    s->slots = slots != 0;
    s->Rp = Rp;
    s->enc = (fv_t5_batch){.B = R, .Te = Te, .Td = 1};
    s->kv16 = m->kv_f16 != 0;
    uint64_t kvw = s->kv16 ? 2 : 1; /* cache elements per 32-bit word */
    int L = c->num_decoder_layers;
    /* ne: decode rows x prompt tokens (cross K|V caches); np: the encoder's rows (Rp prompts) */
    uint64_t D = (uint64_t)c->d_model, in = m->inner, H = (uint64_t)c->num_heads, ne = (uint64_t)R * Te, np = (uint64_t)Rp * Te;
    uint64_t F = (uint64_t)c->d_ff, FF = (c->is_gated_act ? 2 : 1) * F;
    s->kc = calloc((size_t)L, sizeof *s->kc);
    s->vc = calloc((size_t)L, sizeof *s->vc);
    s->ckv = calloc((size_t)L, sizeof *s->ckv);
    s->host_seg = calloc((size_t)R * tmax, sizeof *s->host_seg);
    s->host_pos = calloc((size_t)R * (tmax > R ? tmax : R), sizeof *s->host_pos);
    int rc = (!s->kc || !s->vc || !s->ckv || !s->host_seg || !s->host_pos) ? fv_err("out of host memory") : 0;
    rc = rc || alloc_in(d, np, "enc_ids", &s->enc.enc_ids) || alloc_in(d, np, "enc_seg", &s->enc.enc_seg) ||
         alloc_in(d, np, "enc_pos", &s->enc.enc_pos) || alloc(d, np * D, "encoder residual", &s->x) ||
         alloc(d, np * D, "normed", &s->h) || alloc(d, np * 3 * in, "qkv", &s->qkv) ||
         alloc(d, np * in, "attention output", &s->ao) || alloc(d, Rp * H * Te * Te, "attention probabilities", &s->p) ||
         alloc(d, np * FF, "feed-forward", &s->ff) || alloc(d, np * F, "feed-forward activation", &s->ffo) ||
         alloc(d, np * D, "encoder output", &s->enc_out);
    for (int l = 0; !rc && l < L; l++)
        rc = alloc(d, (uint64_t)R * tmax * in / kvw, "self-attention K cache", &s->kc[l]) ||
             alloc(d, (uint64_t)R * tmax * in / kvw, "self-attention V cache", &s->vc[l]) ||
             alloc(d, ne * 2 * in / kvw, "cross-attention K|V", &s->ckv[l]);
    rc = rc || (s->kv16 && alloc(d, np * 2 * in, "cross-attention K|V (fp32, before the cast)", &s->ckv32)) ||
         (beams && alloc(d, (uint64_t)R * tmax * in / kvw, "cache reorder", &s->tmp)) ||
         alloc_in(d, R, "tokens", &s->ids) || alloc_in(d, slots ? R : 1, "step", &s->stepbuf) ||
         alloc_in(d, R, "query positions", &s->pos_q) ||
         alloc(d, (uint64_t)R * tmax, "key positions", &s->pos_k) || alloc(d, R, "ones", &s->ones) ||
         alloc_in(d, (uint64_t)R * tmax, "self mask", &s->self_seg) || alloc_in(d, R, "parents", &s->parent) ||
         alloc(d, R * D, "decoder residual", &s->y) || alloc(d, R * D, "decoder normed", &s->sh) ||
         alloc(d, R * 3 * in, "decoder qkv", &s->sqkv) || alloc(d, R * in, "decoder attention output", &s->sao) ||
         alloc(d, R * in, "decoder cross q", &s->sq) ||
         alloc(d, R * H * (tmax > Te ? tmax : Te), "decoder attention probabilities", &s->sp) ||
         alloc(d, R * FF, "decoder feed-forward", &s->sff) || alloc(d, R * F, "decoder feed-forward activation", &s->sffo) ||
         fv_rowsplit_alloc(d, R, (uint32_t)c->vocab_size, "logits", &s->logits);
    /* a slot state's step reads its own cross mask; enc_seg is the prefill's scratch there, and
     * the prefill's cross K|V goes to a scratch before its rows are copied into their slots */
    s->cross_seg = s->enc.enc_seg;
    if (slots) {
        rc = rc || alloc_in(d, ne, "cross mask", &s->cross_seg) ||
             (!s->kv16 && alloc(d, np * 2 * in, "cross-attention K|V (before the copy to slots)", &s->ckv32)) ||
             (s->kv16 && alloc(d, np * in, "cross-attention K|V fp16 (before the copy to slots)", &s->ckvh));
    }
    if (!rc) { /* constants: key positions 0..tmax-1, query segment 1 */
        for (uint32_t r = 0; r < R; r++)
            for (uint32_t j = 0; j < tmax; j++) s->host_pos[(size_t)r * tmax + j] = (int32_t)j;
        rc = fv_buf_write(d, s->pos_k, 0, s->host_pos, (uint64_t)R * tmax * 4);
        for (uint32_t r = 0; !rc && r < R; r++) s->host_pos[r] = 1;
        if (!rc) rc = fv_buf_write(d, s->ones, 0, s->host_pos, (uint64_t)R * 4);
    }
    if (slots) /* slot states: every buffer a step reads starts finite (0 * NaN is NaN), then steps recorded on demand */
        rc = rc || fv_graph_create(d, &s->prefill) || fv_t5_dec_clear(s);
    else
        rc = rc || fv_graph_create(d, &s->prefill) || fv_graph_create(d, &s->step) || record_prefill(s) ||
             fv_t5_dec_record_step(s, s->step, R);
    if (rc) {
        fv_t5_dec_free(s);
        return fv_err_wrap("decode state for %u rows", R);
    }
    *out = s;
    return 0;
}

void fv_t5_dec_free(fv_t5_dec *s) {
    if (!s) return;
    fv_dev *d = s->m->d;
    fv_graph_destroy(s->prefill);
    fv_graph_destroy(s->step);
    for (uint32_t i = 0; i < FV_DEC_MAX_GRAPHS; i++) fv_graph_destroy(s->rstep[i]);
    for (int l = 0; l < s->m->cfg.num_decoder_layers; l++) {
        if (s->kc) fv_buf_free(d, s->kc[l]);
        if (s->vc) fv_buf_free(d, s->vc[l]);
        if (s->ckv) fv_buf_free(d, s->ckv[l]);
    }
    fv_buf *all[] = {s->enc.enc_ids, s->enc.enc_seg, s->enc.enc_pos, s->x, s->h, s->qkv, s->ao, s->p, s->ff, s->ffo,
                     s->enc_out, s->tmp, s->ids, s->stepbuf, s->pos_q, s->pos_k, s->ones, s->self_seg, s->parent, s->y,
                     s->sh, s->sqkv, s->sao, s->sq, s->sp, s->sff, s->sffo, s->ckv32, s->ckvh,
                     s->cross_seg != s->enc.enc_seg ? s->cross_seg : NULL};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) fv_buf_free(d, all[i]);
    fv_rowsplit_free(d, &s->logits);
    free(s->kc);
    free(s->vc);
    free(s->ckv);
    free(s->host_seg);
    free(s->host_pos);
    free(s);
}

int fv_t5_dec_prefill(fv_t5_dec *s, const uint32_t *const *ids, const uint32_t *lens) {
    if (s->slots) return fv_err("decode: a slot state is filled with fv_t5_slots_prefill");
    uint32_t R = s->R, Te = s->Te, ne = R * Te;
    uint32_t *tok = calloc(ne, sizeof *tok);
    int32_t *seg = calloc(ne, sizeof *seg), *pos = calloc(ne, sizeof *pos);
    int rc = (!tok || !seg || !pos) ? fv_err("out of host memory") : 0;
    for (uint32_t r = 0; !rc && r < R; r++) {
        if (lens[r] == 0 || lens[r] > Te) rc = fv_err("prompt %u has %u tokens (1..%u allowed)", r, lens[r], Te);
        for (uint32_t t = 0; !rc && t < lens[r]; t++) {
            tok[r * Te + t] = ids[r][t];
            seg[r * Te + t] = 1;
            pos[r * Te + t] = (int32_t)t;
        }
    }
    if (!rc) {
        fv_t5_host_batch hb = {.enc_ids = tok, .enc_seg = seg, .enc_pos = pos, .dec_ids = tok, .dec_seg = seg, .dec_pos = pos};
        fv_t5_batch only_enc = s->enc;
        only_enc.Td = 0;
        only_enc.dec_ids = only_enc.enc_ids; /* Td = 0: nothing of the decoder is written */
        only_enc.dec_seg = only_enc.enc_seg;
        only_enc.dec_pos = only_enc.enc_pos;
        rc = fv_t5_batch_upload(s->m, &only_enc, &hb);
    }
    free(tok);
    free(seg);
    free(pos);
    if (!rc) rc = fv_graph_run(s->prefill);
    return rc;
}

int fv_t5_dec_step(fv_t5_dec *s, uint32_t step, const uint32_t *tokens, const uint32_t *parent, float *logits) {
    uint32_t R = s->R, V = (uint32_t)s->m->cfg.vocab_size;
    fv_dev *d = s->m->d;
    if (s->slots) return fv_err("decode: a slot state steps with fv_t5_slots_step");
    if (step >= s->tmax) return fv_err("decode: step %u is past the %u positions prepared", step, s->tmax);
    if (parent && !s->beams) return fv_err("decode: parent rows given to a state made without beams");
    for (uint32_t r = 0; r < R; r++) {
        if (tokens[r] >= V) return fv_err("decode: token %u of row %u is outside the vocabulary (%u)", tokens[r], r, V);
        if (parent && parent[r] >= R) return fv_err("decode: parent %u of row %u is not a row", parent[r], r);
        for (uint32_t j = 0; !s->fused && j < s->tmax; j++) s->host_seg[(size_t)r * s->tmax + j] = j <= step;
        s->host_pos[r] = (int32_t)step;
    }
    FV_TRY(fv_buf_write(d, s->ids, 0, tokens, R * 4ull));
    FV_TRY(fv_buf_write(d, s->stepbuf, 0, &step, 4));
    if (!s->fused) { /* the fused attention reads only the step */
        FV_TRY(fv_buf_write(d, s->pos_q, 0, s->host_pos, R * 4ull));
        FV_TRY(fv_buf_write(d, s->self_seg, 0, s->host_seg, (uint64_t)R * s->tmax * 4));
    }
    if (s->beams) {
        if (parent) FV_TRY(fv_buf_write(d, s->parent, 0, parent, R * 4ull));
        else {
            for (uint32_t r = 0; r < R; r++) s->host_pos[r] = (int32_t)r; /* identity: no reordering */
            FV_TRY(fv_buf_write(d, s->parent, 0, s->host_pos, R * 4ull));
        }
    }
    FV_TRY(fv_graph_run(s->step));
    return fv_rowsplit_read(d, &s->logits, 0, logits, (uint64_t)R * V);
}

fv_graph *fv_t5_dec_step_graph(fv_t5_dec *s) { return s->step; }

uint32_t fv_t5_argmax(const float *x, uint32_t n) {
    enum { L = 16 };
    float m[L], mx = -INFINITY;
    uint32_t j = 0;
    for (int k = 0; k < L; k++) m[k] = -INFINITY;
    for (; j + L <= n; j += L)
        for (int k = 0; k < L; k++) m[k] = x[j + k] > m[k] ? x[j + k] : m[k];
    for (int k = 0; k < L; k++) mx = m[k] > mx ? m[k] : mx;
    for (; j < n; j++) mx = x[j] > mx ? x[j] : mx;
    for (j = 0; j < n; j++)
        if (x[j] == mx) return j;
    return 0;
}
