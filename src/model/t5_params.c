/* T5 parameters: allocation in fused groups, the HF name table, loading, saving and T5's
 * initialisation. See model/t5.h for the layout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/rng.h"
#include "io/safetensors.h"
#include "io/wfile.h"
#include "io/wtile.h"
#include "model/t5.h"
#include "model/t5_lora.h"
#include "model/t5_wsplit.h"
#include "ops/attention.h"
#include "ops/gemm.h"
#include "ops/wlinear.h"
#include "ops/relpos.h"

/* The LUT covers relative positions up to this distance; beyond max_distance every bucket
 * saturates, so any radius >= max_distance is exact. */
#define LUT_RADIUS_MIN 4096u

static int add_param(fv_t5 *m, size_t *cap, const char *name, uint32_t rows, uint32_t cols, fv_buf *buf, uint32_t off) {
    if (m->nparams == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        fv_t5_param *np = realloc(m->params, nc * sizeof *np);
        if (!np) return fv_err("out of host memory");
        m->params = np;
        *cap = nc;
    }
    fv_t5_param *p = &m->params[m->nparams++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->rows = rows;
    p->cols = cols;
    p->buf = buf;
    p->off = off;
    p->matrix = cols > 0;
    m->nvalues += (uint64_t)rows * (cols ? cols : 1);
    return 0;
}

static int alloc(fv_t5 *m, uint64_t n, const char *what, fv_buf **out) {
    m->weight_bytes += n * sizeof(float);
    return fv_buf_alloc(m->d, n * sizeof(float), FV_MEM_DEVICE, what, out);
}

/* A block's linear weight group [rows, cols] in the model's storage type (and its q8 scales).
 * A group larger than one storage buffer or allocation is not fused: *out stays NULL and each
 * of its HF tensors becomes a row split of its own in add_lin_param (model/t5_wsplit.h). */
static int alloc_lin(fv_t5 *m, fv_t5_block *b, enum fv_t5_lin which, uint32_t rows, uint32_t cols, const char *what,
                     fv_buf **out) {
    uint64_t dw = fv_wpack_data_words(m->wtype, rows, cols), sw = fv_wpack_scale_words(m->wtype, rows, cols);
    m->weight_bytes += 4 * (dw + sw);
    *out = NULL;
    if (!fv_t5_wsplit_needed(m->d, m->wtype, rows, cols)) FV_TRY(fv_buf_alloc(m->d, dw * 4, FV_MEM_DEVICE, what, out));
    if (!sw) return 0;
    char name[112];
    snprintf(name, sizeof name, "%s scales", what);
    return fv_buf_alloc(m->d, sw * 4, FV_MEM_DEVICE, name, &b->scales[which]);
}

/* The table entry of rows row0 .. row0 + rows - 1 of a block's linear group; buf NULL: the group
 * is split, and this tensor (part row0 / rows of it) gets its own row split. */
static int add_lin_param(fv_t5 *m, size_t *cap, const char *name, uint32_t rows, uint32_t cols, fv_t5_block *b,
                         enum fv_t5_lin which, fv_buf *buf, uint32_t row0) {
    const fv_rowsplit *split = NULL;
    if (!buf) {
        fv_rowsplit *part = &b->part[which][row0 / rows];
        FV_TRY(fv_t5_wsplit_alloc(m->d, b, which, row0 / rows, m->wtype, rows, cols, name));
        buf = part->piece[0], split = part;
        FV_TRY(add_param(m, cap, name, rows, cols, buf, 0));
    } else {
        FV_TRY(add_param(m, cap, name, rows, cols, buf, row0 * fv_wpack_row_words(m->wtype, cols)));
    }
    fv_t5_param *p = &m->params[m->nparams - 1];
    p->type = m->wtype;
    p->split = split;
    p->tile = split ? 0 : fv_t5_lin_tile(m, which);
    if (m->wtype == FV_WT_Q8) {
        p->scales = b->scales[which];
        p->soff = row0 * fv_q8_blocks(cols);
    }
    return 0;
}

/* Allocate one stack's blocks and register their tensors. */
static int build_stack(fv_t5 *m, size_t *cap, int decoder) {
    const fv_t5_config *c = &m->cfg;
    uint32_t d = (uint32_t)c->d_model, in = m->inner, ff = (uint32_t)c->d_ff;
    uint32_t nl = (uint32_t)(decoder ? c->num_decoder_layers : c->num_layers);
    const char *stack = decoder ? "decoder" : "encoder";
    fv_t5_block *blocks = calloc(nl, sizeof *blocks);
    if (!blocks) return fv_err("out of host memory");
    if (decoder) m->dec = blocks;
    else m->enc = blocks;
    char name[96];
    uint32_t ffl = decoder ? 2 : 1; /* index of the feed-forward layer in the block */
    for (uint32_t i = 0; i < nl; i++) {
        fv_t5_block *b = &blocks[i];
        snprintf(name, sizeof name, "%s.block.%u", stack, i);
        FV_TRY(alloc(m, d, name, &b->ln_self));
        FV_TRY(alloc_lin(m, b, FV_T5_QKV, 3 * in, d, name, &b->qkv));
        FV_TRY(alloc_lin(m, b, FV_T5_O, d, in, name, &b->o));
        FV_TRY(alloc(m, d, name, &b->ln_ff));
        FV_TRY(alloc_lin(m, b, FV_T5_WI, (c->is_gated_act ? 2 : 1) * ff, d, name, &b->wi));
        FV_TRY(alloc_lin(m, b, FV_T5_WO, d, ff, name, &b->wo));
        static const char *qkv[] = {"q", "k", "v"};
        for (int j = 0; j < 3; j++) {
            snprintf(name, sizeof name, "%s.block.%u.layer.0.SelfAttention.%s.weight", stack, i, qkv[j]);
            FV_TRY(add_lin_param(m, cap, name, in, d, b, FV_T5_QKV, b->qkv, (uint32_t)j * in));
        }
        snprintf(name, sizeof name, "%s.block.%u.layer.0.SelfAttention.o.weight", stack, i);
        FV_TRY(add_lin_param(m, cap, name, d, in, b, FV_T5_O, b->o, 0));
        if (i == 0) {
            fv_buf **rel = decoder ? &m->dec_rel : &m->enc_rel;
            FV_TRY(alloc(m, (uint64_t)c->relative_attention_num_buckets * c->num_heads, "relative_attention_bias", rel));
            snprintf(name, sizeof name, "%s.block.0.layer.0.SelfAttention.relative_attention_bias.weight", stack);
            FV_TRY(add_param(m, cap, name, (uint32_t)c->relative_attention_num_buckets, (uint32_t)c->num_heads, *rel, 0));
        }
        snprintf(name, sizeof name, "%s.block.%u.layer.0.layer_norm.weight", stack, i);
        FV_TRY(add_param(m, cap, name, d, 0, b->ln_self, 0));
        if (decoder) {
            snprintf(name, sizeof name, "%s.block.%u", stack, i);
            FV_TRY(alloc(m, d, name, &b->ln_cross));
            FV_TRY(alloc_lin(m, b, FV_T5_CQ, in, d, name, &b->cq));
            FV_TRY(alloc_lin(m, b, FV_T5_CKV, 2 * in, d, name, &b->ckv));
            FV_TRY(alloc_lin(m, b, FV_T5_CO, d, in, name, &b->co));
            snprintf(name, sizeof name, "%s.block.%u.layer.1.EncDecAttention.q.weight", stack, i);
            FV_TRY(add_lin_param(m, cap, name, in, d, b, FV_T5_CQ, b->cq, 0));
            snprintf(name, sizeof name, "%s.block.%u.layer.1.EncDecAttention.k.weight", stack, i);
            FV_TRY(add_lin_param(m, cap, name, in, d, b, FV_T5_CKV, b->ckv, 0));
            snprintf(name, sizeof name, "%s.block.%u.layer.1.EncDecAttention.v.weight", stack, i);
            FV_TRY(add_lin_param(m, cap, name, in, d, b, FV_T5_CKV, b->ckv, in));
            snprintf(name, sizeof name, "%s.block.%u.layer.1.EncDecAttention.o.weight", stack, i);
            FV_TRY(add_lin_param(m, cap, name, d, in, b, FV_T5_CO, b->co, 0));
            snprintf(name, sizeof name, "%s.block.%u.layer.1.layer_norm.weight", stack, i);
            FV_TRY(add_param(m, cap, name, d, 0, b->ln_cross, 0));
        }
        if (c->is_gated_act) {
            snprintf(name, sizeof name, "%s.block.%u.layer.%u.DenseReluDense.wi_0.weight", stack, i, ffl);
            FV_TRY(add_lin_param(m, cap, name, ff, d, b, FV_T5_WI, b->wi, 0));
            snprintf(name, sizeof name, "%s.block.%u.layer.%u.DenseReluDense.wi_1.weight", stack, i, ffl);
            FV_TRY(add_lin_param(m, cap, name, ff, d, b, FV_T5_WI, b->wi, ff));
        } else {
            snprintf(name, sizeof name, "%s.block.%u.layer.%u.DenseReluDense.wi.weight", stack, i, ffl);
            FV_TRY(add_lin_param(m, cap, name, ff, d, b, FV_T5_WI, b->wi, 0));
        }
        snprintf(name, sizeof name, "%s.block.%u.layer.%u.DenseReluDense.wo.weight", stack, i, ffl);
        FV_TRY(add_lin_param(m, cap, name, d, ff, b, FV_T5_WO, b->wo, 0));
        snprintf(name, sizeof name, "%s.block.%u.layer.%u.layer_norm.weight", stack, i, ffl);
        FV_TRY(add_param(m, cap, name, d, 0, b->ln_ff, 0));
    }
    fv_buf **fin = decoder ? &m->dec_final : &m->enc_final;
    FV_TRY(alloc(m, d, "final_layer_norm", fin));
    snprintf(name, sizeof name, "%s.final_layer_norm.weight", stack);
    return add_param(m, cap, name, d, 0, *fin, 0);
}

static int check_config(const fv_t5_config *c) {
    uint64_t inner = (uint64_t)c->num_heads * c->d_kv;
    if (c->d_model <= 0 || c->d_kv <= 0 || c->num_heads <= 0 || c->d_ff <= 0 || c->vocab_size <= 0 || c->num_layers <= 0 ||
        c->num_decoder_layers <= 0 || c->relative_attention_num_buckets <= 0 || inner > (1u << 20))
        return fv_err("config: impossible model sizes");
    /* The feed-forward kernels: gated GELU (tanh approximation) as T5 v1.1 / Flan-T5, or ReLU as T5. */
    if (c->is_gated_act ? c->act != FV_T5_ACT_GELU_TANH : c->act != FV_T5_ACT_RELU)
        return fv_err("config: feed_forward_proj '%s' (activation %s) is not supported: flanvk runs gated-gelu "
                      "(gelu_new) and relu", c->feed_forward_proj, c->dense_act_fn);
    return 0;
}

enum fv_wtype fv_t5_vocab_type(enum fv_wtype wtype) { return fv_wfile_tensor_type("shared.weight", 2, wtype); }

uint64_t fv_t5_weight_bytes_of(const fv_t5_config *c, enum fv_wtype wtype) {
    uint64_t D = (uint64_t)c->d_model, in = (uint64_t)c->num_heads * c->d_kv, F = (uint64_t)c->d_ff;
    uint64_t V = (uint64_t)c->vocab_size, nb = (uint64_t)c->relative_attention_num_buckets * c->num_heads;
    uint64_t vocab = V * fv_wpack_row_words(fv_t5_vocab_type(wtype), (uint32_t)D) * 4;
#define LIN(rows, cols) fv_weight_bytes(wtype, (uint32_t)(rows), (uint32_t)(cols))
    uint64_t enc = 2 * D * 4 + LIN(3 * in, D) + LIN(D, in) + LIN((c->is_gated_act ? 2 : 1) * F, D) + LIN(D, F);
    uint64_t dec = enc + D * 4 + LIN(in, D) + LIN(2 * in, D) + LIN(D, in);
#undef LIN
    return vocab * (c->tie_word_embeddings ? 1 : 2) + enc * (uint64_t)c->num_layers +
           dec * (uint64_t)c->num_decoder_layers + 2 * (nb + D) * 4;
}

/* A vocabulary table [V, D] in the model's vocabulary type: a row split of packed rows. */
static int alloc_vocab(fv_t5 *m, size_t *cap, const char *name, fv_rowsplit *t) {
    uint32_t V = (uint32_t)m->cfg.vocab_size, D = (uint32_t)m->cfg.d_model, rw = fv_wpack_row_words(m->vtype, D);
    m->weight_bytes += 4ull * V * rw;
    FV_TRY(fv_rowsplit_alloc(m->d, V, rw, name, t));
    FV_TRY(add_param(m, cap, name, V, D, t->piece[0], 0));
    m->params[m->nparams - 1].split = t;
    m->params[m->nparams - 1].type = m->vtype;
    m->params[m->nparams - 1].tile = m->vtile;
    return 0;
}

/* fp32 scratch for the dequantizing many-row products: at least one row of the widest weight,
 * at most 4 Mi floats (16 MiB; a larger weight runs in row chunks) and at most one storage buffer
 * (fv_rowsplit_piece_rows: the range, the texel and the allocation limits). */
static int alloc_scratch(fv_t5 *m) {
    const fv_t5_config *c = &m->cfg;
    uint64_t K = (uint64_t)c->d_model, biggest = (uint64_t)c->vocab_size * c->d_model;
    if (m->inner > K) K = m->inner;
    if ((uint64_t)c->d_ff > K) K = (uint64_t)c->d_ff;
    uint64_t n = 1u << 22, fit = fv_rowsplit_piece_rows(m->d, 1u << 22, 1);
    if (n > biggest) n = biggest;
    if (n > fit) n = fit;
    if (n < K) n = K;
    m->wscratch_floats = (uint32_t)n;
    return fv_buf_alloc(m->d, n * 4, FV_MEM_DEVICE, "weight dequantization scratch", &m->wscratch);
}

int fv_t5_create_typed(fv_dev *d, const fv_t5_config *cfg, enum fv_wtype wtype, fv_t5 **out) {
    *out = NULL;
    FV_TRY(check_config(cfg));
    if ((unsigned)wtype > FV_WT_Q8) return fv_err("model: unknown weight storage type %d", (int)wtype);
    fv_t5 *m = calloc(1, sizeof *m);
    if (!m) return fv_err("out of host memory");
    m->d = d;
    m->cfg = *cfg;
    m->inner = (uint32_t)(cfg->num_heads * cfg->d_kv);
    m->wtype = wtype;
    m->vtype = fv_t5_vocab_type(wtype);
    m->wtile = fv_wlinear_tile(d, wtype, FV_WTILE_CHUNK * 4); /* the type and device; each linear's K: fv_t5_lin_tile */
    m->vtile = fv_wlinear_tile(d, m->vtype, (uint32_t)cfg->d_model);
    size_t cap = 0;
    int rc = alloc_vocab(m, &cap, "shared.weight", &m->shared);
    if (!rc) rc = build_stack(m, &cap, 0);
    if (!rc) rc = build_stack(m, &cap, 1);
    if (!rc && !cfg->tie_word_embeddings) rc = alloc_vocab(m, &cap, "lm_head.weight", &m->lm_head);
    /* the scratch serves the dequantizing path; texel devices read low-bit weights in the GEMM */
    if (!rc && (m->wtype != FV_WT_F32 || m->vtype != FV_WT_F32) && !fv_gemm_wb_supported(d)) rc = alloc_scratch(m);
    uint32_t radius = (uint32_t)cfg->relative_attention_max_distance;
    if (radius < LUT_RADIUS_MIN) radius = LUT_RADIUS_MIN;
    m->lut_radius = radius;
    uint32_t nb = (uint32_t)cfg->relative_attention_num_buckets, md = (uint32_t)cfg->relative_attention_max_distance;
    if (!rc) rc = fv_relpos_lut_create(d, radius, 1, nb, md, &m->enc_lut);
    if (!rc) rc = fv_relpos_lut_create(d, radius, 0, nb, md, &m->dec_lut);
    if (rc) {
        fv_t5_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int fv_t5_create(fv_dev *d, const fv_t5_config *cfg, fv_t5 **out) { return fv_t5_create_typed(d, cfg, FV_WT_F32, out); }

static void free_stack(fv_dev *d, fv_t5_block *b, int n) {
    for (int i = 0; b && i < n; i++) {
        fv_buf *all[] = {b[i].ln_self, b[i].qkv, b[i].o, b[i].ln_cross, b[i].cq, b[i].ckv, b[i].co, b[i].ln_ff, b[i].wi, b[i].wo};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) fv_buf_free(d, all[k]);
        for (int k = 0; k < FV_T5_NLIN; k++) fv_buf_free(d, b[i].scales[k]);
        fv_t5_wsplit_free(d, &b[i]);
    }
    free(b);
}

void fv_t5_free(fv_t5 *m) {
    if (!m) return;
    fv_t5_lora_detach(m);
    free_stack(m->d, m->enc, m->cfg.num_layers);
    free_stack(m->d, m->dec, m->cfg.num_decoder_layers);
    fv_rowsplit_free(m->d, &m->shared);
    fv_rowsplit_free(m->d, &m->lm_head);
    fv_buf *all[] = {m->enc_rel, m->dec_rel, m->enc_final, m->dec_final, m->enc_lut, m->dec_lut, m->wscratch};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) fv_buf_free(m->d, all[k]);
    free(m->params);
    free(m);
}

const fv_t5_param *fv_t5_find(const fv_t5 *m, const char *name) {
    for (size_t i = 0; i < m->nparams; i++)
        if (!strcmp(m->params[i].name, name)) return &m->params[i];
    return NULL;
}

static uint64_t numel(const fv_t5_param *p) { return (uint64_t)p->rows * (p->cols ? p->cols : 1); }

/* A typed entry's packed words: data (a slice of its group, or the pieces of a split table) and
 * q8 scales (rows * blocks fp16 values from fp16 index soff). */
static int typed_words(fv_dev *d, const fv_t5_param *p, uint32_t *data, uint32_t *scales, int write) {
    uint64_t dw = fv_wpack_data_words(p->type, p->rows, p->cols);
    uint64_t sbytes = p->type == FV_WT_Q8 ? 2ull * p->rows * fv_q8_blocks(p->cols) : 0;
    if (p->split) FV_TRY(write ? fv_rowsplit_write(d, p->split, 0, (const float *)data, dw)
                               : fv_rowsplit_read(d, p->split, 0, (float *)data, dw));
    else FV_TRY(write ? fv_buf_write(d, p->buf, (uint64_t)p->off * 4, data, dw * 4)
                      : fv_buf_read(d, p->buf, (uint64_t)p->off * 4, data, dw * 4));
    if (sbytes) FV_TRY(write ? fv_buf_write(d, p->scales, 2ull * p->soff, scales, sbytes)
                             : fv_buf_read(d, p->scales, 2ull * p->soff, scales, sbytes));
    return 0;
}

/* Row-major words to the device's layout (dir 1) or back (0): a tiled entry's slice, or each piece
 * of a tiled split on its own, as the kernels find them. */
static void retile(const fv_t5_param *p, const uint32_t *src, uint32_t *dst, int dir) {
    uint32_t rw = fv_wpack_row_words(p->type, p->cols), n = p->split ? p->split->n : 1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t first = p->split ? fv_rowsplit_first(p->split, i) : 0;
        uint32_t count = p->split ? fv_rowsplit_count(p->split, i) : p->rows;
        uint64_t at = (uint64_t)first * rw;
        if (dir) fv_wtile(src + at, dst + at, count, rw, p->tile);
        else fv_wuntile(src + at, dst + at, count, rw, p->tile);
    }
}

/* typed_words in the row-major layout whatever the device holds */
static int typed_io(fv_dev *d, const fv_t5_param *p, uint32_t *data, uint32_t *scales, int write) {
    if (!p->tile) return typed_words(d, p, data, scales, write);
    uint64_t dw = fv_wpack_data_words(p->type, p->rows, p->cols);
    uint32_t *t = malloc(dw * 4);
    if (!t) return fv_err("out of host memory for '%s'", p->name);
    if (write) retile(p, data, t, 1);
    int rc = typed_words(d, p, t, scales, write);
    if (!rc && !write) retile(p, t, data, 0);
    free(t);
    return rc;
}

static int typed_param(fv_dev *d, const fv_t5_param *p, float *vals, int write) {
    uint64_t dw = fv_wpack_data_words(p->type, p->rows, p->cols), sw = fv_wpack_scale_words(p->type, p->rows, p->cols);
    uint32_t *data = malloc(dw * 4), *sc = calloc(sw + 1, 4);
    int rc = !data || !sc ? fv_err("out of host memory for '%s'", p->name) : 0;
    if (!rc && write) rc = fv_wpack(p->type, vals, p->rows, p->cols, data, sw ? sc : NULL, p->name);
    if (!rc) rc = typed_io(d, p, data, sc, write);
    if (!rc && !write) fv_wunpack(p->type, data, sc, p->rows, p->cols, vals);
    free(data);
    free(sc);
    return rc;
}

int fv_t5_param_read(fv_dev *d, const fv_t5_param *p, float *dst) {
    if (p->type != FV_WT_F32) return typed_param(d, p, dst, 0);
    if (p->split) return fv_rowsplit_read(d, p->split, 0, dst, numel(p));
    return fv_buf_read(d, p->buf, (uint64_t)p->off * 4, dst, numel(p) * 4);
}

int fv_t5_param_write(fv_dev *d, const fv_t5_param *p, const float *src) {
    if (p->type != FV_WT_F32) return typed_param(d, p, (float *)src, 1);
    if (p->split) return fv_rowsplit_write(d, p->split, 0, src, numel(p));
    return fv_buf_write(d, p->buf, (uint64_t)p->off * 4, src, numel(p) * 4);
}

/* HF checkpoints store the shared embedding under one of three tied names. */
static const char *embedding_name(const fv_safetensors *st) {
    static const char *names[] = {"shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"};
    for (int i = 0; i < 3; i++)
        if (fv_st_find(st, names[i])) return names[i];
    return names[0];
}

/* A typed entry straight from the file's words (io/wfile.h: raw copies where the file holds the
 * type, else through fp32 and the packer). */
static int load_typed(fv_dev *d, const fv_safetensors *st, const char *name, const fv_t5_param *p) {
    uint64_t dw = fv_wpack_data_words(p->type, p->rows, p->cols), sw = fv_wpack_scale_words(p->type, p->rows, p->cols);
    uint32_t *data = malloc(dw * 4), *sc = calloc(sw + 1, 4);
    int rc = !data || !sc ? fv_err("out of host memory loading '%s'", p->name) : 0;
    if (!rc) rc = fv_wfile_read(st, name, p->type, p->rows, p->cols, data, sw ? sc : NULL);
    if (!rc) rc = typed_io(d, p, data, sc, 1);
    free(data);
    free(sc);
    return rc;
}

int fv_t5_load_weights(fv_t5 *m, const char *path, void (*progress)(uint64_t, uint64_t, void *), void *user) {
    fv_safetensors *st;
    FV_TRY(fv_st_open(&st, path));
    int rc = fv_wfile_check_meta(st);
    if (rc) {
        fv_st_close(st);
        return rc;
    }
    float *tmp = NULL;
    uint64_t done = 0, total = m->nvalues * 4;
    for (size_t i = 0; !rc && i < m->nparams; i++) {
        const fv_t5_param *p = &m->params[i];
        const char *name = strcmp(p->name, "shared.weight") ? p->name : embedding_name(st);
        int64_t shape[2] = {p->rows, p->cols};
        uint64_t n = numel(p);
        if (!fv_st_find(st, name)) {
            rc = fv_err("%s: tensor '%s' is missing", fv_st_path(st), p->name);
            break;
        }
        /* a table in several pieces is read whole, then written piece by piece */
        const fv_rowsplit *sp = p->split && p->split->n > 1 ? p->split : NULL;
        int typed = p->type != FV_WT_F32;
        float *dst;
        if (p->buf->host && !sp && !typed) {
            dst = (float *)p->buf->host + p->off;
        } else {
            float *nt = realloc(tmp, n * sizeof *nt);
            if (!nt) {
                rc = fv_err("out of host memory loading '%s'", p->name);
                break;
            }
            dst = tmp = nt;
        }
        if (typed) rc = load_typed(m->d, st, name, p);
        else rc = fv_wfile_read_f32(st, name, dst, p->cols ? 2 : 1, shape);
        if (rc || typed) {
        } else if (sp) rc = fv_rowsplit_write(m->d, sp, 0, dst, n);
        else if (!p->buf->host) rc = fv_buf_write(m->d, p->buf, (uint64_t)p->off * 4, dst, n * 4);
        done += n * 4;
        if (progress) progress(done, total, user);
    }
    free(tmp);
    fv_st_close(st);
    return rc;
}

int fv_t5_file_wtype(const char *dir, enum fv_wtype *out) {
    fv_safetensors *st;
    FV_TRY(fv_st_open(&st, dir));
    int rc = fv_wfile_check_meta(st);
    if (!rc) rc = fv_wfile_default_type(st, out);
    fv_st_close(st);
    return rc;
}

int fv_t5_load(fv_dev *d, const char *dir, fv_t5 **out, void (*progress)(uint64_t, uint64_t, void *), void *user) {
    int wtype = FV_WT_F32;
    return fv_t5_load_typed(d, dir, &wtype, out, progress, user);
}

int fv_t5_load_typed(fv_dev *d, const char *dir, int *wtype, fv_t5 **out, void (*progress)(uint64_t, uint64_t, void *),
                     void *user) {
    fv_t5_config cfg;
    *out = NULL;
    FV_TRY(fv_t5_config_load(&cfg, dir));
    if (*wtype < 0) {
        enum fv_wtype t;
        FV_TRY(fv_t5_file_wtype(dir, &t));
        *wtype = (int)t;
    }
    fv_t5 *m;
    FV_TRY(fv_t5_create_typed(d, &cfg, (enum fv_wtype)*wtype, &m));
    int rc = fv_t5_load_weights(m, dir, progress, user);
    if (rc) {
        fv_t5_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* HF T5PreTrainedModel._init_weights: the std of each tensor kind (before the factor). */
static double init_std(const fv_t5 *m, const fv_t5_param *p) {
    const fv_t5_config *c = &m->cfg;
    const char *n = p->name;
    if (!p->matrix && strstr(n, "layer_norm")) return -1; /* ones */
    if (!strcmp(n, "shared.weight") || !strcmp(n, "lm_head.weight")) return 1.0;
    if (strstr(n, "relative_attention_bias")) return pow(c->d_model, -0.5);
    if (strstr(n, ".q.weight")) return pow((double)c->d_model * c->d_kv, -0.5);
    if (strstr(n, ".k.weight") || strstr(n, ".v.weight")) return pow(c->d_model, -0.5);
    if (strstr(n, ".o.weight")) return pow((double)c->num_heads * c->d_kv, -0.5);
    if (strstr(n, ".wo.weight")) return pow(c->d_ff, -0.5);
    return pow(c->d_model, -0.5); /* wi, wi_0, wi_1 */
}

/* Fill every parameter with T5's init: layer norms = initializer_factor, the rest random with the
 * tensor's std (times the factor), drawn by `fast`: normal (T5's) or uniform of that std (benchmarks). */
static int init_all(fv_t5 *m, uint64_t seed, int fast) {
    fv_rng rng;
    fv_rng_seed(&rng, seed);
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    float *tmp = NULL;
    int rc = 0;
    double factor = m->cfg.initializer_factor;
    for (size_t i = 0; !rc && i < m->nparams; i++) {
        const fv_t5_param *p = &m->params[i];
        uint64_t n = numel(p);
        float *nt = realloc(tmp, n * sizeof *nt);
        if (!nt) {
            rc = fv_err("out of host memory");
            break;
        }
        tmp = nt;
        double std = init_std(m, p);
        float a = (float)(factor * sqrt(3.0) * (std < 0 ? 0 : std));
        for (uint64_t k = 0; k < n; k++) {
            if (std < 0) tmp[k] = (float)factor;
            else if (!fast) tmp[k] = (float)(factor * std * fv_rng_normal(&rng));
            else {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
                tmp[k] = a * ((float)(x >> 40) * (1.0f / 8388608.0f) - 1.0f);
            }
        }
        rc = fv_t5_param_write(m->d, p, tmp);
    }
    free(tmp);
    return rc;
}

int fv_t5_init_weights(fv_t5 *m, uint64_t seed) { return init_all(m, seed, 0); }

int fv_t5_init_weights_fast(fv_t5 *m, uint64_t seed) { return init_all(m, seed, 1); }

int fv_t5_save_weights(const fv_t5 *m, const char *dir) { return fv_t5_save_weights_meta(m, dir, NULL); }

int fv_t5_save_weights_meta(const fv_t5 *m, const char *dir, const char *const *meta_kv) {
    fv_st_out *outs = calloc(m->nparams, sizeof *outs);
    int64_t *shapes = calloc(m->nparams * 2, sizeof *shapes);
    float **data = calloc(m->nparams, sizeof *data);
    int rc = (!outs || !shapes || !data) ? fv_err("out of host memory") : 0;
    for (size_t i = 0; !rc && i < m->nparams; i++) {
        const fv_t5_param *p = &m->params[i];
        uint64_t n = numel(p);
        data[i] = malloc(n * sizeof(float));
        if (!data[i]) {
            rc = fv_err("out of host memory saving '%s'", p->name);
            break;
        }
        rc = fv_t5_param_read(m->d, p, data[i]);
        shapes[2 * i] = p->rows;
        shapes[2 * i + 1] = p->cols;
        outs[i] = (fv_st_out){.name = p->name, .ndim = p->cols ? 2 : 1, .shape = &shapes[2 * i], .data = data[i],
                              .src_dtype = FV_DT_F32, .dtype = FV_DT_F32};
    }
    char path[1024];
    if (!rc) rc = fv_path_join(path, sizeof path, dir, "model.safetensors");
    if (!rc) rc = fv_st_write(path, outs, m->nparams, meta_kv);
    for (size_t i = 0; data && i < m->nparams; i++) free(data[i]);
    free(data);
    free(shapes);
    free(outs);
    return rc;
}

int fv_t5_set_kv_cache(fv_t5 *m, const char *kv) {
    int can = fv_attn_kv_f16_supported(m->d);
    if (!kv) {
        m->kv_f16 = can && m->wtype != FV_WT_F32;
        return 0;
    }
    if (!strcmp(kv, "f32")) {
        m->kv_f16 = 0;
        return 0;
    }
    if (strcmp(kv, "f16")) return fv_err("unknown KV-cache type '%s' (expected f32 or f16)", kv);
    if (!can) return fv_err("--kv-cache f16: this device cannot hold fp16 caches (no 16-bit storage)");
    m->kv_f16 = 1;
    return 0;
}
