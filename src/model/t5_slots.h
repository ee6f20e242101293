/* Slot decoding for continuous batching: a decode state of R rows ("slots") where each row holds
 * one sequence at its own position. New prompts are encoded together (fv_t5_slots_prefill) and
 * their cross-attention K/V written into free slots while the other slots keep their caches; a
 * step (fv_t5_slots_step) advances the first `rows` slots, each at its own position: the
 * self-attention cache is appended at that position and the relative-position bias and causal
 * mask are taken from it (ops/attn_decode.h step_per_row). A finished sequence's slot is free at
 * once: the next prefill overwrites it and nothing it left behind is read (slots past a row's
 * position are never read, the cross mask hides the old prompt's keys).
 *
 * Steps are recorded once per row count (powers of two up to R, then R) and replayed, so a few
 * busy slots cost a few rows. Every row's arithmetic depends only on that row's inputs, and the
 * kernels sum over the same keys and weights in the same order at every row count, so a sequence's
 * logits are the same whichever slot it has and whoever shares the step (test_t5_slots checks it
 * against fv_t5_generate, bit for bit). */
#ifndef FV_MODEL_T5_SLOTS_H
#define FV_MODEL_T5_SLOTS_H

#include "model/t5.h"

typedef struct fv_t5_dec fv_t5_slots;

/* R slots, prompts of at most Te tokens, at most tmax decoder positions per sequence; one prefill
 * encodes at most prefill_rows prompts (0: R; its buffers take prefill_rows x
 * fv_t5_dec_row_bytes, the slots R x fv_t5_slots_row_bytes, each within one storage buffer). */
int fv_t5_slots_create(fv_t5 *m, uint32_t R, uint32_t Te, uint32_t tmax, uint32_t prefill_rows, fv_t5_slots **out);
uint32_t fv_t5_slots_prefill_rows(const fv_t5_slots *s);
/* Bytes per slot of the largest buffer the slots' step needs (caches, masks, activations). */
uint64_t fv_t5_slots_row_bytes(const fv_t5 *m, uint32_t Te, uint32_t tmax);
void fv_t5_slots_free(fv_t5_slots *s);
uint32_t fv_t5_slots_count(const fv_t5_slots *s);

/* Encode n <= prefill_rows prompts (ids[i] of lens[i] tokens, </s> included, 1..Te each) as one batch and place
 * prompt i in slot slot[i] (distinct slots < R). The other slots are untouched. */
int fv_t5_slots_prefill(fv_t5_slots *s, uint32_t n, const uint32_t *slot, const uint32_t *const *ids, const uint32_t *lens);

/* One step over slots 0..rows-1: slot r takes token tokens[r] at position pos[r] (0 = the decoder
 * start token; < tmax). Writes rows x vocab logits to `logits`. Idle slots in the range may be
 * given any token at position 0 and their logits ignored. */
int fv_t5_slots_step(fv_t5_slots *s, uint32_t rows, const uint32_t *tokens, const uint32_t *pos, float *logits);

#endif
