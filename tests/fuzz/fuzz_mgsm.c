/* Fuzz harness: MGSM, both of its files: a language TSV (question \t integer answer) through the
 * MGSM reader, and the same bytes as the exemplars JSON through the exemplar loader. */
#include "fuzz_util.h"

#include "data/mgsm.h"
#include "fuzz_reader_common.h"

FZ_READER_HARNESS("mgsm_en.tsv", FV_FMT_MGSM)
static void fz_extra(const uint8_t *data, size_t size) {
    const char *path = fz_write("mgsm_exemplars.json", data, size);
    static const char *langs[] = {"en", "zh"};
    fv_mgsm_exemplars e;
    if (fv_mgsm_exemplars_load(&e, path, langs[size & 1]) == 0) fv_mgsm_exemplars_free(&e);
}
