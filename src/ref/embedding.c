/* Reference embedding lookup and backward. The backward sums in double per table element and
 * rounds once, so it is the exact sum the device's in-order fp32 sum approximates. */
#include "ref/embedding.h"

#include <stdlib.h>

void fv_ref_embedding(const float *table, const uint32_t *ids, float *out, size_t ntok, size_t vocab, size_t dim) {
    fv_ref_embedding_rows(table, 0, vocab, 0, ids, out, ntok, dim);
}

void fv_ref_embedding_rows(const float *table, size_t first, size_t nrows, int keep, const uint32_t *ids, float *out,
                           size_t ntok, size_t dim) {
    for (size_t t = 0; t < ntok; t++) {
        int in = ids[t] >= first && ids[t] - first < nrows;
        if (!in && keep) continue;
        for (size_t c = 0; c < dim; c++) out[t * dim + c] = in ? table[(ids[t] - first) * dim + c] : 0.0f;
    }
}

void fv_ref_embedding_back_rows(const uint32_t *ids, const float *dout, float *dtable, size_t first, size_t nrows,
                                size_t ntok, size_t dim) {
    uint32_t *local = malloc((ntok ? ntok : 1) * sizeof *local);
    if (!local) return;
    /* ids outside the piece become nrows, which the whole-table backward skips */
    for (size_t t = 0; t < ntok; t++) local[t] = ids[t] >= first && ids[t] - first < nrows ? (uint32_t)(ids[t] - first) : (uint32_t)nrows;
    fv_ref_embedding_back(local, dout, dtable, ntok, nrows, dim);
    free(local);
}

void fv_ref_embedding_back(const uint32_t *ids, const float *dout, float *dtable, size_t ntok, size_t vocab, size_t dim) {
    double *acc = calloc(vocab * dim, sizeof *acc);
    unsigned char *hit = calloc(vocab, 1);
    if (!acc || !hit) {
        free(acc);
        free(hit);
        return;
    }
    for (size_t t = 0; t < ntok; t++) {
        if (ids[t] >= vocab) continue;
        hit[ids[t]] = 1;
        for (size_t c = 0; c < dim; c++) acc[(size_t)ids[t] * dim + c] += dout[t * dim + c];
    }
    for (size_t v = 0; v < vocab; v++)
        if (hit[v])
            for (size_t c = 0; c < dim; c++) dtable[v * dim + c] = (float)(dtable[v * dim + c] + acc[v * dim + c]);
    free(acc);
    free(hit);
}
