/* Fuzz harness: training_state.safetensors (step, data position, RNG and eval bookkeeping in the
 * metadata; loss and eval histories) through the reader `flanvk train --resume` uses. */
#include "fuzz_util.h"

#include "train/train_state.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("training_state.safetensors", data, size);
    fv_safetensors *sf;
    if (fv_st_open(&sf, path)) return 0;
    fv_train_state st;
    fv_train_history h;
    if (fv_train_state_read(sf, size & 1 ? NULL : "adamw", &st, &h) == 0) fv_train_history_free(&h);
    fv_st_close(sf);
    return 0;
}
