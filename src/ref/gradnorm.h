/* Plain-C reference of the global gradient norm and clipping, in double. */
#ifndef FV_REF_GRADNORM_H
#define FV_REF_GRADNORM_H

#include <stddef.h>

double fv_ref_gradnorm(float *const *tensors, const size_t *lens, size_t n);
/* Every tensor *= min(1, max_norm / (norm + 1e-6)); returns the factor used. */
double fv_ref_clip(float *const *tensors, const size_t *lens, size_t n, double norm, double max_norm);

#endif
