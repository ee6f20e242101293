/* The transpose reference; see transpose.h. */
#include "ref/transpose.h"

#include <stddef.h>

#include "ref/cast.h"

void fv_ref_transpose(const float *x, float *y, uint32_t rows, uint32_t cols) {
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) y[c * rows + r] = x[r * cols + c];
}

void fv_ref_transpose_f16(const float *x, uint16_t *y, uint32_t rows, uint32_t cols) {
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) y[c * rows + r] = fv_ref_f16_bits(x[r * cols + c]);
}
