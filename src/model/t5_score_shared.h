/* Rank classification with one shared prompt: log p(target_i | input) for n candidate targets of
 * the same input (the choices of one multiple-choice question). The encoder runs once, on one row;
 * its output is copied to the n decoder rows on the device, so a 2,000-token 5-shot MMLU prompt is
 * encoded once instead of four times. Results equal fv_t5_score on the (input, target_i) pairs. */
#ifndef FV_MODEL_T5_SCORE_SHARED_H
#define FV_MODEL_T5_SCORE_SHARED_H

#include "model/t5.h"

/* logprob[i] = sum over target i's tokens (</s> included as given) of log p(token | prefix, input). */
int fv_t5_score_shared(fv_t5 *m, const uint32_t *input, uint32_t in_len, const uint32_t *const *targets,
                       const uint32_t *tgt_lens, uint32_t n, double *logprob);

#endif
