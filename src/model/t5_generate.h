/* Generation from a T5: greedy, sampling (temperature, top-k, top-p) and beam search, with the
 * semantics of Hugging Face's generate() for encoder-decoder models: the decoder starts from
 * decoder_start_token_id, stops at eos_token_id or after max_new_tokens; outputs exclude the start
 * token and include </s> when it was produced; rows that finished early are not extended.
 *
 * Beam search (HF BeamSearchScorer): beam scores start at 0 for the first beam and -1e9 for the
 * others; each step takes the top 2*num_beams of (beam score + log_softmax(logits)) over
 * beams x vocabulary; an </s> candidate ranked within the first num_beams closes a hypothesis
 * scored sum_logprobs / generated_len^length_penalty, where generated_len counts the generated
 * tokens including </s>; early_stopping true stops when num_beams hypotheses are closed, false
 * when the best open score / cur_len^length_penalty cannot beat the worst closed one, "never"
 * (2) uses the maximum length when length_penalty > 0. At the end open beams are added as
 * hypotheses and the best one is returned. */
#ifndef FV_MODEL_T5_GENERATE_H
#define FV_MODEL_T5_GENERATE_H

#include "base/rng.h"
#include "model/t5.h"

typedef struct fv_gen_opts {
    uint32_t max_new_tokens;  /* default 20 when 0 */
    uint32_t num_beams;       /* 1 (or 0): greedy or sampling */
    float length_penalty;     /* 1.0 */
    int early_stopping;       /* 0 false, 1 true, 2 "never" */
    int do_sample;
    float temperature;        /* 1.0 */
    uint32_t top_k;           /* 0: off */
    float top_p;              /* 1.0: off */
    uint64_t seed;
} fv_gen_opts;

void fv_gen_opts_default(fv_gen_opts *o);

typedef struct fv_gen_out {
    uint32_t *ids;  /* malloc'd; free with free() */
    uint32_t n;
} fv_gen_out;

/* One token drawn as generate's sampling draws it (HF's warpers in order: temperature, top-k,
 * top-p; then a draw from the softmax) from logits x[0..n-1]; tmp holds n entries. Exposed so a
 * server sampling each row with its own settings and generator matches `generate` on that prompt. */
typedef struct fv_gen_scored { float v; uint32_t i; } fv_gen_scored;
uint32_t fv_gen_sample(const float *x, uint32_t n, const fv_gen_opts *o, fv_rng *rng, fv_gen_scored *tmp);

/* Generate for n prompts (token ids as the encoder sees them, </s> included). out[i] receives the
 * generated ids of prompt i. */
int fv_t5_generate(fv_t5 *m, const uint32_t *const *prompts, const uint32_t *lens, uint32_t n, const fv_gen_opts *o,
                   fv_gen_out *out);

#endif
