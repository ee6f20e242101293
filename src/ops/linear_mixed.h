/* Linear layers whose weight may be stored in fp16 (the shadow copies of mixed-precision
 * training, model/t5_train_step.h): the same products as fv_linear / fv_linear_back (ops/gemm.h)
 * with the weight operand read as w_dtype. Activations, outputs and the weight gradient stay
 * fp32 and every sum accumulates in fp32, so only the weight's rounding to fp16 differs.
 * The weight gradient dW += dy^T x never reads W, so it is the fp32 product in both cases. */
#ifndef FV_OPS_LINEAR_MIXED_H
#define FV_OPS_LINEAR_MIXED_H

#include "ops/gemm.h"

/* y[rows, out] = x[rows, in] W^T + beta * y, W [out, in] stored as w_dtype (packed). */
int fv_linear_wt(fv_graph *g, fv_t x, fv_t w, enum fv_dtype w_dtype, fv_t y, uint32_t rows, uint32_t in, uint32_t out,
                 float beta);
/* The same product with the weight stored transposed, wt = W^T [in, out] (packed), as w_dtype:
 * an NN GEMM. The training forward uses it on texel devices with copies made by ops/transpose.h,
 * because there the NT product (each lane walking its own rows of W) is 7-28% slower. */
int fv_linear_wt_tr(fv_graph *g, fv_t x, fv_t wt, enum fv_dtype w_dtype, fv_t y, uint32_t rows, uint32_t in,
                    uint32_t out, float beta);
/* dx = dy W (+ dx if accumulate_dx) reading W as w_dtype; dW += dy^T x (fp32). NULL dx / dw
 * buffers skip that product, as in fv_linear_back. */
int fv_linear_back_wt(fv_graph *g, fv_t x, fv_t w, enum fv_dtype w_dtype, fv_t dy, fv_t dx, fv_t dw, uint32_t rows,
                      uint32_t in, uint32_t out, int accumulate_dx);

#endif
