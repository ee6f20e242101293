/* Shared choices of the vec4 fast paths of the elementwise kernels (AdamW, Adafactor's apply,
 * dropout, gated GELU, ...; see shaders/common/vec4io.glsl): when the path applies, whether its
 * inputs can be read through RGBA32F texel views, and its workgroup shape.
 * FLANVK_ELEM_VEC4=0 turns the vec4 paths off (the scalar shaders then do everything). */
#ifndef FV_OPS_ELEM_VEC4_H
#define FV_OPS_ELEM_VEC4_H

#include "ops/op.h"

/* Whether the vec4 path applies: n >= 4, all `noff` element offsets multiples of 4, not disabled. */
int fv_elem_vec4_ok(const fv_dev *d, uint32_t n, uint32_t noff, const uint32_t *offs);

/* Whether b's whole range fits one RGBA32F texel view on this device. */
int fv_elem_texel_ok(const fv_dev *d, const fv_buf *b);

/* Set spec constants 0 (workgroup size) and 1 (vec4s per invocation) of an elementwise vec4 shader;
 * desc->nspec becomes 2. A workgroup covers spec[0] * spec[1] vec4s. */
void fv_elem_vec4_spec(const fv_dev *d, fv_pipe_desc *desc);

#endif
