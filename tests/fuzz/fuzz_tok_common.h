/* Shared by fuzz_spiece.c and fuzz_tokenizer_json.c: after a tokenizer file was accepted, encode
 * and decode a few fixed texts and ids through it (a strange vocabulary must not break either). */
#ifndef FLANVK_FUZZ_TOK_COMMON_H
#define FLANVK_FUZZ_TOK_COMMON_H

#include "io/tokenizer.h"

static inline void fz_exercise_tokenizer(const fv_tokenizer *t) {
    static const char *texts[] = {"", "Hello world", "  two  spaces\tand a tab\n", "<extra_id_0> sentinel <extra_id_99>",
                                  "caf\xc3\xa9 \xef\xbc\xa1 \xe2\x91\xa0 \xe4\xb8\xad\xe6\x96\x87", "a\0b", "ABBA"};
    static const size_t lens[] = {0, 11, 24, 36, 19, 3, 4};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        uint32_t *ids = NULL;
        size_t n = 0;
        if (fv_tokenizer_encode(t, texts[i], lens[i], (int)(i & 1), &ids, &n) == 0) {
            char *s = NULL;
            if (fv_tokenizer_decode(t, ids, n, &s) == 0) free(s);
        }
        free(ids);
    }
    uint32_t v = fv_tokenizer_vocab_size(t);
    uint32_t some[6] = {0, 1, 2, v ? v - 1 : 0, v / 2, 3};
    char *s = NULL;
    if (fv_tokenizer_decode(t, some, 6, &s) == 0) free(s);
    for (uint32_t i = 0; i < 6; i++) (void)fv_tokenizer_id_to_piece(t, some[i]);
    (void)fv_tokenizer_piece_to_id(t, "</s>");
    (void)fv_tokenizer_sentinel_id(t, 0);
}

#endif
