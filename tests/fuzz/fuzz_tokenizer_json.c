/* Fuzz harness: a Hugging Face tokenizer.json (Unigram vocabulary, Precompiled charsmap in base64,
 * normalizers, pre-tokenizer, added tokens) loaded through fv_tokenizer_load, then used. */
#include "fuzz_util.h"

#include "fuzz_tok_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("tokenizer.json", data, size);
    fv_tokenizer *t;
    if (fv_tokenizer_load(path, &t)) return 0;
    fz_exercise_tokenizer(t);
    fv_tokenizer_free(t);
    return 0;
}
