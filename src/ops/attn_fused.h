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
 * pos_q, pos_k, bias_table and bucket_lut are not read (null buffers allowed). */
int fv_attn_fwd_fused(fv_graph *g, const fv_attn_desc *a, fv_t q, fv_t k, fv_t seg_q, fv_t seg_k, fv_t pos_q,
                      fv_t pos_k, fv_t bias_table, fv_t bucket_lut, fv_t p);

/* ds = P (dP - rowsum(dP P)) with dP = dO V^T (through the dropout mask when drop is on), and
 * with hist.buf the per-row bucket sums of dS (as fv_attn_softmax_back writes them). The row sums
 * come from the forward's output o (o_stride, like dout): rowsum(dP P)_i = dO_i . O_i. */
int fv_attn_dscores_fused(fv_graph *g, const fv_attn_desc *a, fv_t dout, fv_t o, fv_t v, fv_t p, fv_t pos_q,
                          fv_t pos_k, fv_t bucket_lut, fv_t ds, fv_t hist, const fv_attn_dropout *drop);

#endif
