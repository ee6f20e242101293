/* Plain-C reference of the T5 relative-position bias lookup and of its table gradient. */
#ifndef FV_REF_RELPOS_H
#define FV_REF_RELPOS_H

#include <stddef.h>
#include <stdint.h>

/* The bucket of rel through a LUT of radius L, clamped as the kernels clamp. */
int32_t fv_ref_relpos_lookup(const int32_t *lut, uint32_t L, int64_t rel);

/* dtable[bucket*H + h] += sum over (b, i, j) with that bucket of ds[((b*H + h)*Tq + i)*Tk + j],
 * in double. pos_q is [B, Tq], pos_k [B, Tk]. */
void fv_ref_relpos_grad(const float *ds, const int32_t *pos_q, const int32_t *pos_k, const int32_t *lut, uint32_t L,
                        size_t B, size_t H, size_t Tq, size_t Tk, size_t nb, float *dtable);

#endif
