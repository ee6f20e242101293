/* The derived weight copies the GEMMs of the training step read instead of the masters:
 *  - mixed precision: the fp16 shadows of the projection weights (see t5_train_step.h for which
 *    weights and why wo, the embedding / lm_head and the norms keep none), rewritten wholesale
 *    from their masters by the cast kernel (ops/cast.h), never updated themselves;
 *  - texel devices: the transposed forward copies W^T (ops/transpose.h), remade from the masters
 *    at the start of every forward.
 * The masters stay fp32 and authoritative. */
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "model/t5_train_impl.h"
#include "ops/cast.h"
#include "ops/transpose.h"

/* The shadowed fields of a block, as (master, shadow) pairs; decoder-only ones are NULL in the
 * encoder (and then skipped). wo is deliberately absent. */
enum { NSHADOW = 6 };
static const char *const shadow_field[NSHADOW] = {"qkv", "o", "cq", "ckv", "co", "wi"};

static void pairs(const fv_t5_block *b, fv_t5_block *s, fv_buf *mst[NSHADOW], fv_buf **shd[NSHADOW]) {
    fv_buf *m[NSHADOW] = {b->qkv, b->o, b->cq, b->ckv, b->co, b->wi};
    fv_buf **h[NSHADOW] = {&s->qkv, &s->o, &s->cq, &s->ckv, &s->co, &s->wi};
    for (int i = 0; i < NSHADOW; i++) {
        mst[i] = m[i];
        shd[i] = h[i];
    }
}

/* fn(master, &shadow, dec, layer, field index) for every shadowed weight of the model, in order;
 * stops at the first error. */
typedef int (*shadow_fn)(fv_t5_train *t, fv_buf *master, fv_buf **shadow, int dec, int l, int i, void *ctx);
static int each_shadow(fv_t5_train *t, shadow_fn fn, void *ctx) {
    const fv_t5 *m = t->m;
    int L[2] = {m->cfg.num_layers, m->cfg.num_decoder_layers};
    for (int dec = 0; dec < 2; dec++)
        for (int l = 0; l < L[dec]; l++) {
            fv_buf *mst[NSHADOW], **shd[NSHADOW];
            pairs(dec ? &m->dec[l] : &m->enc[l], dec ? &t->dec16[l] : &t->enc16[l], mst, shd);
            for (int i = 0; i < NSHADOW; i++)
                if (mst[i]) FV_TRY(fn(t, mst[i], shd[i], dec, l, i, ctx));
        }
    return 0;
}

static int alloc_shadow(fv_t5_train *t, fv_buf *master, fv_buf **shadow, int dec, int l, int i, void *ctx) {
    (void)ctx;
    char name[48];
    snprintf(name, sizeof name, "%s %d %s fp16", dec ? "dec" : "enc", l, shadow_field[i]);
    if (fv_buf_alloc(t->m->d, master->size / 4 * 2, FV_MEM_DEVICE, name, shadow))
        return fv_err_wrap("train step: fp16 shadow of %s", master->what);
    return 0;
}

static int free_shadow(fv_t5_train *t, fv_buf *master, fv_buf **shadow, int dec, int l, int i, void *ctx) {
    (void)master, (void)dec, (void)l, (void)i, (void)ctx;
    fv_buf_free(t->m->d, *shadow);
    *shadow = NULL;
    return 0;
}

static int cast_shadow(fv_t5_train *t, fv_buf *master, fv_buf **shadow, int dec, int l, int i, void *ctx) {
    (void)t, (void)dec, (void)l, (void)i;
    return fv_cast_f16((fv_graph *)ctx, fv_tensor(master, 0), fv_tensor(*shadow, 0), (uint32_t)(master->size / 4));
}

/* The per-layer block arrays of a set of copies (fields zeroed: no buffers yet), and their release. */
static int blocks_alloc(const fv_t5 *m, fv_t5_block **enc, fv_t5_block **dec) {
    *enc = calloc((size_t)m->cfg.num_layers, sizeof **enc);
    *dec = calloc((size_t)m->cfg.num_decoder_layers, sizeof **dec);
    return *enc && *dec ? 0 : fv_err("out of host memory");
}
static void blocks_free(fv_t5_block **enc, fv_t5_block **dec) {
    free(*enc);
    free(*dec);
    *enc = *dec = NULL;
}

int fv_t5_train_shadows_create(fv_t5_train *t) {
    FV_TRY(blocks_alloc(t->m, &t->enc16, &t->dec16));
    FV_TRY(each_shadow(t, alloc_shadow, NULL));
    return fv_t5_train_sync_shadows(t);
}

void fv_t5_train_shadows_free(fv_t5_train *t) {
    if (t->enc16 && t->dec16) each_shadow(t, free_shadow, NULL);
    blocks_free(&t->enc16, &t->dec16);
}

int fv_t5_train_refresh_shadows(fv_graph *g, fv_t5_train *t) {
    if (!t->mixed || !t->gr) return 0; /* a frozen base (LoRA) never changes under its shadows */
    return each_shadow(t, cast_shadow, g);
}

int fv_t5_train_sync_shadows(fv_t5_train *t) {
    if (!t->mixed) return 0;
    fv_graph *g = NULL;
    int rc = fv_graph_create(t->m->d, &g);
    if (!rc) rc = fv_graph_begin(g);
    if (!rc) rc = each_shadow(t, cast_shadow, g);
    if (!rc) rc = fv_graph_end(g);
    if (!rc) rc = fv_graph_run(g);
    fv_graph_destroy(g);
    return rc ? fv_err_wrap("train step: filling the fp16 weight shadows") : 0;
}

/* Transposed forward copies: every projection of a block (wo included) and the LM head. */
enum { NCOPY = 7 };
static const char *const copy_field[NCOPY] = {"qkv", "o", "cq", "ckv", "co", "wi", "wo"};

/* Field i of a block as (master, &copy, [rows, cols] of the master); master NULL: absent. */
static fv_buf *copy_pair(const fv_t5_train *t, int dec, int l, int i, fv_buf ***copy, uint32_t *rows, uint32_t *cols) {
    const fv_t5 *m = t->m;
    const fv_t5_block *b = dec ? &m->dec[l] : &m->enc[l];
    fv_t5_block *c = dec ? &t->dec_t[l] : &t->enc_t[l];
    uint32_t D = (uint32_t)m->cfg.d_model, in = m->inner, F = (uint32_t)m->cfg.d_ff;
    uint32_t wi = m->cfg.is_gated_act ? 2 * F : F;
    fv_buf *mst[NCOPY] = {b->qkv, b->o, b->cq, b->ckv, b->co, b->wi, b->wo};
    fv_buf **cp[NCOPY] = {&c->qkv, &c->o, &c->cq, &c->ckv, &c->co, &c->wi, &c->wo};
    uint32_t r[NCOPY] = {3 * in, D, in, 2 * in, D, wi, D}, k[NCOPY] = {D, in, D, D, in, D, F};
    *copy = cp[i];
    *rows = r[i];
    *cols = k[i];
    return mst[i];
}

/* fp16 copies exactly where the forward would read an fp16 shadow (every field but wo). */
static enum fv_dtype copy_dtype(const fv_t5_train *t, int i) { return t->mixed && i < NSHADOW ? FV_F16 : FV_F32; }

typedef int (*copy_fn)(fv_t5_train *t, fv_buf *master, fv_buf **copy, uint32_t rows, uint32_t cols,
                       enum fv_dtype dt, const char *what, void *ctx);
/* fn for every block copy, then the LM head's; stops at the first error. */
static int each_copy(fv_t5_train *t, copy_fn fn, void *ctx) {
    const fv_t5 *m = t->m;
    int L[2] = {m->cfg.num_layers, m->cfg.num_decoder_layers};
    char what[48];
    for (int dec = 0; dec < 2; dec++)
        for (int l = 0; l < L[dec]; l++)
            for (int i = 0; i < NCOPY; i++) {
                fv_buf **copy;
                uint32_t rows, cols;
                fv_buf *mst = copy_pair(t, dec, l, i, &copy, &rows, &cols);
                if (!mst) continue;
                snprintf(what, sizeof what, "%s %d %s^T", dec ? "dec" : "enc", l, copy_field[i]);
                FV_TRY(fn(t, mst, copy, rows, cols, copy_dtype(t, i), what, ctx));
            }
    /* a head table split into pieces (ops/rowsplit.h) has no copy: its logits are per-piece NT products */
    const fv_rowsplit *head = m->lm_head.n ? &m->lm_head : &m->shared;
    if (head->n != 1) return 0;
    return fn(t, head->piece[0], &t->head_t, (uint32_t)m->cfg.vocab_size, (uint32_t)m->cfg.d_model, FV_F32,
              m->lm_head.n ? "lm_head^T" : "shared^T", ctx);
}

static int alloc_copy(fv_t5_train *t, fv_buf *master, fv_buf **copy, uint32_t rows, uint32_t cols, enum fv_dtype dt,
                      const char *what, void *ctx) {
    (void)ctx;
    if (master->size < (uint64_t)rows * cols * 4)
        return fv_err("train step: weight '%s' holds %llu bytes, not [%u, %u] fp32", master->what,
                      (unsigned long long)master->size, rows, cols);
    if (fv_buf_alloc(t->m->d, (uint64_t)rows * cols * (dt == FV_F16 ? 2 : 4), FV_MEM_DEVICE, what, copy))
        return fv_err_wrap("train step: transposed forward copy of %s", master->what);
    return 0;
}

static int free_copy(fv_t5_train *t, fv_buf *master, fv_buf **copy, uint32_t rows, uint32_t cols, enum fv_dtype dt,
                     const char *what, void *ctx) {
    (void)master, (void)rows, (void)cols, (void)dt, (void)what, (void)ctx;
    fv_buf_free(t->m->d, *copy);
    *copy = NULL;
    return 0;
}

static int transpose_copy(fv_t5_train *t, fv_buf *master, fv_buf **copy, uint32_t rows, uint32_t cols,
                          enum fv_dtype dt, const char *what, void *ctx) {
    (void)t;
    if (fv_transpose((fv_graph *)ctx, fv_tensor(master, 0), fv_tensor(*copy, 0), rows, cols, dt))
        return fv_err_wrap("train step: %s", what);
    return 0;
}

int fv_t5_train_fwd_transposed(const fv_dev *d) {
    /* FLANVK_FWD_TRANSPOSE=0: no copies (the NT products), for comparisons and as a kill switch */
    const char *env = getenv("FLANVK_FWD_TRANSPOSE");
    return d->use_texel && !(env && env[0] == '0');
}

int fv_t5_train_fwd_copies_create(fv_t5_train *t) {
    if (!fv_t5_train_fwd_transposed(t->m->d)) return 0;
    FV_TRY(blocks_alloc(t->m, &t->enc_t, &t->dec_t));
    return each_copy(t, alloc_copy, NULL);
}

void fv_t5_train_fwd_copies_free(fv_t5_train *t) {
    if (t->enc_t && t->dec_t) each_copy(t, free_copy, NULL);
    blocks_free(&t->enc_t, &t->dec_t);
}

int fv_t5_train_fwd_copies(fv_graph *g, fv_t5_train *t) {
    if (!t->enc_t) return 0;
    return each_copy(t, transpose_copy, g);
}
