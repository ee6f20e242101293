/* Casts between storage types. fp32 -> fp16 refreshes the fp16 shadow copies of weights that
 * mixed-precision training reads in its GEMMs (model/t5_train_step.h); the fp32 master weights
 * stay authoritative, so the cast has no backward.
 * Rounding: to nearest, ties to even; |x| >= 65520 becomes +-inf (torch's .half(), not
 * saturation); NaN stays NaN; fp16 subnormals exact (see shaders/cast_f16.comp). */
#ifndef FV_OPS_CAST_H
#define FV_OPS_CAST_H

#include "ops/op.h"

/* y[i] = half(x[i]) for i < n; x fp32, y fp16 (its offset counts fp16 elements). Needs 16-bit
 * storage (fv_dev.fp16). x and y must be different buffers. */
int fv_cast_f16(fv_graph *g, fv_t x, fv_t y, uint32_t n);

#endif
