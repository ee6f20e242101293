/* Trainable LoRA adapters inside the recorded T5 training step (issue #13): the frozen base keeps
 * its weights (no gradients, no optimizer state); every targeted linear layer computes, as PEFT's
 * lora.Linear does (io/peft.h),
 *     y = W x + s * B A dropout(x),      s = lora_alpha / r, A [r, in], B [out, r] fp32,
 * and its backward
 *     u = dropout(x)   t = u A^T [rows, r]   dt = s dy B [rows, r]
 *     dB += s dy^T t   dA += dt^T u          dx += dropout'(dt A)  (the mask of the forward)
 * on top of the base layer's dx = dy W. The training step (t5_train_fwd.c, t5_backward.c) calls
 * fv_t5_lora_train_fwd after each base product and fv_t5_lora_train_back after each base
 * input-gradient product; nothing else there knows about adapters.
 *
 * Kept per module for the backward: t (rows x r floats, tiny) in buffers of its own, so a
 * checkpointed block's recompute (which runs the forward again, rewriting them with the same
 * values) and the stored run agree bit for bit. u is not kept: with dropout the backward redraws
 * it from x (kept or recomputed by the step) with the same (seed, salt) as the forward, one salt
 * per module (PEFT gives every lora.Linear its own dropout); without dropout u = x.
 *
 * The trainer sees the adapters as a table of trainable tensors (fv_t5_param, names = PEFT's keys
 * "base_model.model.<module>.lora_A.weight", matrix = 1 so Adafactor factors A and B as HF does)
 * with a parallel table of their gradients: the optimizer, the gradient norm and the checkpoint's
 * state take it exactly as they take the full model's. */
#ifndef FV_MODEL_T5_LORA_TRAIN_H
#define FV_MODEL_T5_LORA_TRAIN_H

#include "io/peft.h"
#include "model/t5.h"
#include "ops/gradnorm.h"

typedef struct fv_t5_lora_train fv_t5_lora_train;

/* Upload adapter a (from fv_peft_init or fv_peft_load against m's config: modules in state_dict
 * order, A and B filled) as trainable tensors of model m, with zeroed gradients. dropout is the
 * adapter branch's dropout (a->cfg.lora_dropout is what the caller usually passes). */
int fv_t5_lora_train_create(fv_t5 *m, const fv_peft_adapter *a, fv_t5_lora_train **out);
void fv_t5_lora_train_free(fv_t5_lora_train *lt);

/* Size the per-step buffers for batches of B rows of Te / Td tokens (again on each new shape). */
int fv_t5_lora_train_bind(fv_t5_lora_train *lt, uint32_t B, uint32_t Te, uint32_t Td);

/* The trainable tensors and their gradients, parallel tables of n entries. */
void fv_t5_lora_train_tensors(const fv_t5_lora_train *lt, const fv_t5_param **params, const fv_t5_param **grads,
                              size_t *n);
/* Record zeroing of every adapter gradient. */
int fv_t5_lora_train_zero_grads(fv_graph *g, const fv_t5_lora_train *lt);
/* A gradient-norm plan over every adapter gradient. */
int fv_t5_lora_train_norm_plan(const fv_t5_lora_train *lt, fv_gradnorm_plan **out);

/* Forward of the adapters of block l's group `which` (decoder: the decoder stack): y[:, cols of
 * each module] += s (dropout(x) A^T) B^T; x [rows, in] packed, y with row stride ldy. seed: the
 * step's dropout seed. Nothing when no module targets the group. */
int fv_t5_lora_train_fwd(fv_graph *g, const fv_t5_lora_train *lt, fv_t seed, int decoder, int l, enum fv_t5_lin which,
                         fv_t x, fv_t y, uint32_t rows, uint32_t ldy);
/* Its backward from dy (row stride ldy, the group's columns): dA, dB accumulated, dx [rows, in]
 * += the adapters' input gradient. x is the forward's input (as the forward saw it). */
int fv_t5_lora_train_back(fv_graph *g, const fv_t5_lora_train *lt, fv_t seed, int decoder, int l, enum fv_t5_lin which,
                          fv_t x, fv_t dy, uint32_t ldy, fv_t dx, uint32_t rows);

/* The adapter as it is now on the device (config as given at creation, A and B read back) written
 * as a PEFT directory (io/peft.h fv_peft_save: atomic per file). */
int fv_t5_lora_train_save(const fv_t5_lora_train *lt, const char *dir);
/* The adapter's config (r, alpha, dropout, targets as created). */
const fv_peft_config *fv_t5_lora_train_config(const fv_t5_lora_train *lt);
/* Attach the adapters being trained to the model for inference (model/t5_lora.h, sharing A and B,
 * no dropout): graphs recorded until fv_t5_lora_detach (e.g. the evaluator's forward) apply them
 * as they are at each replay. (The training step's own products use fv_t5_linear_base and its
 * own adapter terms, so they never apply an attached adapter twice.) */
int fv_t5_lora_train_share(const fv_t5_lora_train *lt);
/* Whether some module of the model is adapted. */
int fv_t5_lora_train_any(const fv_t5_lora_train *lt, int decoder, int l, enum fv_t5_lin which);

#endif
