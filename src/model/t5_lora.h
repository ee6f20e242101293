/* A LoRA adapter (PEFT semantics, io/peft.h) applied unmerged to a loaded model for inference:
 * every targeted linear layer computes y = W x + s * B (A x), s = lora_alpha / r (or / sqrt(r)
 * with rsLoRA), A [r, in] and B [out, r] fp32 on the device; the base weight keeps its storage
 * type (f32, f16, bf16 or q8), so an adapter runs on a low-bit base. No dropout (inference).
 *
 * The model asks for it through fv_t5_linear (model/t5_weights.c), which adds each module's term
 * to the columns of the fused group it belongs to (q, k, v of the self-attention group; k, v of
 * the cross group; wi_0, wi_1), as two fp32 GEMMs: t = x A^T into a small scratch, then
 * y[:, cols] += s * t B^T. Cost: 2 r (in + out) flops per row and module, ~1% of the base layer's
 * for r = 16 at flan-t5-base widths. */
#ifndef FV_MODEL_T5_LORA_H
#define FV_MODEL_T5_LORA_H

#include "model/t5.h"

/* Read the adapter directory, check it against the model (targets, shapes: one line naming the
 * file and the problem), upload it and attach it: later graphs recorded over the model apply it.
 * model_label names the model in errors. A model holds one adapter at a time. */
int fv_t5_lora_attach(fv_t5 *m, const char *adapter_dir, const char *model_label);
void fv_t5_lora_detach(fv_t5 *m);
/* Attach n modules (HF module paths) whose A [r, in] and B [out, r] are device buffers the caller
 * owns and keeps (LoRA training: a graph recorded while attached, e.g. the evaluator's, reads the
 * adapters being trained); detaching leaves them alone. */
int fv_t5_lora_attach_bufs(fv_t5 *m, uint32_t r, float scale, size_t n, const char *const *names, fv_buf *const *A,
                           fv_buf *const *B);

/* Whether an attached adapter targets the block's linear `which` (it then reads that linear's input). */
int fv_t5_lora_targets(const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which);

/* Record y[:, cols of each module of (b, which)] += s * (x A^T) B^T over rows rows of x (the
 * group's input, packed) and y (row stride ldy). Nothing when no module targets it. */
int fv_t5_lora_apply(fv_graph *g, const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which, fv_t x, fv_t y,
                     uint32_t rows, uint32_t ldy);

/* Where HF module path `name` ("decoder.block.1.layer.1.EncDecAttention.v") lives: block index
 * (encoder blocks first), fused group and slot in it, and the first output column of the group it
 * writes. -1 if it is not a linear layer of a block of m. (Also used by model/t5_lora_train.c.) */
int fv_t5_lora_locate(const fv_t5 *m, const char *name, uint32_t *blk, enum fv_t5_lin *which, int *slot,
                      uint32_t *col0);

#endif
