/* Public tokenizer API (include/flanvk/tokenizer.h): thin wrappers over src/io/tokenizer.c. */
#include "flanvk/tokenizer.h"

#include "base/error.h"
#include "io/tokenizer.h"

#include <stdlib.h>

struct flanvk_tokenizer {
    fv_tokenizer *t;
};

int flanvk_tokenizer_load(const char *path, flanvk_tokenizer **out) {
    if (!out) return fv_err("flanvk_tokenizer_load: NULL output pointer");
    *out = NULL;
    flanvk_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) return fv_err("flanvk_tokenizer_load: out of memory");
    if (fv_tokenizer_load(path, &tok->t)) {
        free(tok);
        return -1;
    }
    *out = tok;
    return 0;
}

void flanvk_tokenizer_free(flanvk_tokenizer *tok) {
    if (!tok) return;
    fv_tokenizer_free(tok->t);
    free(tok);
}

int flanvk_tokenizer_encode(const flanvk_tokenizer *tok, const char *text, size_t len, int add_eos, uint32_t **ids,
                            size_t *n) {
    if (!tok || !ids || !n) return fv_err("flanvk_tokenizer_encode: NULL argument");
    return fv_tokenizer_encode(tok->t, text, len, add_eos, ids, n);
}

int flanvk_tokenizer_decode(const flanvk_tokenizer *tok, const uint32_t *ids, size_t n, char **text) {
    if (!tok || !text || (!ids && n)) return fv_err("flanvk_tokenizer_decode: NULL argument");
    return fv_tokenizer_decode(tok->t, ids, n, text);
}

uint32_t flanvk_tokenizer_vocab_size(const flanvk_tokenizer *tok) { return tok ? fv_tokenizer_vocab_size(tok->t) : 0; }

const char *flanvk_tokenizer_id_to_piece(const flanvk_tokenizer *tok, uint32_t id) {
    return tok ? fv_tokenizer_id_to_piece(tok->t, id) : NULL;
}

int32_t flanvk_tokenizer_piece_to_id(const flanvk_tokenizer *tok, const char *piece) {
    return tok && piece ? fv_tokenizer_piece_to_id(tok->t, piece) : -1;
}
