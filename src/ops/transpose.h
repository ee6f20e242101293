/* Transpose of an fp32 matrix, optionally rounding to fp16 on the way (the same round to nearest
 * even as ops/cast.h). The training forward on texel devices reads W^T copies of its projection
 * weights made by it at the start of every forward, so its products are NN GEMMs, which read B
 * along rows instead of each lane walking its own rows of W (model/t5_train_step.h).
 * No backward: the copies are derived data, their gradient flows to the masters directly. */
#ifndef FV_OPS_TRANSPOSE_H
#define FV_OPS_TRANSPOSE_H

#include "ops/gemm.h"

/* y[c * rows + r] = x[r * cols + c] for x fp32 [rows, cols] (packed) and y [cols, rows] of
 * y_dtype (FV_F16 needs 16-bit storage, fv_dev.fp16; y's offset then counts fp16 elements).
 * x and y must be different buffers; rows * cols < 2^32. rows or cols 0 records nothing. */
int fv_transpose(fv_graph *g, fv_t x, fv_t y, uint32_t rows, uint32_t cols, enum fv_dtype y_dtype);

#endif
