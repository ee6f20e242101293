/* Plain-C reference of the transpose (shaders/transpose.comp): y[c * rows + r] = x[r * cols + c],
 * fp32 out, or fp16 bits rounded by the double-arithmetic reference of ref/cast.h. */
#ifndef FV_REF_TRANSPOSE_H
#define FV_REF_TRANSPOSE_H

#include <stdint.h>

void fv_ref_transpose(const float *x, float *y, uint32_t rows, uint32_t cols);
void fv_ref_transpose_f16(const float *x, uint16_t *y, uint32_t rows, uint32_t cols);

#endif
