/* Scoring n targets against one shared input; see t5_score_shared.h. The teacher-forced decoder is
 * the one of t5_forward.c (same ops, same order), with two changes: the encoder is recorded for
 * row 0 only, and per decoder layer the cross-attention keys/values are projected from that one
 * row and copied on the device to the other n-1 rows (instead of copying the encoder output and
 * projecting n times). */
#include <stdlib.h>
#include <string.h>

#include "model/t5_forward.h"
#include "model/t5_layers.h"
#include "model/t5_score_shared.h"
#include "ops/attention.h"
#include "ops/embedding.h"
#include "ops/gemm.h"
#include "ops/rmsnorm.h"
#include "ops/xent.h"

static fv_t T(fv_buf *b) { return fv_tensor(b, 0); }

static int record(fv_graph *g, fv_t5_fwd *f) {
    fv_t5 *m = f->m;
    const fv_t5_config *c = &m->cfg;
    const fv_t5_batch *in = &f->in;
    uint32_t D = (uint32_t)c->d_model, inn = m->inner, V = (uint32_t)c->vocab_size, H = (uint32_t)c->num_heads;
    uint32_t B = in->B, Te = in->Te, Td = in->Td, nd = B * Td;
    float eps = (float)c->layer_norm_epsilon;
    fv_t5_batch one = *in;
    one.B = 1;
    FV_TRY(fv_t5_record_encoder(g, m, &one, f->x, f->h, f->qkv, f->ao, f->p, f->ff, f->ffo, f->enc_out));
    FV_TRY(fv_embedding(g, T(m->shared), T(in->dec_ids), T(f->y), nd, V, D));
    uint64_t kv_bytes = (uint64_t)Te * 2 * inn * 4;
    for (int l = 0; l < c->num_decoder_layers; l++) {
        const fv_t5_block *b = &m->dec[l];
        /* causal self-attention with the decoder's relative-position bias */
        FV_TRY(fv_rmsnorm(g, T(f->y), T(b->ln_self), T(f->h), nd, D, eps));
        FV_TRY(fv_linear(g, T(f->h), T(b->qkv), T(f->qkv), nd, D, 3 * inn, 0.0f));
        fv_attn_desc sa = {
            .B = B, .Tq = Td, .Tk = Td, .H = H, .dk = (uint32_t)c->d_kv,
            .q_stride = 3 * inn, .k_stride = 3 * inn, .v_stride = 3 * inn, .o_stride = inn,
            .causal = 1, .use_bias = 1,
            .num_buckets = (uint32_t)c->relative_attention_num_buckets, .lut_radius = m->lut_radius,
        };
        FV_TRY(fv_attention(g, &sa, fv_tensor(f->qkv, 0), fv_tensor(f->qkv, inn), fv_tensor(f->qkv, 2 * inn),
                            T(f->ao), T(in->dec_seg), T(in->dec_seg), T(in->dec_pos), T(in->dec_pos), T(m->dec_rel),
                            T(m->dec_lut), T(f->p)));
        FV_TRY(fv_linear(g, T(f->ao), T(b->o), T(f->y), nd, inn, D, 1.0f));
        /* cross-attention: K/V of the one encoded row, broadcast to every choice row */
        FV_TRY(fv_rmsnorm(g, T(f->y), T(b->ln_cross), T(f->h), nd, D, eps));
        FV_TRY(fv_linear(g, T(f->h), T(b->cq), T(f->q), nd, D, inn, 0.0f));
        FV_TRY(fv_linear(g, T(f->enc_out), T(b->ckv), T(f->ckv), Te, D, 2 * inn, 0.0f));
        for (uint32_t r = 1; r < B; r++) FV_TRY(fv_graph_copy(g, f->ckv, 0, f->ckv, r * kv_bytes, kv_bytes));
        fv_attn_desc ca = {
            .B = B, .Tq = Td, .Tk = Te, .H = H, .dk = (uint32_t)c->d_kv,
            .q_stride = inn, .k_stride = 2 * inn, .v_stride = 2 * inn, .o_stride = inn,
        };
        FV_TRY(fv_attention(g, &ca, T(f->q), fv_tensor(f->ckv, 0), fv_tensor(f->ckv, inn), T(f->ao), T(in->dec_seg),
                            T(in->enc_seg), fv_tensor(NULL, 0), fv_tensor(NULL, 0), fv_tensor(NULL, 0),
                            fv_tensor(NULL, 0), T(f->p)));
        FV_TRY(fv_linear(g, T(f->ao), T(b->co), T(f->y), nd, inn, D, 1.0f));
        FV_TRY(fv_t5_ffn(g, m, b, f->y, f->h, f->ff, f->ffo, nd));
    }
    FV_TRY(fv_rmsnorm(g, T(f->y), T(m->dec_final), T(f->h), nd, D, eps));
    for (uint32_t r0 = 0; r0 < nd; r0 += f->logit_rows) {
        uint32_t rows = nd - r0 < f->logit_rows ? nd - r0 : f->logit_rows;
        FV_TRY(fv_t5_logits(g, m, fv_tensor(f->h, r0 * D), T(f->logits), rows));
        FV_TRY(fv_xent_loss(g, T(f->logits), fv_tensor(in->labels, r0), fv_tensor(f->loss, r0), rows, V));
    }
    return 0;
}

int fv_t5_score_shared(fv_t5 *m, const uint32_t *input, uint32_t in_len, const uint32_t *const *targets,
                       const uint32_t *tgt_lens, uint32_t n, double *logprob) {
    if (!n) return 0;
    if (!in_len) return fv_err("score_shared: empty input");
    uint32_t B = n, Te = in_len, Td = 1;
    for (uint32_t i = 0; i < B; i++) {
        if (!tgt_lens[i]) return fv_err("score_shared: target %u is empty", i);
        Td = tgt_lens[i] > Td ? tgt_lens[i] : Td;
    }
    size_t ne = (size_t)B * Te, nd = (size_t)B * Td;
    uint32_t *eid = malloc(ne * 4), *did = calloc(nd, 4);
    int32_t *eseg = malloc(ne * 4), *epos = malloc(ne * 4), *dseg = calloc(nd, 4), *dpos = calloc(nd, 4);
    int32_t *lab = malloc(nd * 4);
    float *loss = malloc(nd * 4);
    fv_t5_fwd *f = NULL;
    fv_graph *g = NULL;
    int rc = (!eid || !did || !eseg || !epos || !dseg || !dpos || !lab || !loss) ? fv_err("out of host memory") : 0;
    for (uint32_t b = 0; !rc && b < B; b++) {
        /* every row carries the prompt: row 0 is encoded, the others give the cross-attention mask */
        for (uint32_t t = 0; t < Te; t++) {
            eid[b * Te + t] = input[t];
            eseg[b * Te + t] = 1;
            epos[b * Te + t] = (int32_t)t;
        }
        for (uint32_t t = 0; t < Td; t++) {
            int real = t < tgt_lens[b];
            did[b * Td + t] = real ? (t ? targets[b][t - 1] : (uint32_t)m->cfg.decoder_start_token_id) : 0;
            dseg[b * Td + t] = real;
            dpos[b * Td + t] = (int32_t)t;
            lab[b * Td + t] = real ? (int32_t)targets[b][t] : -100;
        }
    }
    if (!rc) rc = fv_t5_fwd_create(m, B, Te, Td, 0, &f);
    if (!rc) {
        fv_t5_host_batch hb = {eid, did, eseg, epos, dseg, dpos, lab};
        rc = fv_t5_batch_upload(m, &f->in, &hb);
    }
    if (!rc) rc = fv_graph_create(m->d, &g);
    if (!rc) rc = fv_graph_begin(g);
    if (!rc) rc = record(g, f);
    if (!rc) rc = fv_graph_end(g);
    if (!rc) rc = fv_graph_run(g);
    if (!rc) rc = fv_buf_read(m->d, f->loss, 0, loss, nd * 4);
    for (uint32_t b = 0; !rc && b < B; b++) {
        double s = 0;
        for (uint32_t t = 0; t < tgt_lens[b]; t++) s -= loss[b * Td + t];
        logprob[b] = s;
    }
    fv_graph_destroy(g);
    fv_t5_fwd_free(f);
    free(eid);
    free(did);
    free(eseg);
    free(epos);
    free(dseg);
    free(dpos);
    free(lab);
    free(loss);
    return rc;
}
