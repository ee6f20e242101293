/* Fuzz harness: BIG-Bench Hard, both of its files: the task JSON ({"examples": [{"input",
 * "target"}]}) through the BBH reader, and the same bytes as a cot-prompts/TASK.txt file through the
 * few-shot prompt parser the BBH suite uses (and its prompt builders). */
#include "fuzz_util.h"

#include "data/bbh.h"
#include "fuzz_reader_common.h"

FZ_READER_HARNESS("fuzz_task.json", FV_FMT_BBH)
static void fz_extra(const uint8_t *data, size_t size) {
    const char *path = fz_write("fuzz_task.txt", data, size);
    fv_bbh_prompt p;
    if (fv_bbh_prompt_load(&p, path)) return;
    free(fv_bbh_prompt_cot(&p, "Q?"));
    free(fv_bbh_prompt_direct(&p, "Q?"));
    fv_bbh_prompt_free(&p);
}
