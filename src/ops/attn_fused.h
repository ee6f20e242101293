/* Fused attention score kernels for the texel path (CPU devices such as lavapipe): the score
 * products with their row epilogues in one kernel, so S and dP never make a separate round trip
 * through memory and the per-element bias/mask lookups are texel gathers (shaders/attn_fwd.comp,
 * shaders/attn_dscores.comp). Internal to ops/attention.c, which validates the arguments first
 * and falls back to GEMM + row kernels where fv_attn_fused_ok says no (storage path, GPUs). */
#ifndef FV_OPS_ATTN_FUSED_H
#define FV_OPS_ATTN_FUSED_H

#include "ops/attention.h"

/* 1 when the fused kernels serve this shape on this device. */
int fv_attn_fused_ok(const fv_dev *d, const fv_attn_desc *a);

/* p = softmax(Q K^T + bias + mask), as GEMM + fv_attn_softmax would write it. Without use_bias,
 * pos_q, pos_k, bias_table and bucket_lut are not read (null buffers allowed). With ranges.buf
 * (the whole ranges of ops/attn_ranges.h, validated by the caller), key chunks outside a block's
 * key range are not multiplied (their P is 0 anyway); the result is the same bit for bit. With
 * sparse (needs ranges; only when every consumer of P reads it by the ranges) such chunks are
 * not even written unless a transposed product reads them (see shaders/attn_fwd.comp). With drop
 * on, the dropped copy goes to drop->pd_scratch as fv_dropout(p) would write it (wherever P is). */
int fv_attn_fwd_fused(fv_graph *g, const fv_attn_desc *a, fv_t q, fv_t k, fv_t seg_q, fv_t seg_k, fv_t pos_q,
                      fv_t pos_k, fv_t bias_table, fv_t bucket_lut, fv_t p, fv_t ranges, int sparse,
                      const fv_attn_dropout *drop);

/* ds = P (dP - rowsum(dP P)) with dP = dO V^T (through the dropout mask when drop is on; only in
 * the live key chunks with ranges.buf, dS = 0 elsewhere, written only where read with sparse), and
 * with hist.buf the per-row bucket sums of dS (as fv_attn_softmax_back writes them). The row sums
 * come from the forward's output o (o_stride, like dout): rowsum(dP P)_i = dO_i . O_i. */
int fv_attn_dscores_fused(fv_graph *g, const fv_attn_desc *a, fv_t dout, fv_t o, fv_t v, fv_t p, fv_t pos_q,
                          fv_t pos_k, fv_t bucket_lut, fv_t ds, fv_t hist, const fv_attn_dropout *drop, fv_t ranges,
                          int sparse);

#endif
