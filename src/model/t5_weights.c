/* The model's weights as the ops see them: a block's linear layer, the embedding lookup and the
 * LM head over weights of any storage type (model/t5.h). f32 models record exactly the dispatches
 * they always did (fv_linear, fv_rowsplit_embedding, fv_rowsplit_linear); typed ones go through
 * ops/wlinear.h and ops/wembedding.h with the model's fp32 scratch for many-row products. A block
 * linear too large for one buffer runs over its row pieces (model/t5_wsplit.h). */
#include <math.h>

#include "io/wtile.h"
#include "model/t5.h"
#include "model/t5_layers.h"
#include "model/t5_lora.h"
#include "model/t5_wsplit.h"
#include "ops/gemm.h"
#include "ops/rmsnorm.h"
#include "ops/wembedding.h"

uint32_t fv_t5_lin_tile(const fv_t5 *m, enum fv_t5_lin which) {
    const fv_t5_config *c = &m->cfg;
    uint32_t in = m->inner, F = (uint32_t)c->d_ff, G = m->wtile;
    uint32_t cols = which == FV_T5_O || which == FV_T5_CO ? in : which == FV_T5_WO ? F : (uint32_t)c->d_model;
    uint32_t part = which == FV_T5_QKV || which == FV_T5_CKV ? in : which == FV_T5_WI && c->is_gated_act ? F : 0;
    if (!G || !fv_wtile_fits(m->wtype, cols) || (part && part % G)) return 0;
    return G;
}

fv_weight fv_t5_block_weight(const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which) {
    const fv_t5_config *c = &m->cfg;
    uint32_t D = (uint32_t)c->d_model, in = m->inner, F = (uint32_t)c->d_ff;
    fv_buf *data = NULL;
    uint32_t rows = 0, cols = D;
    switch (which) {
    case FV_T5_QKV: data = b->qkv, rows = 3 * in; break;
    case FV_T5_O: data = b->o, rows = D, cols = in; break;
    case FV_T5_CQ: data = b->cq, rows = in; break;
    case FV_T5_CKV: data = b->ckv, rows = 2 * in; break;
    case FV_T5_CO: data = b->co, rows = D, cols = in; break;
    case FV_T5_WI: data = b->wi, rows = (c->is_gated_act ? 2 : 1) * F; break;
    case FV_T5_WO: data = b->wo, rows = D, cols = F; break;
    case FV_T5_NLIN: break;
    }
    return (fv_weight){.type = m->wtype, .rows = rows, .cols = cols, .data = fv_tensor(data, 0),
                       .scales = fv_tensor(which < FV_T5_NLIN ? b->scales[which] : NULL, 0),
                       .tile = which < FV_T5_NLIN ? fv_t5_lin_tile(m, which) : 0};
}

static fv_wlinear_opts scratch_opts(const fv_t5 *m) {
    return (fv_wlinear_opts){.scratch = fv_tensor(m->wscratch, 0), .scratch_floats = m->wscratch_floats};
}

int fv_t5_linear_base(fv_graph *g, const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which, fv_t x, fv_t y,
                      uint32_t rows, float beta) {
    if (fv_t5_wsplit_parts(b, which)) return fv_t5_wsplit_linear(g, m, b, which, x, y, rows, beta);
    fv_weight w = fv_t5_block_weight(m, b, which);
    if (m->wtype == FV_WT_F32) return fv_linear(g, x, w.data, y, rows, w.cols, w.rows, beta);
    fv_wlinear_opts o = scratch_opts(m);
    return fv_linear_w(g, x, &w, y, rows, 1.0f, beta, &o);
}

int fv_t5_linear(fv_graph *g, const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which, fv_t x, fv_t y,
                 uint32_t rows, float beta) {
    FV_TRY(fv_t5_linear_base(g, m, b, which, x, y, rows, beta));
    return fv_t5_lora_apply(g, m, b, which, x, y, rows, fv_t5_block_weight(m, b, which).rows);
}

int fv_t5_norm_linear(fv_graph *g, const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which, fv_t x, fv_t ln, fv_t h,
                      fv_t y, uint32_t rows, float beta) {
    float eps = (float)m->cfg.layer_norm_epsilon;
    if (m->wtype == FV_WT_F32 || rows > FV_WL_ROWS_MAX || fv_t5_wsplit_parts(b, which) ||
        fv_t5_lora_targets(m, b, which)) {
        FV_TRY(fv_rmsnorm(g, x, ln, h, rows, (uint32_t)m->cfg.d_model, eps));
        return fv_t5_linear(g, m, b, which, h, y, rows, beta);
    }
    fv_weight w = fv_t5_block_weight(m, b, which);
    fv_wlinear_opts o = {.path = FV_WL_ROWS, .norm_w = ln, .norm_eps = eps};
    return fv_linear_w(g, x, &w, y, rows, 1.0f, beta, &o);
}

/* Piece i of a typed vocabulary table as a weight [count, d_model]. */
static fv_weight vocab_piece(const fv_t5 *m, const fv_rowsplit *t, uint32_t i) {
    return (fv_weight){.type = m->vtype, .rows = fv_rowsplit_count(t, i), .cols = (uint32_t)m->cfg.d_model,
                       .data = fv_tensor(t->piece[i], 0), .tile = m->vtile};
}

int fv_t5_embed(fv_graph *g, const fv_t5 *m, fv_t ids, fv_t out, uint32_t ntok) {
    if (m->vtype == FV_WT_F32) return fv_rowsplit_embedding(g, &m->shared, ids, out, ntok);
    for (uint32_t i = 0; i < m->shared.n; i++) {
        fv_weight w = vocab_piece(m, &m->shared, i);
        FV_TRY(fv_embedding_w(g, &w, fv_rowsplit_first(&m->shared, i), i > 0, ids, out, ntok));
    }
    return 0;
}

int fv_t5_logits_back(fv_graph *g, const fv_t5 *m, fv_t dlogits, fv_t dh, uint32_t rows, fv_t scratch,
                      uint32_t scratch_floats) {
    float alpha = m->lm_head.n ? 1.0f : (float)(1.0 / sqrt((double)m->cfg.d_model));
    const fv_rowsplit *t = m->lm_head.n ? &m->lm_head : &m->shared;
    if (m->vtype == FV_WT_F32) return fv_rowsplit_linear_back(g, dh, t, dlogits, dh, NULL, rows, alpha);
    for (uint32_t i = 0; i < t->n; i++) {
        fv_weight w = vocab_piece(m, t, i);
        fv_t dy = fv_tensor(dlogits.buf, dlogits.off + fv_rowsplit_first(t, i));
        if (fv_linear_w_dx(g, dy, t->rows, &w, dh, rows, alpha, i ? 1.0f : 0.0f, scratch, scratch_floats))
            return fv_err_wrap("LM head piece %u of %u, input gradient", i, t->n);
    }
    return 0;
}

/* The decoder output projection: logits = h W^T, W = lm_head, or the shared embedding scaled by
 * d_model^-0.5 when tied (HF T5ForConditionalGeneration). */
int fv_t5_logits(fv_graph *g, const fv_t5 *m, fv_t h, fv_t logits, uint32_t rows) {
    float alpha = m->lm_head.n ? 1.0f : (float)(1.0 / sqrt((double)m->cfg.d_model));
    const fv_rowsplit *t = m->lm_head.n ? &m->lm_head : &m->shared;
    if (m->vtype == FV_WT_F32) return fv_rowsplit_linear(g, h, t, logits, rows, alpha);
    fv_wlinear_opts o = scratch_opts(m);
    o.ldy = t->rows;
    for (uint32_t i = 0; i < t->n; i++) {
        fv_weight w = vocab_piece(m, t, i);
        if (fv_linear_w(g, h, &w, fv_tensor(logits.buf, logits.off + fv_rowsplit_first(t, i)), rows, alpha, 0.0f, &o))
            return fv_err_wrap("LM head piece %u of %u", i, t->n);
    }
    return 0;
}
