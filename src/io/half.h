/* IEEE binary16 (fp16) and bfloat16 <-> float32 conversions in plain C.
 * float32 -> 16-bit rounds to nearest, ties to even (what PyTorch's .half()/.bfloat16() and
 * numpy's astype do), overflows to infinity, keeps the sign of zero and turns NaN into a quiet
 * NaN. fp16 subnormals are produced and read exactly. Used by the safetensors reader/writer and
 * by the fp16 storage path of the model. */
#ifndef FV_IO_HALF_H
#define FV_IO_HALF_H

#include <stddef.h>
#include <stdint.h>

float fv_f16_to_f32(uint16_t h);
uint16_t fv_f32_to_f16(float f);
float fv_bf16_to_f32(uint16_t b);
uint16_t fv_f32_to_bf16(float f);

/* Array forms; src and dst must not overlap. */
void fv_f16_to_f32_n(float *dst, const uint16_t *src, size_t n);
void fv_f32_to_f16_n(uint16_t *dst, const float *src, size_t n);
void fv_bf16_to_f32_n(float *dst, const uint16_t *src, size_t n);
void fv_f32_to_bf16_n(uint16_t *dst, const float *src, size_t n);

#endif
