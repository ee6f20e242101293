/* Plain-C reference of the attention block ranges (ops/attn_ranges.h): brute force over every
 * (query, key) pair with the mask of ops/attention.h. */
#ifndef FV_REF_ATTN_RANGES_H
#define FV_REF_ATTN_RANGES_H

#include <stdint.h>

#include "ops/attn_desc.h"

/* Key j visible to query i of batch row b under a's mask. */
int fv_ref_attn_visible(const fv_attn_desc *a, const int32_t *seg_q, const int32_t *seg_k, uint32_t b, uint32_t i,
                        uint32_t j);
/* The number of visible (query, key) pairs over all batch rows (the attention FLOPs of a packed
 * batch are 4 * H * dk per pair). */
double fv_ref_attn_pairs(const fv_attn_desc *a, const int32_t *seg_q, const int32_t *seg_k);
/* ranges: 2 * B * (ceil(Tq / 16) + ceil(Tk / 16)) uint32, laid out as ops/attn_ranges.h says. */
void fv_ref_attn_ranges(const fv_attn_desc *a, const int32_t *seg_q, const int32_t *seg_k, uint32_t *ranges);

#endif
