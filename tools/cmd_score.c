/* flanvk score: log p(targets | inputs) per JSONL line, for rank classification. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "flanvk/model.h"

static void usage(FILE *f) {
    fprintf(f, "usage: flanvk score --model DIR --input IN.jsonl [--output OUT.jsonl] [--batch-size B] [--device N]\n"
               "Each line: {\"inputs\": TEXT, \"targets\": TEXT} or {\"input_ids\": [...], \"target_ids\": [...]} (</s> included).\n"
               "Prints the same object plus \"logprob\" (sum of the target tokens' log-probabilities, </s> included)\n"
               "and \"num_tokens\" (the number of target tokens).\n");
}

/* ids from "<key>_ids" or text under "<key>s" (tokenized with </s>). */
static int field_ids(const flanvk_model *m, const char *file, size_t lineno, const cJSON *obj, const char *text_key,
                     const char *ids_key, uint32_t **ids, uint32_t *n) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, ids_key);
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(obj, text_key);
    if (arr) {
        if (cli_json_ids(arr, ids, n)) return cli_fail("%s:%zu: \"%s\" must be an array of token ids", file, lineno, ids_key);
    } else if (cJSON_IsString(text)) {
        const flanvk_tokenizer *tok = flanvk_model_tokenizer(m);
        if (!tok) return cli_fail("%s:%zu: text \"%s\" needs a tokenizer, and the model directory has none (give \"%s\")", file,
                                  lineno, text_key, ids_key);
        size_t k;
        if (flanvk_tokenizer_encode(tok, text->valuestring, strlen(text->valuestring), 1, ids, &k))
            return cli_fail("%s:%zu: %s", file, lineno, flanvk_last_error());
        *n = (uint32_t)k;
    } else {
        return cli_fail("%s:%zu: expected \"%s\" (text) or \"%s\" (ids)", file, lineno, text_key, ids_key);
    }
    if (!*n) return cli_fail("%s:%zu: \"%s\" is empty", file, lineno, arr ? ids_key : text_key);
    flanvk_model_info info;
    flanvk_model_get_info(m, &info);
    for (uint32_t i = 0; i < *n; i++)
        if ((*ids)[i] >= (uint32_t)info.vocab_size)
            return cli_fail("%s:%zu: token id %u is outside the vocabulary (%d)", file, lineno, (*ids)[i], info.vocab_size);
    if (info.max_input_tokens && *n > info.max_input_tokens)
        return cli_fail("%s:%zu: %u tokens; this model on this device takes at most %u", file, lineno, *n, info.max_input_tokens);
    return 0;
}

int cmd_score(int argc, char **argv) {
    const char *model = NULL, *input = NULL, *output = NULL;
    long device = -1, batch = 16;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--model") && v) model = argv[++i];
        else if (!strcmp(a, "--input") && v) input = argv[++i];
        else if (!strcmp(a, "--output") && v) output = argv[++i];
        else if (!strcmp(a, "--device")) {
            if (cli_parse_int(a, v, 0, 63, &device)) return 1;
            i++;
        } else if (!strcmp(a, "--batch-size")) {
            if (cli_parse_int(a, v, 1, 4096, &batch)) return 1;
            i++;
        } else return cli_fail("score: unknown option or missing value '%s' (see flanvk score --help)", a);
    }
    if (!model || !input) return cli_fail("score: --model DIR and --input FILE are required");
    cli_jsonl in;
    if (cli_jsonl_read(input, &in)) return 1;
    flanvk_ctx *ctx = NULL;
    flanvk_model *m = NULL;
    cli_progress prog;
    cli_progress_start(&prog, "loading", 1);
    int rc = flanvk_open((int)device, &ctx) ? cli_lib_fail("score") : 0;
    if (!rc && flanvk_model_load(ctx, model, cli_progress_cb, &prog, &m)) rc = cli_lib_fail(NULL);
    cli_progress_end(&prog);
    size_t n = in.n ? in.n : 1;
    uint32_t **x = calloc(n, sizeof *x), **y = calloc(n, sizeof *y), *xl = calloc(n, 4), *yl = calloc(n, 4);
    double *lp = calloc(n, sizeof *lp);
    for (size_t i = 0; !rc && i < in.n; i++) {
        rc = field_ids(m, input, in.lineno[i], in.obj[i], "inputs", "input_ids", &x[i], &xl[i]);
        if (!rc) rc = field_ids(m, input, in.lineno[i], in.obj[i], "targets", "target_ids", &y[i], &yl[i]);
    }
    if (!rc && in.n &&
        flanvk_score(m, (const uint32_t *const *)x, xl, (const uint32_t *const *)y, yl, (uint32_t)in.n, (uint32_t)batch, lp))
        rc = cli_lib_fail("score");
    cli_out w;
    if (!rc && !cli_out_open(&w, output)) {
        for (size_t i = 0; !rc && i < in.n; i++) {
            cJSON_DeleteItemFromObjectCaseSensitive(in.obj[i], "logprob");
            cJSON_DeleteItemFromObjectCaseSensitive(in.obj[i], "num_tokens");
            cJSON_AddNumberToObject(in.obj[i], "logprob", lp[i]);
            cJSON_AddNumberToObject(in.obj[i], "num_tokens", yl[i]);
            char *line = cJSON_PrintUnformatted(in.obj[i]);
            if (!line || fprintf(w.f, "%s\n", line) < 0) rc = cli_fail("cannot write the output");
            free(line);
        }
        if (rc) cli_out_abort(&w);
        else rc = cli_out_commit(&w);
    } else if (!rc) rc = 1;
    for (size_t i = 0; i < in.n; i++) {
        free(x[i]);
        free(y[i]);
    }
    free(x);
    free(y);
    free(xl);
    free(yl);
    free(lp);
    cli_jsonl_free(&in);
    flanvk_model_free(m);
    flanvk_close(ctx);
    return rc ? 1 : 0;
}
