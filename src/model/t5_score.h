/* Scoring: log p(target | input) for (input, target) pairs of token ids, the sum of the
 * log-probabilities of every target token (</s> included), as rank classification needs. Pairs are
 * run in padded batches through the teacher-forced forward (model/t5_forward.h). */
#ifndef FV_MODEL_T5_SCORE_H
#define FV_MODEL_T5_SCORE_H

#include "model/t5.h"

/* logprob[i] for pair i; max_batch 0 lets flanvk choose. */
int fv_t5_score(fv_t5 *m, const uint32_t *const *inputs, const uint32_t *in_lens, const uint32_t *const *targets,
                const uint32_t *tgt_lens, uint32_t n, uint32_t max_batch, double *logprob);

#endif
