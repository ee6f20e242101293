/* Plain-C reference of the embedding lookup and its backward (ids >= vocab: zero row / skipped). */
#ifndef FV_REF_EMBEDDING_H
#define FV_REF_EMBEDDING_H

#include <stddef.h>
#include <stdint.h>

void fv_ref_embedding(const float *table, const uint32_t *ids, float *out, size_t ntok, size_t vocab, size_t dim);
/* dtable += scatter of dout; terms added in token order. */
void fv_ref_embedding_back(const uint32_t *ids, const float *dout, float *dtable, size_t ntok, size_t vocab, size_t dim);
/* One row piece (rows first .. first + nrows - 1) of a split table, as ops/embedding.h's *_rows:
 * ids outside it give zero rows (keep = 0) or leave out untouched (keep = 1); backward skips them. */
void fv_ref_embedding_rows(const float *table, size_t first, size_t nrows, int keep, const uint32_t *ids, float *out,
                           size_t ntok, size_t dim);
void fv_ref_embedding_back_rows(const uint32_t *ids, const float *dout, float *dtable, size_t first, size_t nrows,
                                size_t ntok, size_t dim);

#endif
