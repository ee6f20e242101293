/* Scoring: log p(target | input) for (input, target) pairs of token ids, the sum of the
 * log-probabilities of every target token (</s> included), as rank classification needs. Pairs are
 * run in padded batches through the teacher-forced forward (model/t5_forward.h). */
#ifndef FV_MODEL_T5_SCORE_H
#define FV_MODEL_T5_SCORE_H

#include "model/t5.h"

/* logprob[i] for pair i; max_batch 0 lets flanvk choose. */
int fv_t5_score(fv_t5 *m, const uint32_t *const *inputs, const uint32_t *in_lens, const uint32_t *const *targets,
                const uint32_t *tgt_lens, uint32_t n, uint32_t max_batch, double *logprob);

/* Rank classification with one shared prompt: log p(target_i | input) for the n candidate targets of
 * one input (the choices of a multiple-choice question), all in one batch; the input is encoded once
 * and its cross-attention keys/values copied to every row on the device. Equals fv_t5_score on the
 * (input, target_i) pairs. */
int fv_t5_score_shared(fv_t5 *m, const uint32_t *input, uint32_t in_len, const uint32_t *const *targets,
                       const uint32_t *tgt_lens, uint32_t n, double *logprob);

/* The most rows (at most want) of Te encoder / Td decoder tokens whose teacher-forced forward
 * (model/t5_forward.h) keeps every activation within one storage buffer. */
uint32_t fv_t5_fwd_fit_rows(const fv_t5 *m, uint32_t want, uint32_t Te, uint32_t Td);

#endif
