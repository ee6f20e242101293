/* Fuzz harness: a packed data file (FLANVKPK, data/pack.h) through fv_pack_open as `flanvk train`
 * maps it, every row validated and expanded into the arrays a training step uploads, and the same
 * file through the trainer's data opener (fv_train_data_open). */
#include "fuzz_util.h"

#include "data/pack.h"
#include "train/train_data.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("data.pack", data, size);
    fv_pack p;
    if (fv_pack_open(&p, path) == 0) {
        (void)fv_pack_validate(&p);
        /* rows exist only when their bytes do, so L and L2 are then bounded by the file size */
        if (p.n_rows) {
            size_t L = p.L ? p.L : 1, L2 = p.L2 ? p.L2 : 1;
            int32_t *b = malloc((3 * L + 4 * L2) * sizeof *b);
            fv_pack_arrays a = {b, b + L, b + 2 * L, b + 3 * L, b + 3 * L + L2, b + 3 * L + 2 * L2, b + 3 * L + 3 * L2};
            for (uint64_t i = 0; b && i < p.n_rows && i < 64; i++) {
                uint32_t nseg;
                if (fv_pack_expand(&p, i, &a, &nseg)) continue;
                for (int32_t s = 1; s <= (int32_t)nseg; s++) {
                    const uint32_t *in, *tg;
                    size_t ni, nt;
                    fv_pack_row row = fv_pack_get_row(&p, i);
                    (void)fv_pack_row_segment(&row, p.L, p.L2, s, &in, &ni, &tg, &nt);
                }
            }
            free(b);
        }
        fv_pack_close(&p);
    }
    fv_train_data d;
    if (fv_train_data_open(&d, path, 0, 0, 32128, NULL) == 0) fv_train_data_close(&d);
    return 0;
}
