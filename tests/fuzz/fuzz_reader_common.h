/* Shared by the data-reader harnesses (fuzz_niv2.c, fuzz_cot_tsv.c, ...): the input written under
 * a file name of the format, read to the end through fv_reader_open (strict, then with skip_bad
 * and a rewind, as a mixture reads its sources epoch after epoch), every example deep-copied. */
#ifndef FLANVK_FUZZ_READER_COMMON_H
#define FLANVK_FUZZ_READER_COMMON_H

#include "data/example.h"

/* Read at most this many examples per pass: a fuzzed file is small, this only bounds time. */
#define FZ_MAX_EXAMPLES 10000

static inline void fz_read_pass(fv_reader *r) {
    fv_example ex;
    for (int i = 0; i < FZ_MAX_EXAMPLES; i++) {
        int k = fv_reader_next(r, &ex);
        if (k != 1) break;
        fv_example copy;
        if (fv_example_copy(&copy, &ex) == 0) fv_example_free(&copy);
    }
}

static inline void fz_read_file(const char *name, fv_data_format fmt, const uint8_t *data, size_t size) {
    const char *path = fz_write(name, data, size);
    for (int skip = 0; skip < 2; skip++) {
        fv_read_opts o = {.skip_bad = skip, .task = NULL};
        fv_reader *r;
        if (fv_reader_open(&r, path, fmt, &o)) continue;
        (void)fv_reader_task(r);
        for (size_t i = 0; i < fv_reader_n_exemplars(r); i++) (void)fv_reader_exemplar(r, i);
        fz_read_pass(r);
        if (skip && fv_reader_rewind(r) == 0) fz_read_pass(r);
        (void)fv_reader_bad(r);
        fv_reader_close(r);
    }
}

#define FZ_READER_HARNESS(fname, fmt)                                   \
    int LLVMFuzzerInitialize(int *argc, char ***argv) {                 \
        (void)argc, (void)argv;                                         \
        fz_quiet();                                                     \
        return 0;                                                       \
    }                                                                   \
    static void fz_extra(const uint8_t *data, size_t size);             \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {      \
        fz_read_file(fname, fmt, data, size);                           \
        fz_extra(data, size);                                           \
        return 0;                                                       \
    }

#endif
