/* Plain-C reference of the fp32 -> fp16 cast (shaders/cast_f16.comp), computed in double
 * arithmetic (frexp and rint) rather than by bit manipulation, so that it checks the shader's
 * integer rounding by a different route: round to nearest, ties to even; |x| >= 65520 becomes
 * +-inf (torch's .half()); NaN becomes a quiet NaN keeping its sign and top 9 payload bits. */
#ifndef FV_REF_CAST_H
#define FV_REF_CAST_H

#include <stddef.h>
#include <stdint.h>

uint16_t fv_ref_f16_bits(float x);
void fv_ref_cast_f16(const float *x, uint16_t *y, size_t n);
/* The value of fp16 bits h (exact in float), and x rounded through fp16 (fv_ref_f16_bits, back):
 * what an fp16 KV cache gives back for x. */
float fv_ref_f16_value(uint16_t h);
float fv_ref_round_f16(float x);

#endif
