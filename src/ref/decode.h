/* Plain-C references of the decode-loop ops (ops/decode.h) and dropout (ops/dropout.h). */
#ifndef FV_REF_DECODE_H
#define FV_REF_DECODE_H

#include <stddef.h>
#include <stdint.h>

void fv_ref_kv_append(const float *src, uint32_t step, float *cache, size_t batch, size_t width, size_t src_stride,
                      size_t row_stride, size_t batch_stride, size_t tmax);
/* The same into an fp16 cache (bits), each value rounded as fv_ref_f16_bits. */
void fv_ref_kv_append_f16(const float *src, uint32_t step, uint16_t *cache, size_t batch, size_t width,
                          size_t src_stride, size_t row_stride, size_t batch_stride, size_t tmax);
void fv_ref_argmax(const float *x, uint32_t *out, size_t rows, size_t cols, size_t stride);
void fv_ref_gather_rows(const float *src, const uint32_t *idx, float *dst, size_t rows, size_t width, size_t src_rows);
void fv_ref_dropout(const float *x, uint32_t seed, float *y, size_t n, uint32_t salt, float rate);

#endif
