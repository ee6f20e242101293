/* Fuzz harness: the real T5 tokenizer (assets/tokenizer/spiece.model) encoding arbitrary bytes as
 * text (invalid UTF-8 must be an error, never a crash) and decoding the same bytes read as ids
 * (ids past the vocabulary must be an error). The first byte picks add_eos. */
#include "fuzz_util.h"

#include "base/error.h"
#include "io/tokenizer.h"

static fv_tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_quiet();
    if (fv_tokenizer_load(fz_assets("assets/tokenizer"), &tok)) {
        fprintf(stderr, "fuzz_tokenize: %s\n", fv_last_error());
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    int eos = data[0] & 1;
    uint32_t *ids = NULL;
    size_t n = 0;
    if (fv_tokenizer_encode(tok, (const char *)data + 1, size - 1, eos, &ids, &n) == 0) {
        char *s = NULL;
        if (fv_tokenizer_decode(tok, ids, n, &s)) abort(); /* what encode gives, decode takes */
        free(s);
    }
    free(ids);
    /* the bytes as ids: mostly in range (mod a little more than the vocabulary) */
    size_t k = (size - 1) / 2;
    uint32_t *v = malloc((k ? k : 1) * sizeof *v);
    uint32_t vs = fv_tokenizer_vocab_size(tok);
    for (size_t i = 0; i < k; i++) v[i] = ((uint32_t)data[1 + 2 * i] << 8 | data[2 + 2 * i]) % (vs + 16);
    char *s = NULL;
    if (fv_tokenizer_decode(tok, v, k, &s) == 0) free(s);
    free(v);
    return 0;
}
