/* The tensors a T5 config needs, named and shaped exactly as Hugging Face's T5ForConditionalGeneration
 * state_dict has them (Linear weights are [out, in]; relative_attention_bias is [num_buckets,
 * num_heads] and lives in block 0 of each stack only), and a checker of a checkpoint against them.
 *
 * Tied embeddings: save_pretrained with safetensors drops tensors that share storage, so a file
 * usually holds only shared.weight; other writers keep encoder.embed_tokens.weight /
 * decoder.embed_tokens.weight (copies of shared), and a tied model may or may not store lm_head.weight.
 * These are therefore optional; shared.weight may itself be replaced by either embed_tokens copy. */
#ifndef FV_IO_T5_TENSORS_H
#define FV_IO_T5_TENSORS_H

#include "io/safetensors.h"
#include "io/t5_config.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char name[96];
    int ndim;
    int64_t shape[2];
    int optional; /* may be absent (embedding copies, lm_head of a tied model) */
} fv_t5_tensor_spec;

/* Fill a malloc'd list (free with free()) of every tensor the config implies, in state_dict order. */
int fv_t5_tensor_specs(const fv_t5_config *c, fv_t5_tensor_spec **out, size_t *n);

/* Number of weights of the model (each stored parameter once; shared counted once; lm_head when untied). */
int64_t fv_t5_param_count(const fv_t5_config *c);

/* Name under which the token embedding is stored: "shared.weight", else an embed_tokens copy. */
const char *fv_t5_embedding_name(const fv_safetensors *st);

enum { FV_T5_CHECK_STRICT = 1 }; /* also reject tensors the config does not use */

/* Report the first missing tensor, wrong shape or unsupported dtype as one line naming the file.
 * q8 tensors (I8) are accepted with their scales and metadata checked (io/wfile.h). */
int fv_t5_check_tensors(const fv_t5_config *c, const fv_safetensors *st, int flags);

#endif
