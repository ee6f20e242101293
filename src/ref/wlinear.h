/* Plain-C reference of the low-bit linear layer (ops/wlinear.h), accumulating in double. */
#ifndef FV_REF_WLINEAR_H
#define FV_REF_WLINEAR_H

#include <stdint.h>

#include "io/wpack.h"

/* y[rows, N] = alpha * x[rows, K] W^T + beta * y (beta = 0: y is not read), W [N, K] given as the packed
 * words of io/wpack.h (f32: the floats' bits) and dequantized exactly as fv_wunpack does; each
 * output is one double dot product rounded once to float. */
void fv_ref_linear_w(enum fv_wtype t, const uint32_t *data, const uint32_t *scales, uint32_t N, uint32_t K,
                     const float *x, float *y, uint32_t rows, float alpha, float beta);

/* Its input gradient: dx[rows, K] = alpha * dy[rows, N] W + beta * dx (dy packed; beta = 0: dx is
 * not read), one double sum per output rounded once. */
void fv_ref_linear_w_dx(enum fv_wtype t, const uint32_t *data, const uint32_t *scales, uint32_t N, uint32_t K,
                        const float *dy, float *dx, uint32_t rows, float alpha, float beta);

#endif
