/* Fuzz harness: `flanvk generate` / `flanvk score` --input JSONL request lines through the parser
 * the CLI uses (flanvk/request.h), each line's prompt, inputs and targets turned into ids with the
 * real T5 tokenizer, T5's vocabulary and a 512-token limit. */
#include "fuzz_util.h"

#include "flanvk/request.h"

#include <cjson/cJSON.h>

static flanvk_tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fz_quiet();
    if (flanvk_tokenizer_load(fz_assets("assets/tokenizer"), &tok)) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    flanvk_requests r;
    if (flanvk_requests_parse((const char *)data, size, "in.jsonl", &r)) return 0;
    static const char *keys[3][2] = {{"prompt", "prompt_ids"}, {"inputs", "input_ids"}, {"targets", "target_ids"}};
    for (size_t i = 0; i < r.n; i++)
        for (int k = 0; k < 3; k++) {
            uint32_t *ids, n;
            if (flanvk_request_ids(r.obj[i], "in.jsonl", r.lineno[i], i & 1 ? NULL : tok, 32128, 512, keys[k][0], keys[k][1], &ids,
                                   &n) == 0)
                free(ids);
        }
    flanvk_requests_free(&r);
    return 0;
}
