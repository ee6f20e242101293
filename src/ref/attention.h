/* Plain-C reference of T5 attention (see ops/attention.h for the semantics), accumulating in
 * double: the whole forward and backward including bias and masks, and the fused softmax row
 * kernels on their own. Tensors use the layouts and strides of ops/attn_desc.h; without
 * use_bias, pos_q, pos_k, table and lut may be NULL.
 *
 * The _drop variants add dropout on the probabilities as in training (ops/attention.h): element
 * e = ((b*H + h)*Tq + i)*Tk + j of P is kept iff the dropout hash of (seed, salt, e) passes
 * (ref/dropout.h) and then scaled by 1 / (1 - rate); O = dropped(P) V. p still receives the
 * undropped P. drop NULL or rate 0: none. The mask is a fixed function of (seed, salt), so
 * finite differences of the forward check the backward with the mask held fixed.
 *
 * With a->kv_f16 the forward reads every K and V element rounded through fp16 (ref/cast.h,
 * nearest even): k and v still hold fp32 values, the reference rounds them as an fp16 cache
 * would store them. The backward returns -1 for kv_f16 (forward only, as the op). */
#ifndef FV_REF_ATTENTION_H
#define FV_REF_ATTENTION_H

#include <stdint.h>

#include "ops/attn_desc.h"

/* o overwritten; p ([B, H, Tq, Tk]) written when not NULL. Returns -1 if out of memory. */
int fv_ref_attention(const fv_attn_desc *a, const float *q, const float *k, const float *v, float *o,
                     const int32_t *seg_q, const int32_t *seg_k, const int32_t *pos_q, const int32_t *pos_k,
                     const float *table, const int32_t *lut, float *p);
/* dq, dk, dv overwritten (their H*dk columns of each token); dtable += (with use_bias). */
int fv_ref_attention_back(const fv_attn_desc *a, const float *q, const float *k, const float *v, const float *dout,
                          const int32_t *seg_q, const int32_t *seg_k, const int32_t *pos_q, const int32_t *pos_k,
                          const float *table, const int32_t *lut, float *dq, float *dk, float *dv, float *dtable);

typedef struct fv_ref_attn_drop {
    uint32_t seed, salt;
    float rate;
} fv_ref_attn_drop;

int fv_ref_attention_drop(const fv_attn_desc *a, const float *q, const float *k, const float *v, float *o,
                          const int32_t *seg_q, const int32_t *seg_k, const int32_t *pos_q, const int32_t *pos_k,
                          const float *table, const int32_t *lut, float *p, const fv_ref_attn_drop *drop);
int fv_ref_attention_back_drop(const fv_attn_desc *a, const float *q, const float *k, const float *v,
                               const float *dout, const int32_t *seg_q, const int32_t *seg_k, const int32_t *pos_q,
                               const int32_t *pos_k, const float *table, const int32_t *lut, float *dq, float *dk,
                               float *dv, float *dtable, const fv_ref_attn_drop *drop);

/* The row kernels: scores s [B, H, Tq, Tk] -> probabilities in place; dp -> dS in place. */
void fv_ref_attn_softmax(const fv_attn_desc *a, float *s, const int32_t *seg_q, const int32_t *seg_k,
                         const int32_t *pos_q, const int32_t *pos_k, const float *table, const int32_t *lut);
void fv_ref_attn_softmax_back(const fv_attn_desc *a, const float *p, float *dp);

#endif
