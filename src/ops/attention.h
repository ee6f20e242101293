/* T5 attention, forward and backward: S = Q K^T (no 1/sqrt(d) scaling, as in T5) + position bias
 * + mask; P = softmax_j(S); O = P V. The products are batched GEMMs (ops/gemm.h, batch = B*H,
 * batch_inner = H over the [B, T, H, dk] layout); the bias, masking and softmax are one fused
 * kernel per score row (shaders/attn_softmax.comp). Shapes and strides: ops/attn_desc.h.
 *
 * Masking from per-token int32 segment ids (0 = padding): key j is visible to query i iff
 * seg_k[b,j] != 0 and seg_k[b,j] == seg_q[b,i] (or, with pad_mask_only, just seg_k[b,j] != 0),
 * and, when causal, j <= i. A plain padded batch uses seg = 1 for tokens and 0 for padding; a
 * packed row numbers its segments 1, 2, ... (decoder and encoder ids must agree for packed
 * cross-attention). A query with no visible key gets P = 0 (so O = 0, never NaN).
 *
 * Position bias (use_bias): bias[h, i, j] = table[lut[clamp(pos_k[b,j] - pos_q[b,i], -L, L) + L] * H + h]
 * with per-token int32 positions (restarting per packed segment) and the bucket LUT from
 * ops/relpos.h (bidirectional for the encoder, causal buckets for the decoder).
 *
 * Decode step with a KV cache (record once, replay every token): K and V are the cache [B, Tmax,
 * H, dk]; call with Tq = 1, Tk = Tmax, causal = 0. The changing length lives in device buffers,
 * not push constants: seg_k[b, j] = 1 for filled slots and 0 for the rest (the host or a kernel
 * sets slot `step` to 1 before the step), seg_q = 1, pos_q[b] = step, pos_k[b, j] = j, and the
 * decoder (causal-bucket) LUT. Masked slots must hold finite values (zero the cache once): P = 0
 * there, but 0 * NaN is NaN in O = P V.
 *
 * fp16 K/V (a->kv_f16, forward only): K and V are read as IEEE fp16 (their offsets and token
 * strides count fp16 elements), e.g. a decode step's KV caches filled by fv_kv_append_f16 and
 * fv_cast_f16; Q, O, P and all sums stay fp32 (the products are fv_gemm with an fp16 B). Needs
 * fv_attn_kv_f16_supported; the backward rejects kv_f16.
 *
 * Scratch: p_scratch holds P [B, H, Tq, Tk] (fp32); keep it for the backward. All of these record
 * into the graph and return 0 or an error naming the op and the problem.
 *
 * Dropout on the probabilities (training only, as HF's T5Attention: O = dropout(P) V): the _drop
 * variants take an fv_attn_dropout. The mask of element e = ((b*H + h)*Tq + i)*Tk + j is the
 * ops/dropout.h hash of (seed, salt, e), so the backward recomputes it instead of storing it.
 * The forward keeps the undropped P in p_scratch (the softmax backward needs it) and writes the
 * dropped copy to drop->pd_scratch for the O = P V product (on the texel path in the same kernel
 * as P, bit for bit what fv_dropout would write). The backward needs the dropped P for
 * dV = dropped(P)^T dO: with drop->pd_kept, pd_scratch still holds the forward's copy and is read
 * (it may be the buffer of dp_scratch: read before dS overwrites it); else it is recomputed into
 * dp_scratch by a dropout pass over P. dP goes through the mask (in the fused dS kernel, or the
 * same dropout call on dO V^T) before the softmax backward. Inference never passes one (the
 * plain functions are the _drop ones with no dropout).
 *
 * Sparse writes: with ranges on the texel path (where every product reads P and dS by the ranges)
 * the fused kernels do not write P, dropped P and dS in the blocks no product reads (most of a
 * packed row's matrix); those elements keep whatever the buffers held. So pass the backward the
 * same ranges as the forward, and read p_scratch / pd_scratch only through the attention ops. */
#ifndef FV_OPS_ATTENTION_H
#define FV_OPS_ATTENTION_H

#include "ops/attn_desc.h"
#include "ops/op.h"

/* 1 if a decode step may keep its K/V caches in fp16 on this device: the device has 16-bit
 * storage and it is not disabled (fv_dev.fp16; FLANVK_DISABLE_F16=1 turns it off). That covers
 * fv_attention with kv_f16, fv_kv_append_f16 and fv_cast_f16; fv_attn_decode with kv_f16 needs
 * no more than fv_attn_decode_ok, but its caches are filled by the others. */
int fv_attn_kv_f16_supported(const fv_dev *d);

/* O = softmax(Q K^T + bias + mask) V, overwriting O and p_scratch. Without use_bias, pos_q,
 * pos_k, bias_table and bucket_lut may be null buffers. */
int fv_attention(fv_graph *g, const fv_attn_desc *a, fv_t q, fv_t k, fv_t v, fv_t o, fv_t seg_q, fv_t seg_k,
                 fv_t pos_q, fv_t pos_k, fv_t bias_table, fv_t bucket_lut, fv_t p_scratch);

/* Backward from dO and the forward's P and output O (both with o_stride; O = P V, or dropped(P) V,
 * exactly as the forward wrote it: the texel path takes the softmax row sums as dO_i . O_i instead
 * of a second sweep over dP; the storage path does not read O): dQ, dK, dV overwritten (with the
 * q, k and v strides, so they may be slices of one fused dQKV buffer, which must not be the buffer of Q, K,
 * V or dO), dtable += (with use_bias; else dtable and hist_scratch may be null).
 * dp_scratch holds B*H*Tq*Tk floats (dP, then dS); hist_scratch B*H*Tq*num_buckets floats. */
int fv_attention_back(fv_graph *g, const fv_attn_desc *a, fv_t q, fv_t k, fv_t v, fv_t p, fv_t o, fv_t dout,
                      fv_t pos_q, fv_t pos_k, fv_t bucket_lut, fv_t dq, fv_t dk, fv_t dv, fv_t dtable,
                      fv_t dp_scratch, fv_t hist_scratch);

typedef struct fv_attn_dropout {
    fv_t seed;       /* uint32 seed at seed.buf[seed.off], e.g. the training step's seed buffer */
    uint32_t salt;   /* tells this site apart from the step's other dropout sites */
    float rate;      /* in [0, 1); 0 = no dropout */
    fv_t pd_scratch; /* B*H*Tq*Tk floats for the dropped P (not the buffer of p, q, k, v or o): the forward
                        writes it; the backward reads it with pd_kept */
    int pd_kept;     /* backward: pd_scratch holds the forward's dropped P (no recompute); 0: ignored */
} fv_attn_dropout;

/* drop NULL or drop->rate 0 and ranges.buf NULL: exactly fv_attention / fv_attention_back.
 * ranges: the block ranges of this call's mask (ops/attn_ranges.h, fv_attn_ranges with the same
 * desc and segment ids; computed once, shared by every layer and head with that mask), or a
 * null buffer. With them the fused score kernels and the texel GEMMs skip the key (query) blocks
 * a block of queries (keys) cannot see: the outputs are the same bit for bit (finite inputs),
 * the work shrinks with the masked share (packed rows, padding, causal). */
int fv_attention_drop(fv_graph *g, const fv_attn_desc *a, fv_t q, fv_t k, fv_t v, fv_t o, fv_t seg_q, fv_t seg_k,
                      fv_t pos_q, fv_t pos_k, fv_t bias_table, fv_t bucket_lut, fv_t p_scratch,
                      const fv_attn_dropout *drop, fv_t ranges);
int fv_attention_back_drop(fv_graph *g, const fv_attn_desc *a, fv_t q, fv_t k, fv_t v, fv_t p, fv_t o, fv_t dout,
                           fv_t pos_q, fv_t pos_k, fv_t bucket_lut, fv_t dq, fv_t dk, fv_t dv, fv_t dtable,
                           fv_t dp_scratch, fv_t hist_scratch, const fv_attn_dropout *drop, fv_t ranges);

/* The fused row kernels on their own (used by the above; exposed for tests):
 * scores in p (B*H*Tq rows of Tk) -> probabilities, in place. */
int fv_attn_softmax(fv_graph *g, const fv_attn_desc *a, fv_t p, fv_t seg_q, fv_t seg_k, fv_t pos_q, fv_t pos_k,
                    fv_t bias_table, fv_t bucket_lut);
/* dp -> dS = P (dP - rowsum(dP P)), in place; with hist.buf, also per-row bucket sums of dS. */
int fv_attn_softmax_back(fv_graph *g, const fv_attn_desc *a, fv_t p, fv_t dp, fv_t pos_q, fv_t pos_k,
                         fv_t bucket_lut, fv_t hist);

#endif
