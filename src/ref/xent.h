/* Plain-C reference of softmax cross-entropy (see ops/xent.h for the conventions), in double. */
#ifndef FV_REF_XENT_H
#define FV_REF_XENT_H

#include <stddef.h>
#include <stdint.h>

/* loss[r] per row; dl (may be NULL) = (softmax - onehot) * scale; ignored rows: 0. */
void fv_ref_xent(const float *x, const int32_t *labels, float *loss, float *dl, size_t rows, size_t vocab, float scale);
/* Sum of losses over valid rows (in double) and their count. */
double fv_ref_xent_sum(const float *loss, const int32_t *labels, size_t rows, size_t vocab, size_t *count);

#endif
