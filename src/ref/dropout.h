/* Plain-C references of the fused residual dropout-add (ops/dropout.h) and the dropout mask
 * itself (the same hash as shaders/common/hash.glsl), shared by the attention reference's
 * dropout on the probabilities. fv_ref_dropout (the plain op) lives in ref/decode.h. */
#ifndef FV_REF_DROPOUT_H
#define FV_REF_DROPOUT_H

#include <stddef.h>
#include <stdint.h>

#include "ref/hash.h"

/* 1 if element i survives dropout at `rate` with (seed, salt). */
static inline int fv_ref_dropout_keep(uint32_t seed, uint32_t salt, uint32_t i, float rate) {
    return (float)(fv_hash3(seed, salt, i) >> 8) * (1.0f / 16777216.0f) >= rate;
}

/* x[i] += keep ? y[i] / (1 - rate) : 0, as the shader rounds it (fp32 product, fp32 sum). */
void fv_ref_dropout_add(float *x, const float *y, uint32_t seed, size_t n, uint32_t salt, float rate);

#endif
