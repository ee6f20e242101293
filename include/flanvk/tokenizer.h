/* flanvk tokenizer: the T5 / Flan-T5 SentencePiece tokenizer (32,000 pieces + 100 <extra_id_N>
 * sentinels = ids 32099 - N; pad 0, </s> 1, <unk> 2), giving the ids of Hugging Face's T5 tokenizer:
 * SentencePiece's spm_encode on text, special tokens (</s>, <pad>, <unk>, <extra_id_N>) written in
 * the text as their ids. Functions return 0 on success; on failure flanvk_last_error() names the
 * file or input problem. A loaded tokenizer is read-only and may be used from several threads. */
#ifndef FLANVK_TOKENIZER_H
#define FLANVK_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "flanvk/flanvk.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flanvk_tokenizer flanvk_tokenizer;

/* path: a directory holding spiece.model (preferred) or tokenizer.json, or one of those files. */
int flanvk_tokenizer_load(const char *path, flanvk_tokenizer **out);
void flanvk_tokenizer_free(flanvk_tokenizer *tok);

/* UTF-8 text (len bytes) -> ids, as Hugging Face's T5 tokenizer (AutoTokenizer) gives them; *ids is
 * malloc'd, release it with free(). add_eos appends </s>. Invalid UTF-8 is an error. Special tokens
 * written in the text (</s>, <pad>, <unk>, <extra_id_N> for the model's sentinels) become their ids;
 * the text between them is encoded part by part, each part with its own leading "▁". */
int flanvk_tokenizer_encode(const flanvk_tokenizer *tok, const char *text, size_t len, int add_eos, uint32_t **ids,
                            size_t *n);
/* ids -> text (malloc'd, NUL-terminated; free() it). </s> and <pad> are skipped, sentinels are
 * written as <extra_id_N>, <unk> as "<unk>" (as Hugging Face's decode writes them). */
int flanvk_tokenizer_decode(const flanvk_tokenizer *tok, const uint32_t *ids, size_t n, char **text);

uint32_t flanvk_tokenizer_vocab_size(const flanvk_tokenizer *tok);
/* Piece text of an id ("\u2581the", "</s>", "<extra_id_0>"); NULL if out of range. */
const char *flanvk_tokenizer_id_to_piece(const flanvk_tokenizer *tok, uint32_t id);
/* Id of a piece given by its exact text; -1 if none. */
int32_t flanvk_tokenizer_piece_to_id(const flanvk_tokenizer *tok, const char *piece);

#ifdef __cplusplus
}
#endif

#endif
