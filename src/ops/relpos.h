/* T5 relative position buckets (HF T5Attention._relative_position_bucket) as a host-built lookup
 * table, and the deterministic reduction of the bias-table gradient.
 *
 * The bucket of rel = pos_k - pos_q is computed on the host in float32 exactly as PyTorch does it
 * (float32 log of the float32 ratio n/max_exact, divided by log(max_distance/max_exact) rounded to
 * float32, times (num_buckets - max_exact), truncated), verified against torch for every rel in
 * [-2048, 2048] with 32 buckets and max distance 128 (src/check/op_relpos.c). Kernels index
 * lut[clamp(rel, -L, L) + L]; with L >= max_distance the clamp is exact, because every |rel| >=
 * max_distance falls in the last bucket of its side. */
#ifndef FV_OPS_RELPOS_H
#define FV_OPS_RELPOS_H

#include "ops/op.h"

/* The bucket of one relative position (bidirectional: encoder; else decoder self-attention). */
int32_t fv_relpos_bucket(int32_t rel, int bidirectional, uint32_t num_buckets, uint32_t max_distance);
/* Fill lut[0 .. 2L] with the buckets of rel = -L .. L. Fails on bad parameters. */
int fv_relpos_lut_fill(int32_t *lut, uint32_t L, int bidirectional, uint32_t num_buckets, uint32_t max_distance);
/* Allocate a device buffer holding that LUT (2L+1 int32). */
int fv_relpos_lut_create(fv_dev *d, uint32_t L, int bidirectional, uint32_t num_buckets, uint32_t max_distance,
                         fv_buf **out);

/* dtable[bucket * H + h] += sum over b, i of hist[((b*H + h)*Tq + i) * nb + bucket], in a fixed
 * order (no float atomics). hist holds per-row bucket sums of dS written by attn_softmax_back. */
int fv_relpos_grad(fv_graph *g, fv_t hist, fv_t dtable, uint32_t B, uint32_t H, uint32_t Tq, uint32_t nb);

#endif
