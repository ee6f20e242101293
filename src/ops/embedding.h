/* Embedding lookup and its backward.
 * Forward: out[t, :] = table[ids[t], :] for ntok uint32 ids into a [vocab, dim] table; out is
 * [ntok, dim] packed, overwritten. The host validates ids before upload (fv_embedding_check_ids);
 * the shader only guards: an id >= vocab yields a zero row, never an out-of-bounds read.
 * Backward: dtable[v, :] += sum of dout[t, :] over tokens with ids[t] = v (accumulates, as every
 * weight gradient; ids >= vocab skipped), deterministic: each element gets its terms in token
 * order, no float atomics (see shaders/embedding_back.comp). */
#ifndef FV_OPS_EMBEDDING_H
#define FV_OPS_EMBEDDING_H

#include "ops/op.h"

int fv_embedding(fv_graph *g, fv_t table, fv_t ids, fv_t out, uint32_t ntok, uint32_t vocab, uint32_t dim);
int fv_embedding_back(fv_graph *g, fv_t ids, fv_t dout, fv_t dtable, uint32_t ntok, uint32_t vocab, uint32_t dim);
/* The same over one row piece of a table too large for one storage buffer (ops/rowsplit.h):
 * `table` / `dtable` hold rows first .. first + nrows - 1. Forward: tokens with ids in the piece
 * get their row; others get zeros (keep = 0, the first piece) or keep what an earlier piece wrote
 * (keep = 1). Backward: only tokens with ids in the piece add to it. Every element sees the same
 * arithmetic as with the whole table, so results are bit-identical. */
int fv_embedding_rows(fv_graph *g, fv_t table, uint32_t first, uint32_t nrows, int keep, fv_t ids, fv_t out,
                      uint32_t ntok, uint32_t dim);
int fv_embedding_back_rows(fv_graph *g, fv_t ids, fv_t dout, fv_t dtable, uint32_t first, uint32_t nrows, uint32_t ntok,
                           uint32_t dim);
/* Host-side validation of ids before upload: an error naming the first bad position. */
int fv_embedding_check_ids(const uint32_t *ids, uint32_t ntok, uint32_t vocab);

#endif
