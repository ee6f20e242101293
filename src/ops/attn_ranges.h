/* Block ranges of an attention mask, for skipping work that multiplies exact zeros (packed rows,
 * padding, causal masks), as varlen flash-attention does, with bit-identical results.
 *
 * For one attention call (desc a: B, Tq, Tk, causal, pad_mask_only; seg_q, seg_k as in
 * ops/attention.h) and blocks of FV_ATTN_RANGE_ROWS tokens, the ranges buffer holds uint32 pairs:
 *   key ranges:   [B][qb][2] at element 0:          [klo, khi) = hull of the keys visible to any
 *                 query of query block (b, i / 16); an empty block (no visible key) is (0, 0);
 *   query ranges: [B][kb][2] at element 2 * B * qb: [qlo, qhi) = hull of the queries that see any
 *                 key of key block (b, j / 16); (0, 0) when no query sees it;
 * with qb = ceil(Tq / 16), kb = ceil(Tk / 16). Outside its hull a row block of P, of dS and of
 * their transposes is exactly 0, so the products O = P V, dQ = dS K (key ranges) and
 * dV = P^T dO, dK = dS^T Q (query ranges) may skip those terms (ops/gemm.h krange) and the fused
 * score kernels may skip those key chunks. The mask is the same for every layer and head, so a
 * training step computes the ranges once per mask kind (fv_attn_ranges) and passes them to every
 * attention call with that mask. The position bias does not enter: it never unmasks a score. */
#ifndef FV_OPS_ATTN_RANGES_H
#define FV_OPS_ATTN_RANGES_H

#include "ops/attn_desc.h"
#include "ops/op.h"

#define FV_ATTN_RANGE_ROWS 16u

/* uint32 elements of the ranges of a call shaped as a (2 * B * (qb + kb)). */
uint64_t fv_attn_ranges_size(const fv_attn_desc *a);
/* Element offset of the query ranges (key-block pairs) within the ranges: 2 * B * qb. */
uint32_t fv_attn_ranges_qoff(const fv_attn_desc *a);

/* Record the computation of the ranges (shaders/attn_ranges.comp) from the int32 segment ids
 * seg_q [B, Tq] and seg_k [B, Tk] into `ranges` (fv_attn_ranges_size elements). */
int fv_attn_ranges(fv_graph *g, const fv_attn_desc *a, fv_t seg_q, fv_t seg_k, fv_t ranges);

#endif
