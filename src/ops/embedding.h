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
/* Host-side validation of ids before upload: an error naming the first bad position. */
int fv_embedding_check_ids(const uint32_t *ids, uint32_t ntok, uint32_t vocab);

#endif
