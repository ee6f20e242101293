/* Incremental decoding: the encoder and every layer's cross-attention keys/values run once per
 * batch of prompts (prefill); then one decode step, recorded once, is replayed for each new
 * token. A step reads its inputs from device buffers written by the host before the replay:
 * the token of each row, the step index (where the K/V cache is appended and the query position),
 * the self-attention mask over the cache, and for beam search the parent row of each row (the
 * caches are reordered by it inside the step). The host reads back the logits of each row.
 *
 * Rows: R = number of prompts x beams; the caller replicates each prompt per beam. */
#ifndef FV_MODEL_T5_DECODE_H
#define FV_MODEL_T5_DECODE_H

#include "model/t5.h"
#include "vk/graph.h"

typedef struct fv_t5_dec fv_t5_dec;

/* R rows, prompts of at most Te tokens, at most tmax decoder positions; beams: record the cache
 * reordering (beam search). */
int fv_t5_dec_create(fv_t5 *m, uint32_t R, uint32_t Te, uint32_t tmax, int beams, fv_t5_dec **out);
void fv_t5_dec_free(fv_t5_dec *s);
/* Bytes per row of the largest buffer of a decode state (every buffer grows with the rows; the
 * logits come in row chunks), so at most maxStorageBufferRange / this rows fit one state. */
uint64_t fv_t5_dec_row_bytes(const fv_t5 *m, uint32_t Te, uint32_t tmax);

/* Encode R prompts (ids[r] of lens[r] tokens each, </s> included) and fill the cross-attention
 * caches. Also resets the self-attention caches. */
int fv_t5_dec_prefill(fv_t5_dec *s, const uint32_t *const *ids, const uint32_t *lens);

/* One step at position step (0 = the decoder start token): tokens[r] is row r's input token;
 * parent[r] (beam search, else NULL) is the row whose cache row r continues. Writes R x vocab
 * logits to `logits` (host memory). */
int fv_t5_dec_step(fv_t5_dec *s, uint32_t step, const uint32_t *tokens, const uint32_t *parent, float *logits);

/* The recorded step graph: replaying it redoes the last fv_t5_dec_step's device work alone, with
 * no upload or read-back (bench generate --profile times it). */
fv_graph *fv_t5_dec_step_graph(fv_t5_dec *s);

/* Greedy pick on the host: the first index of the largest of x[0..n-1] (NaNs never win; all-NaN
 * gives 0). Kept branch-free over 16 running maxima so the compiler vectorizes it: ~6 us for
 * 32128 logits against ~100 us for the plain compare-and-branch scan, which at batch 1 was
 * slower than the device argmax kernel would be worth (one 32128-wide argmax dispatch ~0.1 ms). */
uint32_t fv_t5_argmax(const float *x, uint32_t n);

#endif
