/* Reference RMSNorm (HF T5LayerNorm) forward and backward, in double. */
#include "ref/rmsnorm.h"

#include <math.h>
#include <stdlib.h>

static double inv_rms(const float *x, size_t dim, float eps) {
    double ss = 0;
    for (size_t j = 0; j < dim; j++) ss += (double)x[j] * x[j];
    return 1.0 / sqrt(ss / (double)dim + eps);
}

void fv_ref_rmsnorm(const float *x, const float *w, float *y, size_t rows, size_t dim, float eps) {
    for (size_t i = 0; i < rows; i++) {
        const float *xr = x + i * dim;
        double r = inv_rms(xr, dim, eps);
        for (size_t j = 0; j < dim; j++) y[i * dim + j] = (float)(w[j] * (xr[j] * r));
    }
}

void fv_ref_rmsnorm_back(const float *x, const float *w, const float *dy, float *dx, float *dw, size_t rows, size_t dim,
                         float eps, int accumulate) {
    double *acc = calloc(dim, sizeof *acc);
    for (size_t i = 0; i < rows; i++) {
        const float *xr = x + i * dim, *dyr = dy + i * dim;
        double r = inv_rms(xr, dim, eps), gx = 0;
        for (size_t j = 0; j < dim; j++) gx += (double)w[j] * dyr[j] * xr[j];
        double c = gx * r * r / (double)dim;
        for (size_t j = 0; j < dim; j++) {
            double v = r * ((double)w[j] * dyr[j] - xr[j] * c);
            dx[i * dim + j] = (float)(accumulate ? dx[i * dim + j] + v : v);
            if (acc) acc[j] += (double)dyr[j] * xr[j] * r;
        }
    }
    for (size_t j = 0; acc && j < dim; j++) dw[j] = (float)(dw[j] + acc[j]);
    free(acc);
}
