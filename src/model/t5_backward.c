/* The backward of a T5 training step, from dL/d(decoder final hidden) (written into t->gh by
 * fv_t5_train_loss_and_head) to every parameter gradient. See t5_train_step.h.
 *
 * Residual stream: x_next = x + dropout(f(RMSNorm(x))), so dx = dx_next + RMSNorm-back(f-back(
 * dropout(dx_next))): the sublayer's input-gradient is added into the same buffer (rmsnorm_back
 * with accumulate), which thus walks down the stack holding dL/dx at the current depth.
 * Every decoder layer's cross k|v projection adds its share to dL/d(encoder output); the shared
 * embedding gradient collects the decoder's and the encoder's token rows (and, tied, the head);
 * block 0's relative-position table collects the bias gradient of every block of its stack.
 * Attention-probability dropout: fv_attention_back_drop with the forward's salts. With gradient
 * checkpointing each block's forward is recomputed (fv_t5_train_block_fwd without its output
 * residual) into the shared scratch just before the block's backward.
 * LoRA (t->lora, model/t5_lora_train.h): each adapted product's adapters add their input gradient
 * after the base's and accumulate their own; a frozen base (t->gr NULL) gets no weight gradient
 * (the norms' and bias tables' go to a sink: the ops always make them) and no embedding gradient;
 * a low-bit frozen base passes input gradients through fv_linear_w_dx (lin_back). */
#include "model/t5_lora_train.h"
#include "model/t5_train_impl.h"
#include "model/t5_wsplit.h"
#include "ops/attention.h"
#include "ops/dropout.h"
#include "ops/embedding.h"
#include "ops/gelu.h"
#include "ops/gemm.h"
#include "ops/rmsnorm.h"
#include "ops/wlinear.h"

static fv_t T(fv_buf *b) { return fv_tensor(b, 0); }
static const fv_t NONE = {NULL, 0};

/* The gradient of a sublayer's output: dropout(gx) with the forward's mask, or gx itself. */
static int sub_grad(fv_graph *g, const fv_t5_train *t, fv_buf *gx, uint32_t n, uint32_t salt, fv_buf **out) {
    if (t->dropout == 0.0f) {
        *out = gx;
        return 0;
    }
    *out = t->tmp;
    return fv_dropout(g, T(gx), T(t->seed), T(t->tmp), n, salt, t->dropout);
}

/* The gradient of a norm weight or bias table, which the ops always produce: the sink when frozen. */
static fv_t SG(const fv_t5_train *t, fv_buf *grad) { return t->gr ? T(grad) : T(t->sink); }
/* A weight gradient: the buffer, or none for a frozen base (LoRA: gb NULL). */
#define GW(field) (gb ? T(gb->field) : NONE)
#define GN(field) SG(t, gb ? gb->field : NULL)

/* The adapters' share of a product's backward (nothing without LoRA). */
#define LORA_BACK(which, x, dy, ldy, dx, n) \
    fv_t5_lora_train_back(g, t->lora, T(t->seed), decoder, l, which, T(x), T(dy), ldy, T(dx), n)

/* dx = dy W (+ dx with acc) of linear `which` of block b and, when the base trains, dW += dy^T x:
 * W the fp32 master or its fp16 shadow (w), or for a low-bit frozen base the typed weight itself
 * through fv_linear_w_dx (dequantized chunks, fp32 GEMM); a weight split into row pieces
 * (model/t5_wsplit.h) over its pieces, its gradient into gb's pieces (gb NULL: frozen). */
static int lin_back(fv_graph *g, const fv_t5_train *t, const fv_t5_block *b, const fv_t5_block *gb,
                    enum fv_t5_lin which, fv_t5_w w, fv_t x, fv_t dy, fv_t dx, fv_t dw, uint32_t rows, uint32_t in,
                    uint32_t out, int acc) {
    if (fv_t5_wsplit_parts(b, which)) /* row pieces (model/t5_wsplit.h); gb's are split alike */
        return fv_t5_wsplit_linear_back(g, t->m, b, which, x, dy, dx, gb, rows, acc, T(t->wdx), t->wdx_floats);
    if (t->m->wtype != FV_WT_F32) {
        fv_weight wt = fv_t5_block_weight(t->m, b, which);
        return fv_linear_w_dx(g, dy, out, &wt, dx, rows, 1.0f, acc ? 1.0f : 0.0f, T(t->wdx), t->wdx_floats);
    }
    return fv_linear_back_wt(g, x, T(w.buf), w.dt, dy, dx, dw, rows, in, out, acc);
}

static int block_back(fv_graph *g, const fv_t5_train *t, int decoder, int l, fv_buf *gx, int first_cross) {
    /* checkpointing: refill the shared scratch with this block's activations (the last decoder
     * block's are still there from the forward) */
    if (t->checkpointing && !(decoder && l == t->m->cfg.num_decoder_layers - 1))
        FV_TRY(fv_t5_train_block_fwd(g, t, decoder, l, NULL));
    const fv_t5 *m = t->m;
    const fv_t5_config *c = &m->cfg;
    const fv_t5_batch *in = &t->in;
    const fv_t5_block *b = decoder ? &m->dec[l] : &m->enc[l];
    const fv_t5_block *gb = !t->gr ? NULL : decoder ? &t->gr->dec[l] : &t->gr->enc[l]; /* NULL: frozen */
    const fv_t5_acts *x = decoder ? &t->dec[l] : &t->enc[l];
    /* the input-gradient products read the forward's weights (fp16 shadows with mixed precision) */
    const fv_t5_block *s = fv_t5_train_shadow(t, decoder, l);
    fv_t5_w wqkv = fv_t5_train_w(b->qkv, s ? s->qkv : NULL), wo_sa = fv_t5_train_w(b->o, s ? s->o : NULL);
    fv_t5_w wcq = fv_t5_train_w(b->cq, s ? s->cq : NULL), wckv = fv_t5_train_w(b->ckv, s ? s->ckv : NULL);
    fv_t5_w wco = fv_t5_train_w(b->co, s ? s->co : NULL), wi = fv_t5_train_w(b->wi, s ? s->wi : NULL);
    uint32_t D = (uint32_t)c->d_model, inn = m->inner, F = (uint32_t)c->d_ff;
    uint32_t rows = in->B * (decoder ? in->Td : in->Te), ne = in->B * in->Te;
    float eps = (float)c->layer_norm_epsilon;
    fv_buf *gs;

    /* feed-forward: x_next = x_ff + dropout(wo(dropout(act(wi h_ff)))) */
    FV_TRY(sub_grad(g, t, gx, rows * D, FV_T5_SALT(decoder, l, 3), &gs));
    FV_TRY(lin_back(g, t, b, gb, FV_T5_WO, fv_t5_train_w(b->wo, NULL), T(x->ffo), T(gs), T(t->gffo), GW(wo), rows, F, D, 0));
    FV_TRY(LORA_BACK(FV_T5_WO, x->ffo, gs, D, t->gffo, rows));
    uint32_t wi_out = c->is_gated_act ? 2 * F : F;
    fv_ff_drop ffd = {T(t->seed), FV_T5_SALT(decoder, l, 2), t->dropout}; /* the forward's mask, fused */
    if (c->is_gated_act)
        FV_TRY(fv_ff_act_back_drop(g, FV_FF_GELU_TANH, fv_tensor(x->ff, 0), 2 * F, fv_tensor(x->ff, F), 2 * F, T(t->gffo), 0,
                                   fv_tensor(t->gff, 0), 2 * F, fv_tensor(t->gff, F), 2 * F, rows, F, ffd));
    else
        FV_TRY(fv_ff_act_back_drop(g, FV_FF_RELU, T(x->ff), 0, NONE, 0, T(t->gffo), 0, T(t->gff), 0, NONE, 0, rows, F, ffd));
    FV_TRY(lin_back(g, t, b, gb, FV_T5_WI, wi, T(x->h_ff), T(t->gff), T(t->gh), GW(wi), rows, D, wi_out, 0));
    FV_TRY(LORA_BACK(FV_T5_WI, x->h_ff, t->gff, wi_out, t->gh, rows));
    FV_TRY(fv_rmsnorm_back(g, T(x->x_ff), T(b->ln_ff), T(t->gh), T(gx), GN(ln_ff), T(t->rms), rows, D, eps, 1));

    if (decoder) { /* cross-attention: queries from h_ca, keys and values from the encoder output */
        FV_TRY(sub_grad(g, t, gx, rows * D, FV_T5_SALT(decoder, l, 1), &gs));
        FV_TRY(lin_back(g, t, b, gb, FV_T5_CO, wco, T(x->ao_ca), T(gs), T(t->gao), GW(co), rows, inn, D, 0));
        FV_TRY(LORA_BACK(FV_T5_CO, x->ao_ca, gs, D, t->gao, rows));
        fv_attn_desc ca = fv_t5_train_cross_desc(t);
        fv_attn_dropout dc = fv_t5_train_attn_drop(t, FV_T5_SALT(decoder, l, FV_T5_SITE_CROSS_P));
        if (x->pd_ca) dc.pd_scratch = T(x->pd_ca), dc.pd_kept = 1; /* the forward's dropped P */
        FV_TRY(fv_attention_back_drop(g, &ca, T(x->q_c), fv_tensor(x->ckv, 0), fv_tensor(x->ckv, inn), T(x->p_ca),
                                      T(x->ao_ca), T(t->gao), NONE, NONE, NONE, T(t->gq), fv_tensor(t->gckv, 0),
                                      fv_tensor(t->gckv, inn), NONE, T(t->gp), NONE, &dc, T(t->rng_cross)));
        FV_TRY(lin_back(g, t, b, gb, FV_T5_CKV, wckv, T(t->enc_out), T(t->gckv), T(t->genc), GW(ckv), ne, D, 2 * inn,
                        !first_cross));
        FV_TRY(LORA_BACK(FV_T5_CKV, t->enc_out, t->gckv, 2 * inn, t->genc, ne));
        FV_TRY(lin_back(g, t, b, gb, FV_T5_CQ, wcq, T(x->h_ca), T(t->gq), T(t->gh), GW(cq), rows, D, inn, 0));
        FV_TRY(LORA_BACK(FV_T5_CQ, x->h_ca, t->gq, inn, t->gh, rows));
        FV_TRY(fv_rmsnorm_back(g, T(x->x_ca), T(b->ln_cross), T(t->gh), T(gx), GN(ln_cross), T(t->rms), rows, D,
                               eps, 1));
    }

    /* self-attention with the stack's relative-position bias */
    FV_TRY(sub_grad(g, t, gx, rows * D, FV_T5_SALT(decoder, l, 0), &gs));
    FV_TRY(lin_back(g, t, b, gb, FV_T5_O, wo_sa, T(x->ao_sa), T(gs), T(t->gao), GW(o), rows, inn, D, 0));
    FV_TRY(LORA_BACK(FV_T5_O, x->ao_sa, gs, D, t->gao, rows));
    fv_attn_desc a = fv_t5_train_self_desc(t, decoder);
    fv_buf *pos = decoder ? in->dec_pos : in->enc_pos;
    fv_attn_dropout dp = fv_t5_train_attn_drop(t, FV_T5_SALT(decoder, l, FV_T5_SITE_SELF_P));
    if (x->pd_sa) dp.pd_scratch = T(x->pd_sa), dp.pd_kept = 1;
    FV_TRY(fv_attention_back_drop(g, &a, fv_tensor(x->qkv, 0), fv_tensor(x->qkv, inn), fv_tensor(x->qkv, 2 * inn),
                                  T(x->p_sa), T(x->ao_sa), T(t->gao), T(pos), T(pos), T(decoder ? m->dec_lut : m->enc_lut),
                                  fv_tensor(t->gqkv, 0), fv_tensor(t->gqkv, inn), fv_tensor(t->gqkv, 2 * inn),
                                  SG(t, !t->gr ? NULL : decoder ? t->gr->dec_rel : t->gr->enc_rel), T(t->gp), T(t->hist), &dp,
                                  T(t->rng_self[decoder])));
    FV_TRY(lin_back(g, t, b, gb, FV_T5_QKV, wqkv, T(x->h_sa), T(t->gqkv), T(t->gh), GW(qkv), rows, D, 3 * inn, 0));
    FV_TRY(LORA_BACK(FV_T5_QKV, x->h_sa, t->gqkv, 3 * inn, t->gh, rows));
    return fv_rmsnorm_back(g, T(x->x_sa), T(b->ln_self), T(t->gh), T(gx), GN(ln_self), T(t->rms), rows, D, eps, 1);
}

int fv_t5_train_backward(fv_graph *g, fv_t5_train *t) {
    const fv_t5 *m = t->m;
    const fv_t5_config *c = &m->cfg;
    const fv_t5_batch *in = &t->in;
    uint32_t D = (uint32_t)c->d_model, ne = in->B * in->Te, nd = in->B * in->Td;
    float eps = (float)c->layer_norm_epsilon;
    fv_buf *gs;

    /* decoder: final norm (+dropout), blocks in reverse, embedding into the shared table */
    FV_TRY(fv_t5_train_dropout(g, t, t->gh, nd * D, FV_T5_SALT_DEC_FINAL));
    FV_TRY(fv_rmsnorm_back(g, T(t->dec_end), T(m->dec_final), T(t->gh), T(t->gy), SG(t, t->gr ? t->gr->dec_final : NULL),
                           T(t->rms), nd, D, eps, 0));
    for (int l = c->num_decoder_layers - 1; l >= 0; l--)
        FV_TRY(block_back(g, t, 1, l, t->gy, l == c->num_decoder_layers - 1));
    if (t->gr) { /* a frozen base's embedding needs no gradient */
        FV_TRY(sub_grad(g, t, t->gy, nd * D, FV_T5_SALT_DEC_EMB, &gs));
        FV_TRY(fv_rowsplit_embedding_back(g, T(in->dec_ids), T(gs), &t->gr->shared, nd));
    }

    /* encoder, from dL/d(encoder output) gathered over the decoder's cross-attention layers */
    FV_TRY(fv_t5_train_dropout(g, t, t->genc, ne * D, FV_T5_SALT_ENC_FINAL));
    FV_TRY(fv_rmsnorm_back(g, T(t->enc_end), T(m->enc_final), T(t->genc), T(t->gx), SG(t, t->gr ? t->gr->enc_final : NULL),
                           T(t->rms), ne, D, eps, 0));
    for (int l = c->num_layers - 1; l >= 0; l--) FV_TRY(block_back(g, t, 0, l, t->gx, 0));
    if (!t->gr) return 0;
    FV_TRY(sub_grad(g, t, t->gx, ne * D, FV_T5_SALT_ENC_EMB, &gs));
    return fv_rowsplit_embedding_back(g, T(in->enc_ids), T(gs), &t->gr->shared, ne);
}
