/* Fuzz harness: a FLAN chain-of-thought TSV (question, answer, rationale; "\n" escaped; option
 * blocks split off) through the CoT reader. */
#include "fuzz_util.h"

#include "fuzz_reader_common.h"

FZ_READER_HARNESS("cot_fuzz_train.tsv", FV_FMT_COT_TSV)
static void fz_extra(const uint8_t *data, size_t size) { (void)data, (void)size; }
