/* `flanvk eval`: run an evaluation suite (MMLU, BBH, MGSM, JSONL) on a model, show a progress bar on
 * stderr (when it is a terminal), print the score table on stdout, optionally write the JSON report. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "flanvk/eval.h"
#include "flanvk/model.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: flanvk eval --model DIR --suite mmlu|bbh|mgsm|jsonl --data DIR [options]\n"
            "  --mode direct|cot        answer-only (default) or chain of thought\n"
            "  --shots K                exemplars (default: MMLU 5, BBH 3, MGSM 8)\n"
            "  --self-consistency N     N samples per item, majority vote (with --temperature T, default 0.7)\n"
            "  --temperature T\n"
            "  --seed S                 sampling seed (default 0)\n"
            "  --limit N                first N items per task\n"
            "  --tasks A,B              only these tasks / subjects / languages\n"
            "  --batch-size N           prompts generated together (default 16, reduced to fit the device)\n"
            "  --max-new-tokens N       (default: direct 32, CoT 256)\n"
            "  --report FILE.json       write every prompt, output, extracted answer and the scores\n"
            CLI_LOAD_USAGE
            "  --device N, --profile NAME (a device profile, as FLANVK_PROFILE)\n");
}

typedef struct {
    int tty;
    double t0;
} bar;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void progress(uint64_t done, uint64_t total, void *user) {
    bar *b = user;
    if (!b->tty || !total) return;
    int w = 30, fill = (int)(w * done / total);
    double el = now() - b->t0, eta = done ? el * (double)(total - done) / (double)done : 0;
    fprintf(stderr, "\r[%.*s%*s] %llu/%llu  %.0fs elapsed, ~%.0fs left ", fill, "##############################",
            w - fill, "", (unsigned long long)done, (unsigned long long)total, el, eta);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

int cmd_eval(int argc, char **argv) {
    flanvk_eval_params p;
    flanvk_eval_params_default(&p);
    long device = -1, v;
    double f;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strncmp(a, "--", 2) && !val) return cli_fail("eval: %s needs a value", a);
        i++;
        flanvk_load_opts lo = {p.weights, p.kv_cache, p.adapter};
        int r = cli_load_option(a, val, &lo);
        if (r < 0) return 1;
        if (r) p.weights = lo.weights, p.kv_cache = lo.kv_cache, p.adapter = lo.adapter;
        else if (!strcmp(a, "--model")) p.model_dir = val;
        else if (!strcmp(a, "--suite")) p.suite = val;
        else if (!strcmp(a, "--data")) p.data_dir = val;
        else if (!strcmp(a, "--report")) p.report_path = val;
        else if (!strcmp(a, "--tasks")) p.tasks = val;
        else if (!strcmp(a, "--mode")) {
            if (strcmp(val, "direct") && strcmp(val, "cot")) return cli_fail("eval: --mode is direct or cot, not '%s'", val);
            p.cot = !strcmp(val, "cot");
        } else if (!strcmp(a, "--shots")) {
            if (cli_parse_int(a, val, 0, 64, &v)) return 1;
            p.shots = (int)v;
        } else if (!strcmp(a, "--self-consistency")) {
            if (cli_parse_int(a, val, 1, 1024, &v)) return 1;
            p.self_consistency = (uint32_t)v;
        } else if (!strcmp(a, "--temperature")) {
            if (cli_parse_float(a, val, &f)) return 1;
            if (!(f > 0)) return cli_fail("eval: --temperature must be > 0");
            p.temperature = (float)f;
        } else if (!strcmp(a, "--seed")) {
            if (cli_parse_int(a, val, 0, 0x7fffffffL, &v)) return 1;
            p.seed = (uint64_t)v;
        } else if (!strcmp(a, "--limit")) {
            if (cli_parse_int(a, val, 0, 0x7fffffffL, &v)) return 1;
            p.limit = (uint32_t)v;
        } else if (!strcmp(a, "--batch-size")) {
            if (cli_parse_int(a, val, 1, 4096, &v)) return 1;
            p.batch_size = (uint32_t)v;
        } else if (!strcmp(a, "--max-new-tokens")) {
            if (cli_parse_int(a, val, 1, 4096, &v)) return 1;
            p.max_new_tokens = (uint32_t)v;
        } else if (!strcmp(a, "--device")) {
            if (cli_parse_int(a, val, 0, 64, &device)) return 1;
        } else if (!strcmp(a, "--profile") || !strcmp(a, "--device-profile")) {
            if (cli_device_profile(a, val)) return 1;
        } else {
            usage(stderr);
            return cli_fail("eval: unknown option '%s'", a);
        }
    }
    if (!p.model_dir || !p.suite || !p.data_dir) {
        usage(stderr);
        return cli_fail("eval: --model, --suite and --data are required");
    }
    bar b = {isatty(2), now()};
    p.progress = progress;
    p.user = &b;
    flanvk_ctx *ctx = NULL;
    if (flanvk_open((int)device, &ctx)) return cli_lib_fail("eval");
    flanvk_eval_result r;
    int rc = flanvk_eval(ctx, &p, &r);
    if (rc) {
        if (b.tty) fputc('\n', stderr);
        rc = cli_lib_fail("eval");
    } else {
        flanvk_eval_print_table(&r, stdout);
        if (p.report_path) fprintf(stderr, "report written to %s\n", p.report_path);
        flanvk_eval_result_free(&r);
    }
    flanvk_close(ctx);
    return rc;
}
