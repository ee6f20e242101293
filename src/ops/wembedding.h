/* Embedding lookup from a table stored as a low-bit weight (ops/wlinear.h fv_weight: f16, bf16
 * or q8 words, io/wpack.h): out[t, :] = W(ids[t] - first, :) dequantized exactly as fv_wunpack
 * does, fp32 out. The embedding of a model whose vocabulary tables are 16-bit (`--weights`) is
 * looked up here; the table may be one row piece of a split table (ops/rowsplit.h): tokens whose
 * id is outside [first, first + table->rows) get a zero row (keep = 0) or keep what an earlier
 * piece wrote (keep = 1), as fv_embedding_rows. f32 tables go to fv_embedding_rows unchanged. */
#ifndef FV_OPS_WEMBEDDING_H
#define FV_OPS_WEMBEDDING_H

#include "ops/wlinear.h"

int fv_embedding_w(fv_graph *g, const fv_weight *table, uint32_t first, int keep, fv_t ids, fv_t out, uint32_t ntok);

#endif
