/* SentencePiece text normalization, as spm_encode does it before segmentation:
 * 1. the precompiled charsmap (T5: nmt_nfkc), a darts-clone double-array trie over UTF-8 bytes
 *    whose leaf values are offsets of NUL-terminated replacement strings; at each position the
 *    longest matching prefix is replaced, else one UTF-8 character is copied;
 * 2. whitespace: leading, trailing and repeated spaces dropped (remove_extra_whitespaces), a
 *    dummy "▁" (U+2581) prefix added (add_dummy_prefix), spaces turned into "▁" (escape_whitespaces).
 * Invalid UTF-8 is rejected with an error naming the byte offset. */
#ifndef FV_IO_SPM_NORMALIZER_H
#define FV_IO_SPM_NORMALIZER_H

#include <stddef.h>
#include <stdint.h>

#include "io/spm_model.h"

typedef struct {
    char *p;
    size_t n, cap;
} fv_sbuf;

int fv_sbuf_append(fv_sbuf *b, const char *s, size_t n);
void fv_sbuf_free(fv_sbuf *b);

typedef struct {
    unsigned char *blob;   /* owned copy of the charsmap plus a trailing NUL; NULL: identity */
    const unsigned char *trie;
    size_t n_units;        /* 32-bit units in the trie */
    const char *norm;      /* replacement strings */
    size_t norm_len;
    int add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces, treat_whitespace_as_suffix;
    /* Unicode White_Space characters that the charsmap leaves alone (T5's: only U+0085) count as a
     * space, as in Hugging Face's T5 tokenizer (transformers 5 splits words with WhitespaceSplit,
     * i.e. at every White_Space character). Off in SentencePiece itself; fv_tokenizer turns it on. */
    int unicode_whitespace;
} fv_spm_normalizer;

/* Validate and copy spec's charsmap and flags. name is used in error messages. */
int fv_spm_normalizer_init(fv_spm_normalizer *nz, const fv_spm_spec *spec, const char *name);
void fv_spm_normalizer_free(fv_spm_normalizer *nz);

/* Length of the valid UTF-8 character at s (n bytes available), or 0 if it is not valid UTF-8
 * (bad lead or continuation byte, overlong form, surrogate, beyond U+10FFFF, truncated). */
size_t fv_utf8_char_len(const unsigned char *s, size_t n);
/* 0 if s[0..n) is valid UTF-8; else an error naming the offset and the bytes. what names the input. */
int fv_utf8_check(const char *s, size_t n, const char *what);

/* Normalize text (must be valid UTF-8) and append the result to out. */
int fv_spm_normalize(const fv_spm_normalizer *nz, const char *text, size_t n, fv_sbuf *out);

#endif
