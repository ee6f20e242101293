/* Reference global gradient norm and clipping (torch.nn.utils.clip_grad_norm_ semantics). */
#include "ref/gradnorm.h"

#include <math.h>

double fv_ref_gradnorm(float *const *tensors, const size_t *lens, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < lens[i]; j++) s += (double)tensors[i][j] * tensors[i][j];
    return sqrt(s);
}

double fv_ref_clip(float *const *tensors, const size_t *lens, size_t n, double norm, double max_norm) {
    double f = max_norm / (norm + 1e-6);
    if (f > 1) f = 1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < lens[i]; j++) tensors[i][j] = (float)(tensors[i][j] * f);
    return f;
}
