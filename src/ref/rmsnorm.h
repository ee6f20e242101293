/* Plain-C reference of RMSNorm, accumulating in double. */
#ifndef FV_REF_RMSNORM_H
#define FV_REF_RMSNORM_H

#include <stddef.h>

void fv_ref_rmsnorm(const float *x, const float *w, float *y, size_t rows, size_t dim, float eps);
/* dx overwritten (or added to when accumulate), dw added to. */
void fv_ref_rmsnorm_back(const float *x, const float *w, const float *dy, float *dx, float *dw, size_t rows, size_t dim,
                         float eps, int accumulate);

#endif
