/* Internals shared by the two halves of the T5 training step (t5_train_fwd.c, t5_backward.c):
 * dropout site salts (the forward and the backward must pick the same mask) and the attention
 * shape descriptions. */
#ifndef FV_MODEL_T5_TRAIN_IMPL_H
#define FV_MODEL_T5_TRAIN_IMPL_H

#include "model/t5_layers.h"
#include "model/t5_train_step.h"
#include "ops/attention.h"
#include "ops/linear_mixed.h"

/* Dropout sites: per block, 0 self-attention output, 1 cross-attention output, 2 inside the
 * feed-forward, 3 feed-forward output, 4 self-attention probabilities, 5 cross-attention
 * probabilities; plus the embeddings and final norms of each stack. A checkpointed recompute
 * uses these same salts, so it draws the forward's masks. */
#define FV_T5_SALT(decoder, l, site) (0x100u + ((decoder) ? 0x10000u : 0u) + 8u * (uint32_t)(l) + (site))
#define FV_T5_SITE_SELF_P 4u
#define FV_T5_SITE_CROSS_P 5u
#define FV_T5_SALT_ENC_EMB 1u
#define FV_T5_SALT_ENC_FINAL 2u
#define FV_T5_SALT_DEC_EMB 3u
#define FV_T5_SALT_DEC_FINAL 4u

/* A GEMM weight operand: the fp16 shadow when there is one, else the fp32 master; or (forward
 * on texel devices) a transposed copy W^T [in, out], tr = 1. */
typedef struct fv_t5_w {
    fv_buf *buf;
    enum fv_dtype dt;
    int tr; /* stored transposed: [in, out] instead of HF's [out, in] */
} fv_t5_w;
static inline fv_t5_w fv_t5_train_w(fv_buf *master, fv_buf *shadow) {
    return shadow ? (fv_t5_w){shadow, FV_F16, 0} : (fv_t5_w){master, FV_F32, 0};
}
/* The forward's operand: the transposed copy when there is one (fp16 where the weight has a
 * shadow, as fv_t5_train_fwd_copies makes it), else as fv_t5_train_w. */
static inline fv_t5_w fv_t5_train_wf(fv_buf *master, fv_buf *shadow, fv_buf *copy) {
    return copy ? (fv_t5_w){copy, shadow ? FV_F16 : FV_F32, 1} : fv_t5_train_w(master, shadow);
}
/* y[rows, out] = x[rows, in] W^T + beta * y with W read as w stores it. */
static inline int fv_t5_train_linear(fv_graph *g, fv_buf *x, fv_t5_w w, fv_buf *y, uint32_t rows, uint32_t in,
                                     uint32_t out, float beta) {
    fv_t tx = fv_tensor(x, 0), tw = fv_tensor(w.buf, 0), ty = fv_tensor(y, 0);
    return w.tr ? fv_linear_wt_tr(g, tx, tw, w.dt, ty, rows, in, out, beta)
                : fv_linear_wt(g, tx, tw, w.dt, ty, rows, in, out, beta);
}
/* The shadow block of a layer (NULL without mixed precision). */
static inline const fv_t5_block *fv_t5_train_shadow(const fv_t5_train *t, int decoder, int l) {
    if (!t->mixed) return NULL;
    return decoder ? &t->dec16[l] : &t->enc16[l];
}
/* Mixed precision: allocate the shadows and fill them (t5_train_copies.c); free them. */
int fv_t5_train_shadows_create(fv_t5_train *t);
void fv_t5_train_shadows_free(fv_t5_train *t);
/* The transposed forward copies of a layer (NULL when the device makes none). */
static inline const fv_t5_block *fv_t5_train_fcopy(const fv_t5_train *t, int decoder, int l) {
    if (!t->enc_t) return NULL;
    return decoder ? &t->dec_t[l] : &t->enc_t[l];
}
/* Texel devices: allocate the transposed forward copies (t5_train_copies.c; nothing elsewhere);
 * free them. (fv_t5_train_fwd_copies in t5_train_step.h records their transposes.) */
int fv_t5_train_fwd_copies_create(fv_t5_train *t);
void fv_t5_train_fwd_copies_free(fv_t5_train *t);

/* x = dropout(x) in place with the step's seed (nothing at rate 0). */
int fv_t5_train_dropout(fv_graph *g, const fv_t5_train *t, fv_buf *x, uint32_t n, uint32_t salt);
fv_attn_desc fv_t5_train_self_desc(const fv_t5_train *t, int decoder);
fv_attn_desc fv_t5_train_cross_desc(const fv_t5_train *t);
/* The attention-probability dropout of a site (rate 0 without dropout); pd_scratch = t->gp, which
 * the callers replace by the block's kept pd_sa / pd_ca (pd_kept in the backward). */
fv_attn_dropout fv_t5_train_attn_drop(const fv_t5_train *t, uint32_t salt);
/* One block's forward into t's activation buffers of that block (the shared scratch when
 * checkpointing); x_next NULL stops before the output residual (the backward's recompute). */
int fv_t5_train_block_fwd(fv_graph *g, const fv_t5_train *t, int decoder, int l, fv_buf *x_next);

#endif
