/* Slot decoding for continuous batching; see t5_slots.h. The state is a decode state
 * (t5_decode_impl.h) made with slots = 1: its step reads one position per row. */
#include <stdlib.h>
#include <string.h>

#include "model/t5_decode_impl.h"
#include "model/t5_forward.h"
#include "model/t5_layers.h"
#include "model/t5_slots.h"
#include "ops/cast.h"

static fv_t T(fv_buf *b) { return fv_tensor(b, 0); }

int fv_t5_slots_create(fv_t5 *m, uint32_t R, uint32_t Te, uint32_t tmax, uint32_t prefill_rows, fv_t5_slots **out) {
    return fv_t5_dec_create_mode(m, R, Te, tmax, 0, 1, prefill_rows, out);
}

uint32_t fv_t5_slots_prefill_rows(const fv_t5_slots *s) { return s->Rp; }

static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

uint64_t fv_t5_slots_row_bytes(const fv_t5 *m, uint32_t Te, uint32_t tmax) {
    const fv_t5_config *c = &m->cfg;
    uint64_t in = m->inner, H = (uint64_t)c->num_heads, FF = (uint64_t)(c->is_gated_act ? 2 : 1) * (uint64_t)c->d_ff;
    uint64_t b = max_u64(max_u64((uint64_t)tmax * in, (uint64_t)Te * 2 * in), max_u64(H * max_u64(tmax, Te), FF));
    return 4 * max_u64(b, 3 * in);
}

void fv_t5_slots_free(fv_t5_slots *s) { fv_t5_dec_free(s); }

uint32_t fv_t5_slots_count(const fv_t5_slots *s) { return s->R; }

/* Encoder over the n x Tp batch, each layer's cross K|V into the scratch, then each prompt's rows
 * copied into its slot. Recorded per call: the slots and the batch shape change every time, and
 * one encoder recording is small next to the encoder's own work. */
static int record_prefill(fv_t5_slots *s, uint32_t n, uint32_t Tp, const uint32_t *slot, const uint32_t *lens) {
    fv_t5 *m = s->m;
    uint32_t ne = n * Tp, in = m->inner, Te = s->Te;
    fv_t5_batch b = s->enc;
    b.B = n;
    b.Te = Tp;
    b.Td = 0;
    fv_graph *g = s->prefill;
    uint64_t elem = s->kv16 ? 2 : 4, row = 2ull * in * elem; /* bytes of one token's K|V */
    FV_TRY(fv_graph_begin(g));
    FV_TRY(fv_t5_record_encoder(g, m, &b, s->x, s->h, s->qkv, s->ao, s->p, s->ff, s->ffo, s->enc_out));
    for (int l = 0; l < m->cfg.num_decoder_layers; l++) {
        FV_TRY(fv_t5_linear(g, m, &m->dec[l], FV_T5_CKV, T(s->enc_out), T(s->ckv32), ne, 0.0f));
        fv_buf *src = s->ckv32;
        if (s->kv16) {
            FV_TRY(fv_cast_f16(g, T(s->ckv32), T(s->ckvh), ne * 2 * in));
            src = s->ckvh;
        }
        for (uint32_t i = 0; i < n; i++)
            FV_TRY(fv_graph_copy(g, src, (uint64_t)i * Tp * row, s->ckv[l], (uint64_t)slot[i] * Te * row, lens[i] * row));
    }
    return fv_graph_end(g);
}

int fv_t5_slots_prefill(fv_t5_slots *s, uint32_t n, const uint32_t *slot, const uint32_t *const *ids, const uint32_t *lens) {
    uint32_t R = s->R, Te = s->Te, Tp = 0;
    if (n == 0) return 0;
    if (n > s->Rp) return fv_err("slots: %u prompts for one prefill of at most %u", n, s->Rp);
    for (uint32_t i = 0; i < n; i++) {
        if (lens[i] == 0 || lens[i] > Te) return fv_err("slots: prompt %u has %u tokens (1..%u allowed)", i, lens[i], Te);
        if (slot[i] >= R) return fv_err("slots: slot %u of prompt %u is not below %u", slot[i], i, R);
        for (uint32_t j = 0; j < i; j++)
            if (slot[j] == slot[i]) return fv_err("slots: prompts %u and %u both go to slot %u", j, i, slot[i]);
        Tp = lens[i] > Tp ? lens[i] : Tp;
    }
    uint32_t ne = n * Tp;
    uint32_t *tok = calloc(ne, sizeof *tok), *mask = calloc(Te, sizeof *mask);
    int32_t *seg = calloc(ne, sizeof *seg), *pos = calloc(ne, sizeof *pos);
    int rc = (!tok || !seg || !pos || !mask) ? fv_err("out of host memory") : 0;
    for (uint32_t i = 0; !rc && i < n; i++)
        for (uint32_t t = 0; t < lens[i]; t++) {
            tok[i * Tp + t] = ids[i][t];
            seg[i * Tp + t] = 1;
            pos[i * Tp + t] = (int32_t)t;
        }
    if (!rc) {
        fv_t5_host_batch hb = {.enc_ids = tok, .enc_seg = seg, .enc_pos = pos, .dec_ids = tok, .dec_seg = seg, .dec_pos = pos};
        fv_t5_batch b = s->enc;
        b.B = n;
        b.Te = Tp;
        b.Td = 0;
        b.dec_ids = b.enc_ids; /* Td = 0: nothing of the decoder is written */
        b.dec_seg = b.enc_seg;
        b.dec_pos = b.enc_pos;
        rc = fv_t5_batch_upload(s->m, &b, &hb);
    }
    rc = rc || record_prefill(s, n, Tp, slot, lens) || fv_graph_run(s->prefill);
    for (uint32_t i = 0; !rc && i < n; i++) { /* the slot's cross mask: its prompt's tokens */
        for (uint32_t t = 0; t < Te; t++) mask[t] = t < lens[i];
        rc = fv_buf_write(s->m->d, s->cross_seg, (uint64_t)slot[i] * Te * 4, mask, Te * 4ull);
    }
    free(tok);
    free(seg);
    free(pos);
    free(mask);
    return rc;
}

/* The recorded step for the fewest rows >= rows: powers of two up to R, then R. */
static int step_graph(fv_t5_slots *s, uint32_t rows, fv_graph **g, uint32_t *grows) {
    uint32_t want = 1;
    while (want < rows) want *= 2;
    if (want > s->R) want = s->R;
    uint32_t i = 0;
    for (; i < FV_DEC_MAX_GRAPHS && s->rstep[i]; i++)
        if (s->rstep_rows[i] == want) break;
    if (i == FV_DEC_MAX_GRAPHS) return fv_err("slots: no room for another recorded step");
    if (!s->rstep[i]) {
        FV_TRY(fv_graph_create(s->m->d, &s->rstep[i]));
        if (fv_t5_dec_record_step(s, s->rstep[i], want)) {
            fv_graph_destroy(s->rstep[i]);
            s->rstep[i] = NULL;
            return fv_err_wrap("slots: decode step for %u rows", want);
        }
        s->rstep_rows[i] = want;
    }
    *g = s->rstep[i];
    *grows = want;
    return 0;
}

int fv_t5_slots_step(fv_t5_slots *s, uint32_t rows, const uint32_t *tokens, const uint32_t *pos, float *logits) {
    uint32_t V = (uint32_t)s->m->cfg.vocab_size, tmax = s->tmax;
    fv_dev *d = s->m->d;
    if (rows == 0 || rows > s->R) return fv_err("slots: a step over %u rows of %u", rows, s->R);
    fv_graph *g = NULL;
    uint32_t n = 0;
    FV_TRY(step_graph(s, rows, &g, &n));
    uint32_t *tok = calloc(n, sizeof *tok), *at = calloc(n, sizeof *at);
    int rc = (!tok || !at) ? fv_err("out of host memory") : 0;
    for (uint32_t r = 0; !rc && r < n; r++) {
        /* rows past `rows` (the recorded step's spare rows) are idle: pad at position 0 */
        tok[r] = r < rows ? tokens[r] : (uint32_t)s->m->cfg.pad_token_id;
        at[r] = r < rows ? pos[r] : 0;
        if (tok[r] >= V) rc = fv_err("slots: token %u of row %u is outside the vocabulary (%u)", tok[r], r, V);
        else if (at[r] >= tmax) rc = fv_err("slots: position %u of row %u is past the %u prepared", at[r], r, tmax);
        for (uint32_t j = 0; !rc && !s->fused && j < tmax; j++) s->host_seg[(size_t)r * tmax + j] = j <= at[r];
        s->host_pos[r] = (int32_t)at[r];
    }
    rc = rc || fv_buf_write(d, s->ids, 0, tok, n * 4ull) || fv_buf_write(d, s->stepbuf, 0, at, n * 4ull);
    if (!rc && !s->fused) /* the fused attention reads only the positions */
        rc = fv_buf_write(d, s->pos_q, 0, s->host_pos, n * 4ull) ||
             fv_buf_write(d, s->self_seg, 0, s->host_seg, (uint64_t)n * tmax * 4);
    free(tok);
    free(at);
    rc = rc || fv_graph_run(g);
    return rc || fv_rowsplit_read(d, &s->logits, 0, logits, (uint64_t)rows * V);
}
