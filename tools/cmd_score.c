/* flanvk score: log p(targets | inputs) per JSONL line, for rank classification. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "flanvk/model.h"
#include "flanvk/request.h"

static void usage(FILE *f) {
    fprintf(f, "usage: flanvk score --model DIR --input IN.jsonl [--output OUT.jsonl] [--batch-size B] [--device N] [--profile NAME]\n"
               CLI_LOAD_USAGE
               "Each line: {\"inputs\": TEXT, \"targets\": TEXT} or {\"input_ids\": [...], \"target_ids\": [...]} (</s> included).\n"
               "Prints the same object plus \"logprob\" (sum of the target tokens' log-probabilities, </s> included)\n"
               "and \"num_tokens\" (the number of target tokens).\n");
}

int cmd_score(int argc, char **argv) {
    const char *model = NULL, *input = NULL, *output = NULL;
    long device = -1, batch = 16;
    flanvk_load_opts load = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int lo = cli_load_option(a, v, &load);
        if (lo < 0) return 1;
        if (lo) {
            i++;
            continue;
        }
        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--model") && v) model = argv[++i];
        else if (!strcmp(a, "--input") && v) input = argv[++i];
        else if (!strcmp(a, "--output") && v) output = argv[++i];
        else if (!strcmp(a, "--device")) {
            if (cli_parse_int(a, v, 0, 63, &device)) return 1;
            i++;
        } else if (!strcmp(a, "--profile") || !strcmp(a, "--device-profile")) {
            if (cli_device_profile(a, v)) return 1;
            i++;
        } else if (!strcmp(a, "--batch-size")) {
            if (cli_parse_int(a, v, 1, 4096, &batch)) return 1;
            i++;
        } else return cli_fail("score: unknown option or missing value '%s' (see flanvk score --help)", a);
    }
    if (!model || !input) return cli_fail("score: --model DIR and --input FILE are required");
    flanvk_requests in;
    if (flanvk_requests_read(input, &in)) return cli_lib_fail(NULL);
    flanvk_ctx *ctx = NULL;
    flanvk_model *m = NULL;
    cli_progress prog;
    cli_progress_start(&prog, "loading", 1);
    int rc = flanvk_open((int)device, &ctx) ? cli_lib_fail("score") : 0;
    if (!rc && flanvk_model_load_with(ctx, model, &load, cli_progress_cb, &prog, &m)) rc = cli_lib_fail(NULL);
    cli_progress_end(&prog);
    size_t n = in.n ? in.n : 1;
    uint32_t **x = calloc(n, sizeof *x), **y = calloc(n, sizeof *y), *xl = calloc(n, 4), *yl = calloc(n, 4);
    double *lp = calloc(n, sizeof *lp);
    for (size_t i = 0; !rc && i < in.n; i++) {
        rc = cli_field_ids(m, input, in.lineno[i], in.obj[i], "inputs", "input_ids", &x[i], &xl[i]);
        if (!rc) rc = cli_field_ids(m, input, in.lineno[i], in.obj[i], "targets", "target_ids", &y[i], &yl[i]);
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
            rc = cli_out_json(&w, in.obj[i]);
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
    flanvk_requests_free(&in);
    flanvk_model_free(m);
    flanvk_close(ctx);
    return rc ? 1 : 0;
}
