/* Decode-step attention in one dispatch (shaders/attn_decode.comp): for one query token per row,
 * O = softmax(Q K^T + bias + mask) V with T5's conventions (no 1/sqrt(d) scaling), one workgroup
 * per (row, head). It computes what fv_attention (ops/attention.h) computes for a decode step
 * with Tq = 1, but without the score matrix in memory and without the KV-append dispatches:
 *
 * Self-attention over a KV cache (self = 1): K and V are the caches [B, Tk, H, dk] (Tk = slots);
 * step = step_buf[0] (a device buffer, so the recorded step is replayed for every position). The
 * op writes k_new / v_new (this step's rows [B, H, dk], stride new_stride, e.g. slices of the
 * fused QKV output) into cache slot `step` and attends over slots 0..step, exactly as
 * fv_kv_append twice + fv_attention with seg_k[b, j] = (j <= step), pos_q = step, pos_k[b, j] = j
 * would. With use_bias, bias = table[lut[clamp(j - step, -L, L) + L] * H + h]. A step >= Tk
 * writes nothing and attends over the Tk cached slots. Slots past `step` are never read.
 *
 * Cross-attention (self = 0): keys 0..Tk-1 of K/V, key j of row b visible iff seg_k[b*Tk + j] != 0
 * (fv_attention's pad_mask_only); no bias. A row with no visible key gets O = 0.
 *
 * Strides (elements per token, 0 = H*dk), offsets and dk must be multiples of 4, dk <= 64, and the
 * device must have subgroup arithmetic: fv_attn_decode_ok says whether the op serves a call (the
 * caller keeps the GEMM path for the rest). FLANVK_DISABLE_ATTN_DECODE=1 turns it off.
 *
 * fp16 K/V (kv_f16 = 1): K and V (the self caches, or the cross K|V buffer) hold IEEE fp16;
 * their offsets and k_stride / v_stride count fp16 elements (same multiple-of-4 rules). The self
 * op rounds k_new / v_new (fp32) to fp16, to nearest even, as fv_cast_f16, both into the cache
 * and for this step's own score and value, so every step attends over exactly what the cache
 * holds. Q, O, k_new / v_new and the bias stay fp32; scores, softmax and sums are fp32. The
 * kernel reads halves through RGBA16F texels or unpackHalf2x16 of 32-bit words, so it needs no
 * 16-bit storage; a decode step that also needs the fallback path, the cross-cache cast and
 * the fp16 appends asks fv_attn_kv_f16_supported (ops/attention.h). */
#ifndef FV_OPS_ATTN_DECODE_H
#define FV_OPS_ATTN_DECODE_H

#include "ops/op.h"

typedef struct fv_attn_dec_desc {
    uint32_t B, H, dk, Tk;
    uint32_t q_stride, k_stride, v_stride, o_stride, new_stride; /* elements per token; 0 = H*dk */
    int self;             /* KV-cache self-attention with append (see above) */
    int use_bias;         /* self only */
    uint32_t num_buckets; /* with use_bias */
    uint32_t lut_radius;  /* with use_bias */
    int kv_f16;           /* K and V stored as fp16 (see above); 0 = fp32 */
    int step_per_row;     /* self: step_buf holds B steps, row b at its own position step_buf[b]
                           * (continuous batching: rows joined at different times); 0 = one shared step */
} fv_attn_dec_desc;

/* Why this device cannot run the op at all (NULL: it can); the decode step then keeps the general
 * attention path. */
const char *fv_attn_decode_unavailable(const fv_dev *d);
/* 1 if fv_attn_decode serves this shape with these tensor offsets on this device. */
int fv_attn_decode_ok(const fv_dev *d, const fv_attn_dec_desc *a, fv_t q, fv_t k, fv_t v, fv_t o, fv_t k_new,
                      fv_t v_new);

/* Record the attention. Self: step_buf, k_new, v_new required, seg_k unused (may be null);
 * cross: seg_k required, step_buf / k_new / v_new unused. Without use_bias, bias_table and
 * bucket_lut may be null. K and V (the caches, with self) are written at slot step only. */
int fv_attn_decode(fv_graph *g, const fv_attn_dec_desc *a, fv_t q, fv_t k, fv_t v, fv_t o, fv_t seg_k, fv_t step_buf,
                   fv_t k_new, fv_t v_new, fv_t bias_table, fv_t bucket_lut);

#endif
