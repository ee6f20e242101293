/* The training forward of a T5 step and the loss + output head (forward and backward, chunked
 * over rows of logits); buffers of fv_t5_train (per-layer activations, or per-layer inputs plus
 * one shared block scratch with gradient checkpointing). See t5_train_step.h. The backward of
 * the blocks (and their recompute when checkpointing) is in t5_backward.c. Block order as in
 * t5_forward.c (HF T5, pre-norm residual); residual adds after dropout are fused
 * (fv_dropout_add). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "model/t5_lora_train.h"
#include "model/t5_train_impl.h"
#include "model/t5_wsplit.h"
#include "ops/attention.h"
#include "ops/attn_ranges.h"
#include "ops/dropout.h"
#include "ops/embedding.h"
#include "ops/gelu.h"
#include "ops/gemm.h"
#include "ops/linear_mixed.h"
#include "ops/rmsnorm.h"
#include "ops/xent.h"

static fv_t T(fv_buf *b) { return fv_tensor(b, 0); }

typedef struct {
    fv_dev *d;
    int rc;
    fv_buf *largest;
} allocator;

static fv_buf *A_kind(allocator *a, uint64_t n, const char *what, int l, enum fv_mem_kind kind) {
    if (a->rc) return NULL;
    char name[48];
    if (l >= 0) snprintf(name, sizeof name, "%s %d", what, l);
    else snprintf(name, sizeof name, "%s", what);
    fv_buf *b = NULL;
    a->rc = fv_buf_alloc(a->d, (n ? n : 1) * 4, kind, name, &b);
    if (b && (!a->largest || b->size > a->largest->size)) a->largest = b;
    return b;
}

static fv_buf *A(allocator *a, uint64_t n, const char *what, int l) { return A_kind(a, n, what, l, FV_MEM_DEVICE); }
/* What the host writes or reads every step (the batch, the token count, the loss): FV_MEM_UPLOAD. */
static fv_buf *AIO(allocator *a, uint64_t n, const char *what) { return A_kind(a, n, what, -1, FV_MEM_UPLOAD); }

/* One block's activations for `rows` query tokens (self-attention over Tn keys): which = 0 all
 * of them, 1 only the input residual (checkpointing), 2 all but the input (the shared scratch). Decoder-only fields stay NULL in the encoder. */
static void alloc_acts(allocator *a, fv_t5_train *t, fv_t5_acts *x, int decoder, int l, uint64_t rows, uint64_t pself,
                       uint64_t pcross, int which) {
    const fv_t5_config *c = &t->m->cfg;
    uint64_t D = (uint64_t)c->d_model, in = t->m->inner, F = (uint64_t)c->d_ff;
    uint64_t n = rows, ne = (uint64_t)t->in.B * t->in.Te, nd = (uint64_t)t->in.B * t->in.Td;
    if (which != 2) x->x_sa = A(a, n * D, decoder ? "dec x_sa" : "enc x_sa", l);
    if (which == 1) return;
    x->h_sa = A(a, n * D, "h_sa", l);
    x->qkv = A(a, n * 3 * in, "qkv", l);
    x->p_sa = A(a, pself, "self P", l);
    if (t->dropout > 0) x->pd_sa = A(a, pself, "self P dropped", l); /* kept for the backward's dV */
    x->ao_sa = A(a, n * in, "self out", l);
    if (decoder) {
        x->x_ca = A(a, nd * D, "x_ca", l);
        x->h_ca = A(a, nd * D, "h_ca", l);
        x->q_c = A(a, nd * in, "cross q", l);
        x->ckv = A(a, ne * 2 * in, "cross kv", l);
        x->p_ca = A(a, pcross, "cross P", l);
        if (t->dropout > 0) x->pd_ca = A(a, pcross, "cross P dropped", l);
        x->ao_ca = A(a, nd * in, "cross out", l);
    }
    x->x_ff = A(a, n * D, "x_ff", l);
    x->h_ff = A(a, n * D, "h_ff", l);
    x->ff = A(a, n * (c->is_gated_act ? 2 : 1) * F, "ff", l);
    x->ffo = A(a, n * F, "ffo", l);
}

/* Checkpointing: every layer's acts point at the shared scratch except its own input x_sa. */
static void share_scratch(fv_t5_train *t, fv_t5_acts *x, int decoder) {
    fv_buf *own = x->x_sa;
    *x = t->scratch;
    x->x_sa = own;
    if (!decoder) x->x_ca = x->h_ca = x->q_c = x->ckv = x->p_ca = x->ao_ca = x->pd_ca = NULL;
}

int fv_t5_train_create(fv_t5 *m, fv_t5_grads *gr, uint32_t B, uint32_t Te, uint32_t Td, float dropout,
                       fv_t5_train **out) {
    fv_t5_train_opts o = {.dropout = dropout};
    return fv_t5_train_create_ex(m, gr, B, Te, Td, &o, out);
}

int fv_t5_train_create_ex(fv_t5 *m, fv_t5_grads *gr, uint32_t B, uint32_t Te, uint32_t Td,
                          const fv_t5_train_opts *opts, fv_t5_train **out) {
    *out = NULL;
    float dropout = opts ? opts->dropout : -1.0f;
    if (!B || !Te || !Td) return fv_err("train step: empty batch shape %ux%u/%u", B, Te, Td);
    if (!gr && !(opts && opts->lora)) return fv_err("train step: no gradients and no adapters: nothing to train");
    if (gr && gr->m != m) return fv_err("train step: gradients belong to another model");
    int typed = m->wtype != FV_WT_F32;
    if (typed && gr)
        return fv_err("train step: a base with %s weights is frozen: it trains adapters (LoRA), not its weights",
                      fv_wtype_name(m->wtype));
    const fv_t5_config *c = &m->cfg;
    if (dropout < 0) dropout = (float)c->dropout_rate;
    if (!(dropout >= 0 && dropout < 1)) return fv_err("train step: dropout rate %g is outside [0, 1)", dropout);
    fv_t5_train *t = calloc(1, sizeof *t);
    if (!t) return fv_err("out of host memory");
    t->m = m;
    t->gr = gr;
    t->in = (fv_t5_batch){.B = B, .Te = Te, .Td = Td};
    t->dropout = dropout;
    t->lora = opts ? opts->lora : NULL;
    t->checkpointing = opts && opts->checkpointing;
    if (opts && opts->mixed_precision && typed) {
        fv_info("mixed precision: the %s base's products already read 16-bit or 8-bit weights", fv_wtype_name(m->wtype));
    } else if (opts && opts->mixed_precision) {
        t->mixed = m->d->fp16;
        if (!t->mixed)
            fv_warn("mixed precision: device '%s' has no 16-bit storage (or FLANVK_DISABLE_F16 is set); "
                    "training in fp32", m->d->info.name);
    }
    t->enc = calloc((size_t)c->num_layers, sizeof *t->enc);
    t->dec = calloc((size_t)c->num_decoder_layers, sizeof *t->dec);
    if (!t->enc || !t->dec) {
        fv_t5_train_free(t);
        return fv_err("out of host memory");
    }
    fv_dev *d = m->d;
    uint64_t D = (uint64_t)c->d_model, in = m->inner, H = (uint64_t)c->num_heads, V = (uint64_t)c->vocab_size;
    uint64_t F = (uint64_t)c->d_ff, nb = (uint64_t)c->relative_attention_num_buckets;
    uint64_t ne = (uint64_t)B * Te, nd = (uint64_t)B * Td, nmax = ne > nd ? ne : nd, tmax = Te > Td ? Te : Td;
    uint64_t tt = (uint64_t)Te * Te;
    if ((uint64_t)Td * Te > tt) tt = (uint64_t)Td * Te;
    if ((uint64_t)Td * Td > tt) tt = (uint64_t)Td * Td;
    /* Logits in chunks of rows so one chunk stays within the storage-buffer range. */
    uint64_t range = d->props.limits.maxStorageBufferRange / 4;
    t->logit_rows = (uint32_t)(range / V < nd ? range / V : nd);
    if (!t->logit_rows) t->logit_rows = 1;
    allocator a = {d, 0, NULL};
    t->in.enc_ids = AIO(&a, ne, "enc_ids");
    t->in.enc_seg = AIO(&a, ne, "enc_seg");
    t->in.enc_pos = AIO(&a, ne, "enc_pos");
    t->in.dec_ids = AIO(&a, nd, "dec_ids");
    t->in.dec_seg = AIO(&a, nd, "dec_seg");
    t->in.dec_pos = AIO(&a, nd, "dec_pos");
    t->in.labels = AIO(&a, nd, "labels");
    uint64_t BH = (uint64_t)B * H, ck = t->checkpointing;
    for (int l = 0; l < c->num_layers; l++) alloc_acts(&a, t, &t->enc[l], 0, l, ne, BH * Te * Te, 0, (int)ck);
    for (int l = 0; l < c->num_decoder_layers; l++)
        alloc_acts(&a, t, &t->dec[l], 1, l, nd, BH * Td * Td, BH * Td * Te, (int)ck);
    if (ck) { /* one block's buffers, sized for the larger of the two stacks' blocks */
        uint64_t pself = BH * (Te > Td ? (uint64_t)Te * Te : (uint64_t)Td * Td);
        alloc_acts(&a, t, &t->scratch, 1, -1, nmax, pself, BH * Td * Te, 2);
        for (int l = 0; l < c->num_layers; l++) share_scratch(t, &t->enc[l], 0);
        for (int l = 0; l < c->num_decoder_layers; l++) share_scratch(t, &t->dec[l], 1);
    }
    t->enc_end = A(&a, ne * D, "enc end", -1);
    t->enc_out = A(&a, ne * D, "enc out", -1);
    t->dec_end = A(&a, nd * D, "dec end", -1);
    t->dec_h = A(&a, nd * D, "dec final", -1);
    t->logits = A(&a, (uint64_t)t->logit_rows * V, "logits", -1);
    t->loss = A(&a, nd, "loss", -1);
    t->count = AIO(&a, 2, "token count");
    t->stats = AIO(&a, 3, "loss stats");
    t->tmp = A(&a, nmax * D, "sublayer out", -1);
    t->gx = A(&a, ne * D, "grad enc x", -1);
    t->gy = A(&a, nd * D, "grad dec x", -1);
    t->genc = A(&a, ne * D, "grad enc out", -1);
    t->gh = A(&a, nmax * D, "grad normed", -1);
    t->gao = A(&a, nmax * in, "grad attn out", -1);
    t->gqkv = A(&a, nmax * 3 * in, "grad qkv", -1);
    t->gq = A(&a, nd * in, "grad cross q", -1);
    t->gckv = A(&a, ne * 2 * in, "grad cross kv", -1);
    t->gff = A(&a, nmax * (c->is_gated_act ? 2 : 1) * F, "grad ff", -1);
    t->gffo = A(&a, nmax * F, "grad ffo", -1);
    t->gp = A(&a, B * H * tt, "grad P", -1);
    t->hist = A(&a, B * H * tmax * nb, "grad bias hist", -1);
    t->rms = A(&a, nmax, "rmsnorm scratch", -1);
    if (!gr) t->sink = A(&a, D > nb * H ? D : nb * H, "frozen gradient sink", -1);
    if (typed) { /* 16 MiB: chunks of >= 400 rows of W for T5's widths (d_ff 10240 at xxl); at most
                  * one storage buffer (a smaller range: smaller chunks), at least one row */
        uint64_t kmax = D > F ? (D > in ? D : in) : (F > in ? F : in), fit = fv_rowsplit_piece_rows(m->d, 4u << 20, 1);
        t->wdx_floats = (uint32_t)(fit > kmax ? fit : kmax);
        t->wdx = A(&a, t->wdx_floats, "low-bit input-gradient scratch", -1);
    }
    fv_attn_desc rse = fv_t5_train_self_desc(t, 0), rsd = fv_t5_train_self_desc(t, 1), rca = fv_t5_train_cross_desc(t);
    t->rng_self[0] = A(&a, fv_attn_ranges_size(&rse), "attn ranges enc", -1);
    t->rng_self[1] = A(&a, fv_attn_ranges_size(&rsd), "attn ranges dec", -1);
    t->rng_cross = A(&a, fv_attn_ranges_size(&rca), "attn ranges cross", -1);
    int rc = a.rc;
    if (!rc) {
        t->largest = a.largest->size;
        snprintf(t->largest_what, sizeof t->largest_what, "%.47s", a.largest->what);
    }
    if (!rc) rc = fv_buf_alloc(d, 4, FV_MEM_HOST, "dropout seed", &t->seed);
    uint32_t seed0 = 0;
    if (!rc) rc = fv_buf_write(d, t->seed, 0, &seed0, 4);
    if (!rc && t->mixed) rc = fv_t5_train_shadows_create(t);
    if (!rc && !typed) rc = fv_t5_train_fwd_copies_create(t);
    if (!rc && !gr && t->enc_t) { /* a frozen base: its transposed copies once, now */
        fv_graph *g = NULL;
        rc = fv_graph_create(d, &g) || fv_graph_begin(g) || fv_t5_train_fwd_copies(g, t) || fv_graph_end(g) ||
             fv_graph_run(g);
        fv_graph_destroy(g);
    }
    if (!rc && t->lora) rc = fv_t5_lora_train_bind(t->lora, B, Te, Td);
    if (rc) {
        fv_t5_train_free(t);
        return fv_err_wrap("train step buffers for batch %ux%u/%u", B, Te, Td);
    }
    *out = t;
    return 0;
}

static void free_acts(fv_dev *d, fv_t5_acts *x) {
    fv_buf *all[] = {x->x_sa, x->h_sa, x->qkv,  x->p_sa, x->ao_sa, x->x_ca, x->h_ca, x->q_c,
                     x->ckv,  x->p_ca, x->ao_ca, x->x_ff, x->h_ff,  x->ff,   x->ffo, x->pd_sa, x->pd_ca};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) fv_buf_free(d, all[i]);
}

void fv_t5_train_free(fv_t5_train *t) {
    if (!t) return;
    fv_dev *d = t->m->d;
    for (int l = 0; t->enc && l < t->m->cfg.num_layers; l++) {
        if (t->checkpointing) fv_buf_free(d, t->enc[l].x_sa);
        else free_acts(d, &t->enc[l]);
    }
    for (int l = 0; t->dec && l < t->m->cfg.num_decoder_layers; l++) {
        if (t->checkpointing) fv_buf_free(d, t->dec[l].x_sa);
        else free_acts(d, &t->dec[l]);
    }
    free_acts(d, &t->scratch);
    fv_t5_train_shadows_free(t);
    fv_t5_train_fwd_copies_free(t);
    free(t->enc);
    free(t->dec);
    fv_buf *all[] = {t->in.enc_ids, t->in.enc_seg, t->in.enc_pos, t->in.dec_ids, t->in.dec_seg, t->in.dec_pos,
                     t->in.labels,  t->enc_end,    t->enc_out,    t->dec_end,    t->dec_h,      t->logits,
                     t->loss,       t->count,      t->stats,      t->seed,       t->tmp,
                     t->gx,         t->gy,         t->genc,       t->gh,         t->gao,        t->gqkv,
                     t->gq,         t->gckv,       t->gff,        t->gffo,       t->gp,         t->hist,
                     t->rms,        t->rng_self[0], t->rng_self[1], t->rng_cross, t->sink, t->wdx};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) fv_buf_free(d, all[i]);
    free(t);
}

/* y[rows, out] = x W^T + beta * y for linear `which` of block l, plus its LoRA adapters' term when
 * the step trains some (model/t5_lora_train.h). */
static int block_linear(fv_graph *g, const fv_t5_train *t, int decoder, int l, enum fv_t5_lin which, fv_buf *x,
                        fv_t5_w w, fv_buf *y, uint32_t rows, uint32_t in, uint32_t out, float beta) {
    const fv_t5_block *b = decoder ? &t->m->dec[l] : &t->m->enc[l];
    /* a low-bit frozen base, or a weight split into row pieces: the model's own product
     * (ops/wlinear.h, model/t5_wsplit.h) */
    if (t->m->wtype != FV_WT_F32 || fv_t5_wsplit_parts(b, which)) {
        FV_TRY(fv_t5_linear_base(g, t->m, b, which, T(x), T(y), rows, beta));
    } else {
        FV_TRY(fv_t5_train_linear(g, x, w, y, rows, in, out, beta));
    }
    return fv_t5_lora_train_fwd(g, t->lora, T(t->seed), decoder, l, which, T(x), T(y), rows, out);
}

/* x_out = x_in + dropout(a W^T): the sublayer output projection and the residual add. */
static int project_residual(fv_graph *g, const fv_t5_train *t, int decoder, int l, enum fv_t5_lin which, fv_buf *a,
                            fv_t5_w w, fv_buf *x_in, fv_buf *x_out, uint32_t rows, uint32_t in, uint32_t salt) {
    uint32_t D = (uint32_t)t->m->cfg.d_model;
    FV_TRY(fv_graph_copy(g, x_in, 0, x_out, 0, (uint64_t)rows * D * 4));
    if (t->dropout == 0.0f) return block_linear(g, t, decoder, l, which, a, w, x_out, rows, in, D, 1.0f);
    FV_TRY(block_linear(g, t, decoder, l, which, a, w, t->tmp, rows, in, D, 0.0f));
    return fv_dropout_add(g, T(x_out), T(t->tmp), T(t->seed), rows * D, salt, t->dropout);
}

int fv_t5_train_dropout(fv_graph *g, const fv_t5_train *t, fv_buf *x, uint32_t n, uint32_t salt) {
    if (t->dropout == 0.0f) return 0;
    return fv_dropout(g, T(x), T(t->seed), T(x), n, salt, t->dropout);
}

fv_attn_desc fv_t5_train_self_desc(const fv_t5_train *t, int decoder) {
    const fv_t5_config *c = &t->m->cfg;
    uint32_t in = t->m->inner, Tn = decoder ? t->in.Td : t->in.Te;
    return (fv_attn_desc){
        .B = t->in.B, .Tq = Tn, .Tk = Tn, .H = (uint32_t)c->num_heads, .dk = (uint32_t)c->d_kv,
        .q_stride = 3 * in, .k_stride = 3 * in, .v_stride = 3 * in, .o_stride = in,
        .causal = decoder, .use_bias = 1,
        .num_buckets = (uint32_t)c->relative_attention_num_buckets, .lut_radius = t->m->lut_radius,
    };
}

fv_attn_desc fv_t5_train_cross_desc(const fv_t5_train *t) {
    const fv_t5_config *c = &t->m->cfg;
    uint32_t in = t->m->inner;
    return (fv_attn_desc){
        .B = t->in.B, .Tq = t->in.Td, .Tk = t->in.Te, .H = (uint32_t)c->num_heads, .dk = (uint32_t)c->d_kv,
        .q_stride = in, .k_stride = 2 * in, .v_stride = 2 * in, .o_stride = in,
    };
}

fv_attn_dropout fv_t5_train_attn_drop(const fv_t5_train *t, uint32_t salt) {
    return (fv_attn_dropout){T(t->seed), salt, t->dropout, T(t->gp), 0};
}

/* One block's forward: x->x_sa holds its input; writes x_next (NULL: stop before it). */
int fv_t5_train_block_fwd(fv_graph *g, const fv_t5_train *t, int decoder, int l, fv_buf *x_next) {
    const fv_t5 *m = t->m;
    const fv_t5_block *b = decoder ? &m->dec[l] : &m->enc[l];
    const fv_t5_block *s = fv_t5_train_shadow(t, decoder, l);
    const fv_t5_acts *x = decoder ? &t->dec[l] : &t->enc[l];
    const fv_t5_config *c = &m->cfg;
    const fv_t5_batch *in = &t->in;
    /* the GEMM weights: fp16 shadows with mixed precision (wo never has one) */
    /* texel devices: the transposed copies instead (NN products; t5_train_copies.c) */
    const fv_t5_block *f = fv_t5_train_fcopy(t, decoder, l);
    fv_t5_w wqkv = fv_t5_train_wf(b->qkv, s ? s->qkv : NULL, f ? f->qkv : NULL);
    fv_t5_w wo_sa = fv_t5_train_wf(b->o, s ? s->o : NULL, f ? f->o : NULL);
    fv_t5_w wcq = fv_t5_train_wf(b->cq, s ? s->cq : NULL, f ? f->cq : NULL);
    fv_t5_w wckv = fv_t5_train_wf(b->ckv, s ? s->ckv : NULL, f ? f->ckv : NULL);
    fv_t5_w wco = fv_t5_train_wf(b->co, s ? s->co : NULL, f ? f->co : NULL);
    fv_t5_w wi = fv_t5_train_wf(b->wi, s ? s->wi : NULL, f ? f->wi : NULL);
    fv_t5_w wo = fv_t5_train_wf(b->wo, NULL, f ? f->wo : NULL);
    uint32_t D = (uint32_t)c->d_model, inn = m->inner, F = (uint32_t)c->d_ff;
    uint32_t rows = in->B * (decoder ? in->Td : in->Te), ne = in->B * in->Te;
    float eps = (float)c->layer_norm_epsilon;
    fv_buf *seg = decoder ? in->dec_seg : in->enc_seg, *pos = decoder ? in->dec_pos : in->enc_pos;
    /* self-attention */
    FV_TRY(fv_rmsnorm(g, T(x->x_sa), T(b->ln_self), T(x->h_sa), rows, D, eps));
    FV_TRY(block_linear(g, t, decoder, l, FV_T5_QKV, x->h_sa, wqkv, x->qkv, rows, D, 3 * inn, 0.0f));
    fv_attn_desc a = fv_t5_train_self_desc(t, decoder);
    fv_attn_dropout dp = fv_t5_train_attn_drop(t, FV_T5_SALT(decoder, l, FV_T5_SITE_SELF_P));
    if (x->pd_sa) dp.pd_scratch = T(x->pd_sa); /* kept for the backward */
    FV_TRY(fv_attention_drop(g, &a, fv_tensor(x->qkv, 0), fv_tensor(x->qkv, inn), fv_tensor(x->qkv, 2 * inn),
                             T(x->ao_sa), T(seg), T(seg), T(pos), T(pos), T(decoder ? m->dec_rel : m->enc_rel),
                             T(decoder ? m->dec_lut : m->enc_lut), T(x->p_sa), &dp, T(t->rng_self[decoder])));
    fv_buf *x_after = decoder ? x->x_ca : x->x_ff;
    FV_TRY(project_residual(g, t, decoder, l, FV_T5_O, x->ao_sa, wo_sa, x->x_sa, x_after, rows, inn, FV_T5_SALT(decoder, l, 0)));
    if (decoder) { /* cross-attention over the encoder output */
        FV_TRY(fv_rmsnorm(g, T(x->x_ca), T(b->ln_cross), T(x->h_ca), rows, D, eps));
        FV_TRY(block_linear(g, t, decoder, l, FV_T5_CQ, x->h_ca, wcq, x->q_c, rows, D, inn, 0.0f));
        FV_TRY(block_linear(g, t, decoder, l, FV_T5_CKV, t->enc_out, wckv, x->ckv, ne, D, 2 * inn, 0.0f));
        fv_attn_desc ca = fv_t5_train_cross_desc(t);
        fv_attn_dropout dc = fv_t5_train_attn_drop(t, FV_T5_SALT(decoder, l, FV_T5_SITE_CROSS_P));
        if (x->pd_ca) dc.pd_scratch = T(x->pd_ca);
        FV_TRY(fv_attention_drop(g, &ca, T(x->q_c), fv_tensor(x->ckv, 0), fv_tensor(x->ckv, inn), T(x->ao_ca),
                                 T(in->dec_seg), T(in->enc_seg), fv_tensor(NULL, 0), fv_tensor(NULL, 0),
                                 fv_tensor(NULL, 0), fv_tensor(NULL, 0), T(x->p_ca), &dc, T(t->rng_cross)));
        FV_TRY(project_residual(g, t, decoder, l, FV_T5_CO, x->ao_ca, wco, x->x_ca, x->x_ff, rows, inn, FV_T5_SALT(decoder, l, 1)));
    }
    /* feed-forward: ffo = dropout(act(wi h_ff)), the dropout fused into the activation */
    FV_TRY(fv_rmsnorm(g, T(x->x_ff), T(b->ln_ff), T(x->h_ff), rows, D, eps));
    fv_ff_drop ffd = {T(t->seed), FV_T5_SALT(decoder, l, 2), t->dropout};
    if (c->is_gated_act) {
        FV_TRY(block_linear(g, t, decoder, l, FV_T5_WI, x->h_ff, wi, x->ff, rows, D, 2 * F, 0.0f));
        FV_TRY(fv_ff_act_fwd_drop(g, FV_FF_GELU_TANH, fv_tensor(x->ff, 0), 2 * F, fv_tensor(x->ff, F), 2 * F, T(x->ffo), 0,
                                  rows, F, ffd));
    } else {
        FV_TRY(block_linear(g, t, decoder, l, FV_T5_WI, x->h_ff, wi, x->ff, rows, D, F, 0.0f));
        FV_TRY(fv_ff_act_fwd_drop(g, FV_FF_RELU, T(x->ff), 0, (fv_t){0}, 0, T(x->ffo), 0, rows, F, ffd));
    }
    if (!x_next) return 0;
    return project_residual(g, t, decoder, l, FV_T5_WO, x->ffo, wo, x->x_ff, x_next, rows, F, FV_T5_SALT(decoder, l, 3));
}

int fv_t5_train_forward(fv_graph *g, fv_t5_train *t) {
    const fv_t5 *m = t->m;
    const fv_t5_config *c = &m->cfg;
    const fv_t5_batch *in = &t->in;
    uint32_t D = (uint32_t)c->d_model, ne = in->B * in->Te, nd = in->B * in->Td;
    float eps = (float)c->layer_norm_epsilon;
    int Le = c->num_layers, Ld = c->num_decoder_layers;
    /* the attention masks' block ranges, once per step for every layer and head */
    fv_attn_desc rse = fv_t5_train_self_desc(t, 0), rsd = fv_t5_train_self_desc(t, 1), rca = fv_t5_train_cross_desc(t);
    /* texel devices: W^T copies of the projection weights from this replay's masters (a frozen
     * base's were made once, at creation) */
    if (t->gr) FV_TRY(fv_t5_train_fwd_copies(g, t));
    FV_TRY(fv_attn_ranges(g, &rse, T(in->enc_seg), T(in->enc_seg), T(t->rng_self[0])));
    FV_TRY(fv_attn_ranges(g, &rsd, T(in->dec_seg), T(in->dec_seg), T(t->rng_self[1])));
    FV_TRY(fv_attn_ranges(g, &rca, T(in->dec_seg), T(in->enc_seg), T(t->rng_cross)));
    FV_TRY(fv_t5_embed(g, m, T(in->enc_ids), T(t->enc[0].x_sa), ne));
    FV_TRY(fv_t5_train_dropout(g, t, t->enc[0].x_sa, ne * D, FV_T5_SALT_ENC_EMB));
    for (int l = 0; l < Le; l++)
        FV_TRY(fv_t5_train_block_fwd(g, t, 0, l, l + 1 < Le ? t->enc[l + 1].x_sa : t->enc_end));
    FV_TRY(fv_rmsnorm(g, T(t->enc_end), T(m->enc_final), T(t->enc_out), ne, D, eps));
    FV_TRY(fv_t5_train_dropout(g, t, t->enc_out, ne * D, FV_T5_SALT_ENC_FINAL));

    FV_TRY(fv_t5_embed(g, m, T(in->dec_ids), T(t->dec[0].x_sa), nd));
    FV_TRY(fv_t5_train_dropout(g, t, t->dec[0].x_sa, nd * D, FV_T5_SALT_DEC_EMB));
    for (int l = 0; l < Ld; l++)
        FV_TRY(fv_t5_train_block_fwd(g, t, 1, l, l + 1 < Ld ? t->dec[l + 1].x_sa : t->dec_end));
    FV_TRY(fv_rmsnorm(g, T(t->dec_end), T(m->dec_final), T(t->dec_h), nd, D, eps));
    return fv_t5_train_dropout(g, t, t->dec_h, nd * D, FV_T5_SALT_DEC_FINAL);
}

/* Per chunk of rows: logits, xent (loss and dlogits in place, scaled by 1/count), then
 * dh = s dlogits W into t->gh and dW += s dlogits^T h (s = d_model^-0.5 when tied, else 1). */
int fv_t5_train_loss_and_head(fv_graph *g, fv_t5_train *t) {
    const fv_t5 *m = t->m;
    const fv_t5_config *c = &m->cfg;
    const fv_t5_batch *in = &t->in;
    uint32_t D = (uint32_t)c->d_model, V = (uint32_t)c->vocab_size, nd = in->B * in->Td;
    float s = m->lm_head.n ? 1.0f : (float)(1.0 / sqrt((double)c->d_model));
    const fv_rowsplit *W = m->lm_head.n ? &m->lm_head : &m->shared;
    const fv_rowsplit *dW = !t->gr ? NULL : m->lm_head.n ? &t->gr->lm_head : &t->gr->shared; /* NULL: frozen */
    if (!t->host_scale) FV_TRY(fv_xent_count(g, T(in->labels), T(t->count), nd, V));
    for (uint32_t r0 = 0; r0 < nd; r0 += t->logit_rows) {
        uint32_t rows = nd - r0 < t->logit_rows ? nd - r0 : t->logit_rows;
        fv_t h = fv_tensor(t->dec_h, r0 * D), lg = T(t->logits);
        if (t->head_t) { /* texel devices: the transposed copy [D, V], an NN product (t5_train_copies.c) */
            fv_gemm_desc lp = {.M = rows, .N = V, .K = D, .alpha = s, .beta = 0.0f};
            FV_TRY(fv_gemm(g, &lp, h, T(t->head_t), lg));
        } else {
            FV_TRY(fv_t5_logits(g, m, h, lg, rows));
        }
        FV_TRY(fv_xent(g, lg, fv_tensor(in->labels, r0), fv_tensor(t->count, 1), fv_tensor(t->loss, r0), lg, rows, V));
        if (m->vtype != FV_WT_F32) /* a low-bit frozen head: dh only */
            FV_TRY(fv_t5_logits_back(g, m, lg, fv_tensor(t->gh, r0 * D), rows, T(t->wdx), t->wdx_floats));
        else
            FV_TRY(fv_rowsplit_linear_back(g, h, W, lg, fv_tensor(t->gh, r0 * D), dW, rows, s));
    }
    return fv_xent_sum(g, T(t->loss), T(in->labels), T(t->stats), nd, V);
}

int fv_t5_train_record(fv_graph *g, fv_t5_train *t, int zero_grads) {
    if (zero_grads && t->gr) FV_TRY(fv_t5_grads_zero(g, t->gr));
    if (zero_grads && t->lora) FV_TRY(fv_t5_lora_train_zero_grads(g, t->lora));
    FV_TRY(fv_t5_train_forward(g, t));
    FV_TRY(fv_t5_train_loss_and_head(g, t));
    return fv_t5_train_backward(g, t);
}

int fv_t5_train_set_scale(fv_t5_train *t, float scale) {
    float v[2] = {0.0f, scale};
    return fv_buf_write(t->m->d, t->count, 0, v, sizeof v);
}

int fv_t5_train_set_seed(fv_t5_train *t, uint32_t seed) { return fv_buf_write(t->m->d, t->seed, 0, &seed, 4); }

int fv_t5_train_read_loss(fv_t5_train *t, double *sum, uint32_t *count) {
    float s[3];
    FV_TRY(fv_buf_read(t->m->d, t->stats, 0, s, sizeof s));
    *sum = s[0];
    *count = (uint32_t)s[1];
    return 0;
}
