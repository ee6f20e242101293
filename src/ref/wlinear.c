/* Reference low-bit linear layer: dequantize the whole weight once (io/wpack.c), then one double
 * dot product per output. */
#include "ref/wlinear.h"

#include <math.h>
#include <stdlib.h>

void fv_ref_linear_w(enum fv_wtype t, const uint32_t *data, const uint32_t *scales, uint32_t N, uint32_t K,
                     const float *x, float *y, uint32_t rows, float alpha, float beta) {
    float *w = malloc((size_t)N * K * sizeof *w);
    if (!w) { /* cannot compute: leave NaN so the comparison fails loudly rather than passes */
        for (size_t i = 0; i < (size_t)rows * N; i++) y[i] = NAN;
        return;
    }
    fv_wunpack(t, data, scales, N, K, w);
    for (size_t m = 0; m < rows; m++)
        for (size_t n = 0; n < N; n++) {
            double s = 0;
            for (size_t k = 0; k < K; k++) s += (double)x[m * K + k] * w[n * K + k];
            s *= alpha;
            if (beta != 0.0f) s += (double)beta * y[m * N + n];
            y[m * N + n] = (float)s;
        }
    free(w);
}

void fv_ref_linear_w_dx(enum fv_wtype t, const uint32_t *data, const uint32_t *scales, uint32_t N, uint32_t K,
                        const float *dy, float *dx, uint32_t rows, float alpha, float beta) {
    float *w = malloc((size_t)N * K * sizeof *w);
    if (!w) {
        for (size_t i = 0; i < (size_t)rows * K; i++) dx[i] = NAN;
        return;
    }
    fv_wunpack(t, data, scales, N, K, w);
    for (size_t m = 0; m < rows; m++)
        for (size_t k = 0; k < K; k++) {
            double s = 0;
            for (size_t n = 0; n < N; n++) s += (double)dy[m * N + n] * w[n * K + k];
            s *= alpha;
            if (beta != 0.0f) s += (double)beta * dx[m * K + k];
            dx[m * K + k] = (float)s;
        }
    free(w);
}
