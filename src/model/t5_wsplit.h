/* A block's linear weight too large for one storage buffer, and the products over it.
 *
 * Why: every binding must fit maxStorageBufferRange and every allocation maxMemoryAllocationSize
 * (1 GiB on Intel's Windows driver, 2 GiB on AMD's, 128 MiB on lavapipe and Android's minimum);
 * flan-t5-xxl's fused gated wi [20480, 4096] is 335 MB in fp32. Such a group is not fused: each of
 * its HF tensors (q, k, v; k, v; wi_0, wi_1; or the only one) is a row split of its own
 * (ops/rowsplit.h, rows = output features), kept in fv_t5_block.part, and the table entry of the
 * tensor names that split, as for the vocabulary tables: loading, saving, the optimizers (AdamW
 * per piece, Adafactor's factored statistics over the pieces in unsplit order), gradient norms and
 * data-parallel spans all take it from there. A group that fits stays one fused buffer and records
 * exactly the dispatches it always did.
 *
 * Products: y = x W^T computes each piece's output columns with the kernel the whole weight would
 * use (fp32 GEMM, or ops/wlinear.h for f16 / bf16 / q8 pieces), so the forward is bit-identical to
 * the unsplit one wherever the same kernel is chosen; the input gradient dx = dy W sums the pieces'
 * partial products one after another (fp32 rounding differs from the unsplit sum); each piece's
 * weight gradient is its own rows' dy^T x. Training reads the fp32 masters of a split weight (no
 * fp16 shadow and no transposed forward copy: both would be as large as the master). */
#ifndef FV_MODEL_T5_WSPLIT_H
#define FV_MODEL_T5_WSPLIT_H

#include "model/t5.h"

/* Whether a [rows, cols] weight of type t must be split on d (more than one row piece). */
int fv_t5_wsplit_needed(const fv_dev *d, enum fv_wtype t, uint32_t rows, uint32_t cols);
/* The number of HF tensors linear `which` of b is split into; 0 when it is one fused buffer. */
uint32_t fv_t5_wsplit_parts(const fv_t5_block *b, enum fv_t5_lin which);
/* Allocate part k ([rows, cols] of type t, named by its HF tensor) of linear `which` of b. */
int fv_t5_wsplit_alloc(fv_dev *d, fv_t5_block *b, enum fv_t5_lin which, uint32_t k, enum fv_wtype t, uint32_t rows,
                       uint32_t cols, const char *name);
/* Allocate gradient parts split like the model block's (fp32, named "grad <tensor>"). */
int fv_t5_wsplit_alloc_like(fv_dev *d, const fv_t5_block *model, fv_t5_block *grad);
void fv_t5_wsplit_free(fv_dev *d, fv_t5_block *b);
/* The grad block's split twin of split `s` of the model block (NULL: s is not one of its parts). */
const fv_rowsplit *fv_t5_wsplit_twin(const fv_t5_block *model, const fv_t5_block *grad, const fv_rowsplit *s);

/* y[rows, out] = x[rows, in] W^T + beta * y over a split linear, any storage type. */
int fv_t5_wsplit_linear(fv_graph *g, const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which, fv_t x, fv_t y,
                        uint32_t rows, float beta);
/* Its backward: dx[rows, in] = dy W (+ dx when acc; dx.buf NULL: skipped), dy [rows, out] packed;
 * gb NULL: no weight gradient, else the gradient block's parts get dW += dy^T x (fp32 only).
 * Typed weights pass the input gradient through fv_linear_w_dx with the fp32 scratch. */
int fv_t5_wsplit_linear_back(fv_graph *g, const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which, fv_t x, fv_t dy,
                             fv_t dx, const fv_t5_block *gb, uint32_t rows, int acc, fv_t scratch,
                             uint32_t scratch_floats);

#endif
