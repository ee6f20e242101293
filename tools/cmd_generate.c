/* flanvk generate: answers from a T5 for one --prompt or a JSONL batch (--input/--output). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "flanvk/model.h"
#include "flanvk/request.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: flanvk generate --model DIR (--prompt TEXT | --input IN.jsonl [--output OUT.jsonl]) [options]\n"
            "  --max-new-tokens N   (20)        --num-beams K (1)          --length-penalty X (1.0)\n"
            "  --early-stopping [true|false|never]                        --batch-size B (16)\n"
            "  --sample  --temperature T (1.0)  --top-k K (0 = off)  --top-p P (1.0 = off)  --seed S (0)\n"
            CLI_LOAD_USAGE
            "  --device N, --profile NAME (a device profile, as FLANVK_PROFILE)\n"
            "Input lines: {\"prompt\": TEXT} or {\"prompt_ids\": [ids as the encoder sees them, </s> included]},\n"
            "optional \"id\"; output lines keep them and add \"output\" (text, when the model has a tokenizer) and\n"
            "\"output_ids\" (generated ids, without the decoder start token, with </s> if it was emitted).\n");
}

typedef struct {
    const char *model, *prompt, *input, *output;
    long device;
    flanvk_gen_params gen;
    flanvk_load_opts load;
} opts;

static int parse(int argc, char **argv, opts *o) {
    memset(o, 0, sizeof *o);
    o->device = -1;
    flanvk_gen_params_default(&o->gen);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        double x;
#define NEED_VALUE() do { if (!v) return cli_fail("generate: %s needs a value", a); i++; } while (0)
        int lo = cli_load_option(a, v, &o->load);
        if (lo < 0) return 1;
        if (lo) { i++; continue; }
        if (!strcmp(a, "--help")) { usage(stdout); exit(0); }
        else if (!strcmp(a, "--model")) { NEED_VALUE(); o->model = v; }
        else if (!strcmp(a, "--prompt")) { NEED_VALUE(); o->prompt = v; }
        else if (!strcmp(a, "--input")) { NEED_VALUE(); o->input = v; }
        else if (!strcmp(a, "--output")) { NEED_VALUE(); o->output = v; }
        else if (!strcmp(a, "--device")) { if (cli_parse_int(a, v, 0, 63, &o->device)) return 1; i++; }
        else if (!strcmp(a, "--profile") || !strcmp(a, "--device-profile")) { if (cli_device_profile(a, v)) return 1; i++; }
        else if (!strcmp(a, "--max-new-tokens")) { if (cli_parse_int(a, v, 1, 4096, &n)) return 1; i++; o->gen.max_new_tokens = (uint32_t)n; }
        else if (!strcmp(a, "--num-beams")) { if (cli_parse_int(a, v, 1, 64, &n)) return 1; i++; o->gen.num_beams = (uint32_t)n; }
        else if (!strcmp(a, "--batch-size")) { if (cli_parse_int(a, v, 1, 4096, &n)) return 1; i++; o->gen.batch_size = (uint32_t)n; }
        else if (!strcmp(a, "--top-k")) { if (cli_parse_int(a, v, 0, 1000000, &n)) return 1; i++; o->gen.top_k = (uint32_t)n; }
        else if (!strcmp(a, "--seed")) { if (cli_parse_int(a, v, 0, 0x7fffffffL, &n)) return 1; i++; o->gen.seed = (uint64_t)n; }
        else if (!strcmp(a, "--length-penalty")) { if (cli_parse_float(a, v, &x)) return 1; i++; o->gen.length_penalty = (float)x; }
        else if (!strcmp(a, "--temperature")) {
            if (cli_parse_float(a, v, &x)) return 1;
            if (!(x > 0)) return cli_fail("generate: --temperature must be > 0");
            i++;
            o->gen.temperature = (float)x;
        } else if (!strcmp(a, "--top-p")) {
            if (cli_parse_float(a, v, &x)) return 1;
            if (!(x > 0 && x <= 1)) return cli_fail("generate: --top-p must be in (0, 1]");
            i++;
            o->gen.top_p = (float)x;
        } else if (!strcmp(a, "--sample")) o->gen.do_sample = 1;
        else if (!strcmp(a, "--early-stopping")) {
            o->gen.early_stopping = 1;
            if (v && (!strcmp(v, "true") || !strcmp(v, "false") || !strcmp(v, "never"))) {
                o->gen.early_stopping = !strcmp(v, "true") ? 1 : !strcmp(v, "never") ? 2 : 0;
                i++;
            }
        } else return cli_fail("generate: unknown option '%s' (see flanvk generate --help)", a);
#undef NEED_VALUE
    }
    if (!o->model) return cli_fail("generate: --model DIR is required");
    if (!o->prompt == !o->input) return cli_fail("generate: give either --prompt TEXT or --input FILE");
    if (o->gen.do_sample && o->gen.num_beams > 1) return cli_fail("generate: --sample works with --num-beams 1 only");
    return 0;
}

int cmd_generate(int argc, char **argv) {
    opts o;
    if (parse(argc, argv, &o)) return 1;
    flanvk_requests in = {0};
    if (o.input && flanvk_requests_read(o.input, &in)) return cli_lib_fail(NULL);
    if (o.prompt) { /* one prompt: make it look like a one-line input */
        in.n = 1;
        in.obj = calloc(1, sizeof *in.obj);
        in.lineno = calloc(1, sizeof *in.lineno);
        in.obj[0] = cJSON_CreateObject();
        cJSON_AddStringToObject(in.obj[0], "prompt", o.prompt);
        in.lineno[0] = 1;
    }
    flanvk_ctx *ctx = NULL;
    flanvk_model *m = NULL;
    cli_progress prog;
    cli_progress_start(&prog, "loading", 1);
    int rc = flanvk_open((int)o.device, &ctx) ? cli_lib_fail("generate") : 0;
    if (!rc && flanvk_model_load_with(ctx, o.model, &o.load, cli_progress_cb, &prog, &m)) rc = cli_lib_fail(NULL);
    cli_progress_end(&prog);
    uint32_t **ids = calloc(in.n ? in.n : 1, sizeof *ids), *lens = calloc(in.n ? in.n : 1, sizeof *lens);
    uint32_t **out = calloc(in.n ? in.n : 1, sizeof *out), *out_lens = calloc(in.n ? in.n : 1, sizeof *out_lens);
    const char *src = o.input ? o.input : "--prompt";
    for (size_t i = 0; !rc && i < in.n; i++) rc = cli_field_ids(m, src, in.lineno[i], in.obj[i], "prompt", "prompt_ids", &ids[i], &lens[i]);
    if (!rc && flanvk_generate(m, (const uint32_t *const *)ids, lens, (uint32_t)in.n, &o.gen, out, out_lens))
        rc = cli_lib_fail("generate");
    cli_out w;
    if (!rc && o.prompt) {
        char *text = NULL;
        if (flanvk_model_tokenizer(m) && !flanvk_tokenizer_decode(flanvk_model_tokenizer(m), out[0], out_lens[0], &text)) {
            printf("%s\n", text);
            free(text);
        } else rc = cli_lib_fail("generate");
    } else if (!rc && !cli_out_open(&w, o.output)) {
        for (size_t i = 0; !rc && i < in.n; i++) {
            cJSON *obj = in.obj[i];
            if (flanvk_model_tokenizer(m)) {
                char *text = NULL;
                if (flanvk_tokenizer_decode(flanvk_model_tokenizer(m), out[i], out_lens[i], &text)) {
                    rc = cli_fail("%s:%zu: %s", src, in.lineno[i], flanvk_last_error());
                    break;
                }
                cJSON_DeleteItemFromObjectCaseSensitive(obj, "output");
                cJSON_AddStringToObject(obj, "output", text);
                free(text);
            }
            cli_json_add_ids(obj, "output_ids", out[i], out_lens[i]);
            rc = cli_out_json(&w, obj);
        }
        if (rc) cli_out_abort(&w);
        else rc = cli_out_commit(&w);
    } else if (!rc) rc = 1;
    for (size_t i = 0; i < in.n; i++) {
        free(ids[i]);
        free(out[i]);
    }
    free(ids);
    free(lens);
    free(out);
    free(out_lens);
    flanvk_requests_free(&in);
    flanvk_model_free(m);
    flanvk_close(ctx);
    return rc ? 1 : 0;
}
