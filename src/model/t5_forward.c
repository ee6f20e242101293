/* The teacher-forced T5 forward; see t5_forward.h. HF T5 block order (pre-norm, residual):
 *   x += SelfAttention(RMSNorm(x)); [decoder: x += CrossAttention(RMSNorm(x), enc)]; x += FF(RMSNorm(x))
 * with the relative-position bias of block 0 shared by every block of the stack. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/t5_forward.h"
#include "model/t5_layers.h"
#include "ops/attention.h"
#include "ops/embedding.h"
#include "ops/gelu.h"
#include "ops/gemm.h"
#include "ops/rmsnorm.h"
#include "ops/xent.h"


static fv_t T(fv_buf *b) { return fv_tensor(b, 0); }

static int alloc(fv_dev *d, uint64_t n, const char *what, fv_buf **out) {
    return fv_buf_alloc(d, (n ? n : 1) * 4, FV_MEM_DEVICE, what, out);
}

/* A batch input written (or a result read) by the host every batch: FV_MEM_UPLOAD. */
static int alloc_io(fv_dev *d, uint64_t n, const char *what, fv_buf **out) {
    return fv_buf_alloc(d, (n ? n : 1) * 4, FV_MEM_UPLOAD, what, out);
}

int fv_t5_fwd_create(fv_t5 *m, uint32_t B, uint32_t Te, uint32_t Td, int keep_logits, fv_t5_fwd **out) {
    *out = NULL;
    if (!B || !Te || !Td) return fv_err("forward: empty batch shape %ux%u/%u", B, Te, Td);
    fv_t5_fwd *f = calloc(1, sizeof *f);
    if (!f) return fv_err("out of host memory");
    f->m = m;
    f->in = (fv_t5_batch){.B = B, .Te = Te, .Td = Td};
    f->keep_logits = keep_logits;
    fv_dev *d = m->d;
    const fv_t5_config *c = &m->cfg;
    uint64_t D = (uint64_t)c->d_model, in = m->inner, H = (uint64_t)c->num_heads, V = (uint64_t)c->vocab_size;
    uint64_t ne = (uint64_t)B * Te, nd = (uint64_t)B * Td, nmax = ne > nd ? ne : nd;
    uint64_t tt = (uint64_t)Te * Te;
    if ((uint64_t)Td * Td > tt) tt = (uint64_t)Td * Td;
    if ((uint64_t)Td * Te > tt) tt = (uint64_t)Td * Te;
    /* chunks of rows whose logits fit one storage buffer */
    f->logit_rows = fv_rowsplit_piece_rows(d, (uint32_t)nd, (uint32_t)V);
    if (f->logit_rows == 0) f->logit_rows = 1;
    int rc = 0;
    rc |= alloc_io(d, ne, "enc_ids", &f->in.enc_ids) || alloc_io(d, ne, "enc_seg", &f->in.enc_seg) ||
          alloc_io(d, ne, "enc_pos", &f->in.enc_pos) || alloc_io(d, nd, "dec_ids", &f->in.dec_ids) ||
          alloc_io(d, nd, "dec_seg", &f->in.dec_seg) || alloc_io(d, nd, "dec_pos", &f->in.dec_pos) ||
          alloc_io(d, nd, "labels", &f->in.labels);
    rc = rc || alloc(d, ne * D, "encoder residual", &f->x) || alloc(d, ne * D, "encoder output", &f->enc_out) ||
         alloc(d, nd * D, "decoder residual", &f->y) || alloc(d, nmax * D, "normed", &f->h) ||
         alloc(d, nmax * 3 * in, "qkv", &f->qkv) || alloc(d, nmax * in, "attention output", &f->ao) ||
         alloc(d, nd * in, "cross q", &f->q) || alloc(d, ne * 2 * in, "cross kv", &f->ckv) ||
         alloc(d, B * H * tt, "attention probabilities", &f->p) ||
         alloc(d, nmax * (c->is_gated_act ? 2 : 1) * c->d_ff, "feed-forward", &f->ff) ||
         alloc(d, nmax * c->d_ff, "feed-forward activation", &f->ffo) ||
         fv_rowsplit_alloc(d, keep_logits ? (uint32_t)nd : f->logit_rows, (uint32_t)V, "logits", &f->logits) ||
         alloc_io(d, nd, "loss", &f->loss);
    if (rc) {
        fv_t5_fwd_free(f);
        return fv_err_wrap("forward buffers for batch %ux%u/%u", B, Te, Td);
    }
    *out = f;
    return 0;
}

void fv_t5_fwd_free(fv_t5_fwd *f) {
    if (!f) return;
    fv_dev *d = f->m->d;
    fv_buf *all[] = {f->in.enc_ids, f->in.enc_seg, f->in.enc_pos, f->in.dec_ids, f->in.dec_seg, f->in.dec_pos,
                     f->in.labels,  f->x,          f->enc_out,    f->y,          f->h,          f->qkv,
                     f->ao,         f->q,          f->ckv,        f->p,          f->ff,         f->ffo,
                     f->loss};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) fv_buf_free(d, all[i]);
    fv_rowsplit_free(d, &f->logits);
    free(f);
}

/* x += FF(RMSNorm(x)): gated-GELU (wi_0, wi_1 fused) or ReLU. */
int fv_t5_ffn(fv_graph *g, const fv_t5 *m, const fv_t5_block *b, fv_buf *x, fv_buf *h, fv_buf *ff, fv_buf *ffo,
              uint32_t rows) {
    const fv_t5_config *c = &m->cfg;
    uint32_t F = (uint32_t)c->d_ff;
    FV_TRY(fv_t5_norm_linear(g, m, b, FV_T5_WI, T(x), T(b->ln_ff), T(h), T(ff), rows, 0.0f));
    if (c->is_gated_act)
        FV_TRY(fv_gelu_gated(g, fv_tensor(ff, 0), fv_tensor(ff, F), 2 * F, T(ffo), rows, F));
    else
        FV_TRY(fv_relu(g, T(ff), T(ffo), rows, F));
    return fv_t5_linear(g, m, b, FV_T5_WO, T(ffo), T(x), rows, 1.0f);
}

/* x += SelfAttention(RMSNorm(x)) over [B, Tn] tokens. */
static int self_attention(fv_graph *g, const fv_t5 *m, const fv_t5_block *b, int decoder, fv_buf *x, fv_buf *h,
                          fv_buf *qkv, fv_buf *ao, fv_buf *p, uint32_t B, uint32_t Tn, fv_buf *seg, fv_buf *pos) {
    const fv_t5_config *c = &m->cfg;
    uint32_t D = (uint32_t)c->d_model, in = m->inner, rows = B * Tn;
    FV_TRY(fv_rmsnorm(g, T(x), T(b->ln_self), T(h), rows, D, (float)c->layer_norm_epsilon));
    FV_TRY(fv_t5_linear(g, m, b, FV_T5_QKV, T(h), T(qkv), rows, 0.0f));
    fv_attn_desc a = {
        .B = B, .Tq = Tn, .Tk = Tn, .H = (uint32_t)c->num_heads, .dk = (uint32_t)c->d_kv,
        .q_stride = 3 * in, .k_stride = 3 * in, .v_stride = 3 * in, .o_stride = in,
        .causal = decoder, .use_bias = 1,
        .num_buckets = (uint32_t)c->relative_attention_num_buckets, .lut_radius = m->lut_radius,
    };
    FV_TRY(fv_attention(g, &a, fv_tensor(qkv, 0), fv_tensor(qkv, in), fv_tensor(qkv, 2 * in), T(ao), T(seg), T(seg),
                        T(pos), T(pos), T(decoder ? m->dec_rel : m->enc_rel), T(decoder ? m->dec_lut : m->enc_lut), T(p)));
    return fv_t5_linear(g, m, b, FV_T5_O, T(ao), T(x), rows, 1.0f);
}

int fv_t5_record_encoder(fv_graph *g, fv_t5 *m, const fv_t5_batch *in, fv_buf *x, fv_buf *h, fv_buf *qkv, fv_buf *ao,
                         fv_buf *p, fv_buf *ff, fv_buf *ffo, fv_buf *enc_out) {
    const fv_t5_config *c = &m->cfg;
    uint32_t D = (uint32_t)c->d_model, rows = in->B * in->Te;
    FV_TRY(fv_t5_embed(g, m, T(in->enc_ids), T(x), rows));
    for (int l = 0; l < c->num_layers; l++) {
        const fv_t5_block *b = &m->enc[l];
        FV_TRY(self_attention(g, m, b, 0, x, h, qkv, ao, p, in->B, in->Te, in->enc_seg, in->enc_pos));
        FV_TRY(fv_t5_ffn(g, m, b, x, h, ff, ffo, rows));
    }
    return fv_rmsnorm(g, T(x), T(m->enc_final), T(enc_out), rows, D, (float)c->layer_norm_epsilon);
}

int fv_t5_fwd_record(fv_graph *g, fv_t5_fwd *f) {
    fv_t5 *m = f->m;
    const fv_t5_config *c = &m->cfg;
    const fv_t5_batch *in = &f->in;
    uint32_t D = (uint32_t)c->d_model, inn = m->inner, V = (uint32_t)c->vocab_size;
    uint32_t nd = in->B * in->Td;
    float eps = (float)c->layer_norm_epsilon;
    fv_t5_batch enc_rows = *in;
    if (f->shared_input) enc_rows.B = 1;
    FV_TRY(fv_t5_record_encoder(g, m, &enc_rows, f->x, f->h, f->qkv, f->ao, f->p, f->ff, f->ffo, f->enc_out));
    uint64_t kv_bytes = (uint64_t)in->Te * 2 * inn * 4;

    FV_TRY(fv_t5_embed(g, m, T(in->dec_ids), T(f->y), nd));
    for (int l = 0; l < c->num_decoder_layers; l++) {
        const fv_t5_block *b = &m->dec[l];
        FV_TRY(self_attention(g, m, b, 1, f->y, f->h, f->qkv, f->ao, f->p, in->B, in->Td, in->dec_seg, in->dec_pos));
        /* cross-attention: queries from the decoder, keys and values from the encoder output */
        FV_TRY(fv_rmsnorm(g, T(f->y), T(b->ln_cross), T(f->h), nd, D, eps));
        FV_TRY(fv_t5_linear(g, m, b, FV_T5_CQ, T(f->h), T(f->q), nd, 0.0f));
        FV_TRY(fv_t5_linear(g, m, b, FV_T5_CKV, T(f->enc_out), T(f->ckv), enc_rows.B * in->Te, 0.0f));
        for (uint32_t r = enc_rows.B; r < in->B; r++) FV_TRY(fv_graph_copy(g, f->ckv, 0, f->ckv, r * kv_bytes, kv_bytes));
        fv_attn_desc a = {
            .B = in->B, .Tq = in->Td, .Tk = in->Te, .H = (uint32_t)c->num_heads, .dk = (uint32_t)c->d_kv,
            .q_stride = inn, .k_stride = 2 * inn, .v_stride = 2 * inn, .o_stride = inn,
        };
        FV_TRY(fv_attention(g, &a, T(f->q), fv_tensor(f->ckv, 0), fv_tensor(f->ckv, inn), T(f->ao), T(in->dec_seg),
                            T(in->enc_seg), fv_tensor(NULL, 0), fv_tensor(NULL, 0), fv_tensor(NULL, 0),
                            fv_tensor(NULL, 0), T(f->p)));
        FV_TRY(fv_t5_linear(g, m, b, FV_T5_CO, T(f->ao), T(f->y), nd, 1.0f));
        FV_TRY(fv_t5_ffn(g, m, b, f->y, f->h, f->ff, f->ffo, nd));
    }
    FV_TRY(fv_rmsnorm(g, T(f->y), T(m->dec_final), T(f->h), nd, D, eps));
    for (uint32_t r0 = 0; r0 < nd; r0 += f->logit_rows) {
        uint32_t rows = nd - r0 < f->logit_rows ? nd - r0 : f->logit_rows;
        fv_t lg = fv_tensor(f->logits.piece[f->keep_logits ? r0 / f->logit_rows : 0], 0);
        FV_TRY(fv_t5_logits(g, m, fv_tensor(f->h, r0 * D), lg, rows));
        FV_TRY(fv_xent_loss(g, lg, fv_tensor(in->labels, r0), fv_tensor(f->loss, r0), rows, V));
    }
    return 0;
}

int fv_t5_host_arrays_alloc(fv_t5_host_arrays *h, uint32_t B, uint32_t Te, uint32_t Td) {
    size_t ne = (size_t)B * Te, nd = (size_t)B * Td;
    *h = (fv_t5_host_arrays){.B = B, .Te = Te, .Td = Td};
    h->eid = calloc(ne, 4), h->eseg = calloc(ne, 4), h->epos = calloc(ne, 4);
    h->did = calloc(nd, 4), h->dseg = calloc(nd, 4), h->dpos = calloc(nd, 4), h->lab = calloc(nd, 4);
    if (h->eid && h->eseg && h->epos && h->did && h->dseg && h->dpos && h->lab) return 0;
    fv_t5_host_arrays_free(h);
    return fv_err("batch of %u x (%u + %u) tokens: out of host memory", B, Te, Td);
}

void fv_t5_host_arrays_free(fv_t5_host_arrays *h) {
    free(h->eid), free(h->eseg), free(h->epos), free(h->did), free(h->dseg), free(h->dpos), free(h->lab);
    *h = (fv_t5_host_arrays){0};
}

void fv_t5_host_arrays_clear(fv_t5_host_arrays *h) {
    size_t ne = (size_t)h->B * h->Te, nd = (size_t)h->B * h->Td;
    memset(h->eid, 0, ne * 4), memset(h->eseg, 0, ne * 4), memset(h->epos, 0, ne * 4);
    memset(h->did, 0, nd * 4), memset(h->dseg, 0, nd * 4), memset(h->dpos, 0, nd * 4);
    for (size_t i = 0; i < nd; i++) h->lab[i] = -100;
}

fv_t5_host_batch fv_t5_host_arrays_view(const fv_t5_host_arrays *h) {
    return (fv_t5_host_batch){h->eid, h->did, h->eseg, h->epos, h->dseg, h->dpos, h->lab};
}

int fv_t5_batch_upload(fv_t5 *m, const fv_t5_batch *in, const fv_t5_host_batch *h) {
    uint32_t ne = in->B * in->Te, nd = in->B * in->Td, V = (uint32_t)m->cfg.vocab_size;
    FV_TRY(fv_embedding_check_ids(h->enc_ids, ne, V));
    FV_TRY(fv_embedding_check_ids(h->dec_ids, nd, V));
    if (h->labels) FV_TRY(fv_xent_check_labels(h->labels, nd, V));
    fv_dev *d = m->d;
    FV_TRY(fv_buf_write(d, in->enc_ids, 0, h->enc_ids, ne * 4ull));
    FV_TRY(fv_buf_write(d, in->enc_seg, 0, h->enc_seg, ne * 4ull));
    FV_TRY(fv_buf_write(d, in->enc_pos, 0, h->enc_pos, ne * 4ull));
    FV_TRY(fv_buf_write(d, in->dec_ids, 0, h->dec_ids, nd * 4ull));
    FV_TRY(fv_buf_write(d, in->dec_seg, 0, h->dec_seg, nd * 4ull));
    FV_TRY(fv_buf_write(d, in->dec_pos, 0, h->dec_pos, nd * 4ull));
    if (h->labels) FV_TRY(fv_buf_write(d, in->labels, 0, h->labels, nd * 4ull));
    return 0;
}
