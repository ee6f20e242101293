/* Fuzz harness: a JSONL data file ({"inputs","targets"} or {"question","answer","rationale"} per
 * line) through the JSONL reader. */
#include "fuzz_util.h"

#include "fuzz_reader_common.h"

FZ_READER_HARNESS("fuzz.jsonl", FV_FMT_JSONL)
static void fz_extra(const uint8_t *data, size_t size) { (void)data, (void)size; }
