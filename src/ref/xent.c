/* Reference softmax cross-entropy with the max subtracted (log-sum-exp), in double. */
#include "ref/xent.h"

#include <math.h>

static int valid(int32_t lab, size_t vocab) { return lab >= 0 && (size_t)lab < vocab; }

void fv_ref_xent(const float *x, const int32_t *labels, float *loss, float *dl, size_t rows, size_t vocab, float scale) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * vocab;
        float *dr = dl ? dl + r * vocab : NULL;
        if (!valid(labels[r], vocab)) {
            loss[r] = 0;
            for (size_t j = 0; dr && j < vocab; j++) dr[j] = 0;
            continue;
        }
        double m = -INFINITY, s = 0;
        for (size_t j = 0; j < vocab; j++) m = xr[j] > m ? xr[j] : m;
        for (size_t j = 0; j < vocab; j++) s += exp((double)xr[j] - m);
        loss[r] = (float)(log(s) - ((double)xr[labels[r]] - m));
        for (size_t j = 0; dr && j < vocab; j++)
            dr[j] = (float)((exp((double)xr[j] - m) / s - (j == (size_t)labels[r] ? 1.0 : 0.0)) * scale);
    }
}

double fv_ref_xent_sum(const float *loss, const int32_t *labels, size_t rows, size_t vocab, size_t *count) {
    double s = 0;
    size_t n = 0;
    for (size_t r = 0; r < rows; r++)
        if (valid(labels[r], vocab)) {
            s += loss[r];
            n++;
        }
    *count = n;
    return s;
}
