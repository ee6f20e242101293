/* Fuzz harness: a Natural Instructions v2 task JSON (Definition, Positive Examples, Instances)
 * through the NIv2 reader. */
#include "fuzz_util.h"

#include "fuzz_reader_common.h"

FZ_READER_HARNESS("task001_fuzz.json", FV_FMT_NIV2)
static void fz_extra(const uint8_t *data, size_t size) { (void)data, (void)size; }
