/* RMSNorm as T5 uses it (T5LayerNorm): y = w * x / sqrt(mean(x^2) + eps), rows x dim, fp32. */
#ifndef FV_OPS_RMSNORM_H
#define FV_OPS_RMSNORM_H

#include "ops/op.h"

int fv_rmsnorm(fv_graph *g, fv_t x, fv_t w, fv_t y, uint32_t rows, uint32_t dim, float eps);
/* dx = d/dx (overwritten, or added to when accumulate); dw += d/dw. `scratch` holds rows floats. */
int fv_rmsnorm_back(fv_graph *g, fv_t x, fv_t w, fv_t dy, fv_t dx, fv_t dw, fv_t scratch, uint32_t rows,
                    uint32_t dim, float eps, int accumulate);

#endif
