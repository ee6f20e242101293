/* Fuzz harness: a JSONL file through both of its readers: the training-data JSONL reader
 * ({"inputs","targets"} or {"question","answer","rationale"} per line) and the generic eval suite
 * (`flanvk eval --suite jsonl`: {"inputs", "targets": str | [str], "choices", "task"} per line). */
#include "fuzz_util.h"

#include "eval/suite.h"
#include "fuzz_reader_common.h"

FZ_READER_HARNESS("fuzz.jsonl", FV_FMT_JSONL)
static void fz_extra(const uint8_t *data, size_t size) {
    (void)data, (void)size;
    fv_eval_run r;
    fv_eval_run_init(&r, "jsonl", 0, 0);
    (void)fv_eval_build_jsonl(&r, fz_path("fuzz.jsonl")); /* the file fz_read_file wrote */
    fv_eval_run_free(&r);
}
