/* Hugging Face tokenizer.json reader for SentencePiece Unigram tokenizers (T5 / Flan-T5): the
 * Unigram vocabulary with scores and unk_id, the Precompiled normalizer's charsmap (base64), the
 * whitespace behaviour (Strip / Replace " {2,}" normalizers = remove_extra_whitespaces, Metaspace
 * pre-tokenizer = escape_whitespaces + dummy prefix) and the added special tokens (<pad>, </s>,
 * <unk>, <extra_id_N>), turned into the same fv_spm_spec that spiece.model gives. */
#ifndef FV_IO_TOKENIZER_JSON_H
#define FV_IO_TOKENIZER_JSON_H

#include <stddef.h>

#include "io/spm_model.h"

int fv_tokenizer_json_parse(const char *json, size_t len, const char *name, fv_spm_spec *out);
int fv_tokenizer_json_load(const char *path, fv_spm_spec *out);

/* Decode standard base64 (padding optional, no whitespace); *out is malloc'd. */
int fv_base64_decode(const char *s, size_t n, unsigned char **out, size_t *out_len);

#endif
