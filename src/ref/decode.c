/* References for ops/decode.h and ops/dropout.h. */
#include "ref/decode.h"

#include <string.h>

#include "ref/cast.h"
#include "ref/hash.h"

void fv_ref_kv_append(const float *src, uint32_t step, float *cache, size_t batch, size_t width, size_t src_stride,
                      size_t row_stride, size_t batch_stride, size_t tmax) {
    if (step >= tmax) return;
    for (size_t b = 0; b < batch; b++)
        memcpy(cache + b * batch_stride + step * row_stride, src + b * src_stride, width * sizeof *src);
}

void fv_ref_kv_append_f16(const float *src, uint32_t step, uint16_t *cache, size_t batch, size_t width,
                          size_t src_stride, size_t row_stride, size_t batch_stride, size_t tmax) {
    if (step >= tmax) return;
    for (size_t b = 0; b < batch; b++)
        fv_ref_cast_f16(src + b * src_stride, cache + b * batch_stride + step * row_stride, width);
}

void fv_ref_argmax(const float *x, uint32_t *out, size_t rows, size_t cols, size_t stride) {
    for (size_t r = 0; r < rows; r++) {
        size_t best = 0;
        for (size_t j = 1; j < cols; j++)
            if (x[r * stride + j] > x[r * stride + best]) best = j;
        out[r] = (uint32_t)best;
    }
}

void fv_ref_gather_rows(const float *src, const uint32_t *idx, float *dst, size_t rows, size_t width, size_t src_rows) {
    for (size_t i = 0; i < rows; i++) {
        if (idx[i] < src_rows) memcpy(dst + i * width, src + (size_t)idx[i] * width, width * sizeof *dst);
        else memset(dst + i * width, 0, width * sizeof *dst);
    }
}

void fv_ref_dropout(const float *x, uint32_t seed, float *y, size_t n, uint32_t salt, float rate) {
    float scale = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < n; i++) {
        uint32_t h = fv_hash3(seed, salt, (uint32_t)i);
        int keep = (float)(h >> 8) * (1.0f / 16777216.0f) >= rate;
        y[i] = keep ? x[i] * scale : 0.0f;
    }
}
