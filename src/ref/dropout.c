/* Reference of the fused residual dropout-add; see ref/dropout.h. */
#include "ref/dropout.h"

void fv_ref_dropout_add(float *x, const float *y, uint32_t seed, size_t n, uint32_t salt, float rate) {
    float scale = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < n; i++)
        if (fv_ref_dropout_keep(seed, salt, (uint32_t)i, rate)) x[i] = (float)((double)x[i] + (double)(y[i] * scale));
}
