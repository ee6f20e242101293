/* Plain-C reference of the batched GEMM of ops/gemm.h, accumulating in double. */
#ifndef FV_REF_GEMM_H
#define FV_REF_GEMM_H

#include "ops/gemm.h"

/* Same descriptor as fv_gemm; a, b, c point at element 0 of their buffers and a_off, b_off,
 * c_off are the fv_t offsets. fp16 operands are passed as floats already rounded to fp16
 * (dtype fields are ignored). With beta == 0, c is not read. */
void fv_ref_gemm(const fv_gemm_desc *p, const float *a, uint32_t a_off, const float *b, uint32_t b_off, float *c,
                 uint32_t c_off);

#endif
