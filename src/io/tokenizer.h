/* The T5 / Flan-T5 tokenizer: SentencePiece Unigram with Hugging Face's <extra_id_N> sentinels.
 * Loads spiece.model (preferred) or a Hugging Face tokenizer.json; both give the same 32,100-id
 * table (32,000 pieces + 100 sentinels <extra_id_N> = id 32099 - N). Encoding gives Hugging Face's
 * T5 tokenizer's ids: the text is split at the special tokens written in it (<pad>, </s>, <unk>,
 * <extra_id_N>: tokenizer.json's added_tokens, or those of spiece.model + T5's 100 sentinels),
 * which become their ids; every part between them is encoded on its own as SentencePiece
 * encodes a text: nmt_nfkc normalization + whitespace handling with a dummy "▁" prefix
 * (spm_normalizer) and Viterbi segmentation (unigram); </s> appended on request. Decoding turns
 * "▁" into spaces, drops the leading space, writes sentinels as <extra_id_N> and <unk> as "<unk>"
 * (Hugging Face's decode) and skips </s> and <pad> (its skip_special_tokens). A loaded tokenizer
 * is immutable and may be shared by threads. */
#ifndef FV_IO_TOKENIZER_H
#define FV_IO_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "io/spm_model.h"

typedef struct fv_tokenizer fv_tokenizer;

/* path: a directory (spiece.model preferred, else tokenizer.json), a *.json file or a
 * SentencePiece model file. */
int fv_tokenizer_load(const char *model_dir_or_file, fv_tokenizer **out);
/* Build from an already parsed spec (takes ownership of it, also on failure). */
int fv_tokenizer_from_spec(fv_spm_spec *spec, const char *name, fv_tokenizer **out);
void fv_tokenizer_free(fv_tokenizer *t);

/* Encode len bytes of UTF-8 text (NUL bytes allowed); *ids is malloc'd (free() it), *n its length. */
int fv_tokenizer_encode(const fv_tokenizer *t, const char *text, size_t len, int add_eos, uint32_t **ids, size_t *n);
/* Decode ids to a malloc'd NUL-terminated string. Ids >= vocab size are an error. */
int fv_tokenizer_decode(const fv_tokenizer *t, const uint32_t *ids, size_t n, char **text);

uint32_t fv_tokenizer_vocab_size(const fv_tokenizer *t);
/* The piece text of id ("▁the", "</s>", "<extra_id_0>"), NULL if out of range. */
const char *fv_tokenizer_id_to_piece(const fv_tokenizer *t, uint32_t id);
/* The id of a piece given by its exact text, -1 if none. */
int32_t fv_tokenizer_piece_to_id(const fv_tokenizer *t, const char *piece);
int32_t fv_tokenizer_eos_id(const fv_tokenizer *t); /* 1 for T5 */
int32_t fv_tokenizer_pad_id(const fv_tokenizer *t); /* 0 for T5 */
int32_t fv_tokenizer_unk_id(const fv_tokenizer *t); /* 2 for T5 */
/* Id of <extra_id_N>, -1 if there is no such sentinel. */
int32_t fv_tokenizer_sentinel_id(const fv_tokenizer *t, uint32_t n);

#endif
