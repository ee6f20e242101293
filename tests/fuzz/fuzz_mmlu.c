/* Fuzz harness: MMLU, both of its files: a subject CSV (question,A,B,C,D,letter; RFC 4180 quoting)
 * through the MMLU reader, and the same bytes as subjects.json through the subject table loader. */
#include "fuzz_util.h"

#include "data/mmlu.h"
#include "fuzz_reader_common.h"

FZ_READER_HARNESS("fuzz_subject_test.csv", FV_FMT_MMLU)
static void fz_extra(const uint8_t *data, size_t size) {
    const char *path = fz_write("subjects.json", data, size);
    fv_mmlu_subject *s = NULL;
    size_t n = 0;
    if (fv_mmlu_subjects_load(path, &s, &n)) return;
    (void)fv_mmlu_subject_find(s, n, "abstract_algebra");
    free(s);
}
