/* Reference relative-position bias lookup and table gradient, in double. */
#include "ref/relpos.h"

#include <stdlib.h>

int32_t fv_ref_relpos_lookup(const int32_t *lut, uint32_t L, int64_t rel) {
    if (rel < -(int64_t)L) rel = -(int64_t)L;
    if (rel > (int64_t)L) rel = L;
    return lut[rel + L];
}

void fv_ref_relpos_grad(const float *ds, const int32_t *pos_q, const int32_t *pos_k, const int32_t *lut, uint32_t L,
                        size_t B, size_t H, size_t Tq, size_t Tk, size_t nb, float *dtable) {
    double *acc = calloc(nb * H, sizeof *acc);
    if (!acc) return;
    for (size_t b = 0; b < B; b++)
        for (size_t h = 0; h < H; h++)
            for (size_t i = 0; i < Tq; i++)
                for (size_t j = 0; j < Tk; j++) {
                    int32_t bk = fv_ref_relpos_lookup(lut, L, (int64_t)pos_k[b * Tk + j] - pos_q[b * Tq + i]);
                    acc[(size_t)bk * H + h] += ds[((b * H + h) * Tq + i) * Tk + j];
                }
    for (size_t e = 0; e < nb * H; e++) dtable[e] = (float)(dtable[e] + acc[e]);
    free(acc);
}
