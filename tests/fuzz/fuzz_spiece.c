/* Fuzz harness: spiece.model (a serialized sentencepiece ModelProto, parsed by hand in
 * io/spm_model.c) loaded through fv_tokenizer_load as the model directory's tokenizer is, then used. */
#include "fuzz_util.h"

#include "fuzz_tok_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("spiece.model", data, size);
    fv_tokenizer *t;
    if (fv_tokenizer_load(path, &t)) return 0;
    fz_exercise_tokenizer(t);
    fv_tokenizer_free(t);
    return 0;
}
