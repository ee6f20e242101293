/* Softmax cross-entropy over the vocabulary with the logit gradient fused (training), or the
 * per-row loss only (scoring), plus the deterministic batch reductions.
 *
 * logits: [rows, vocab] packed fp32. labels: int32 [rows]; a label < 0 (HF's -100; as uint32,
 * 0xFFFFFFFF is -1 and also ignored) marks an ignored row: loss 0 and a zero gradient row. The
 * device also treats label >= vocab as ignored, but that is a guard only: the host validates
 * labels first (fv_xent_check_labels).
 * loss: [rows] per-row -log softmax(x)[label], overwritten.
 * dlogits = (softmax(x) - onehot(label)) * scale[0], overwritten; it may alias logits (same buffer
 * and offset) to save the memory of a second [rows, vocab] tensor. scale is read on the device
 * (typically 1 / number of target tokens of the whole step, written by the host or by
 * fv_xent_count), so a replayed graph can change it. */
#ifndef FV_OPS_XENT_H
#define FV_OPS_XENT_H

#include "ops/op.h"

int fv_xent(fv_graph *g, fv_t logits, fv_t labels, fv_t scale, fv_t loss, fv_t dlogits, uint32_t rows, uint32_t vocab);
/* Per-row loss only; logits untouched. */
int fv_xent_loss(fv_graph *g, fv_t logits, fv_t labels, fv_t loss, uint32_t rows, uint32_t vocab);
/* out[0] = count of rows with a valid label, out[1] = 1 / max(count, 1) (use {out.buf, out.off+1}
 * as xent's scale). */
int fv_xent_count(fv_graph *g, fv_t labels, fv_t out, uint32_t rows, uint32_t vocab);
/* out[0] = sum of per-row losses over valid rows, out[1] = count, out[2] = mean. */
int fv_xent_sum(fv_graph *g, fv_t loss, fv_t labels, fv_t out, uint32_t rows, uint32_t vocab);
/* Host-side validation before upload: every label is < 0 (ignored) or < vocab. */
int fv_xent_check_labels(const int32_t *labels, uint32_t rows, uint32_t vocab);

#endif
