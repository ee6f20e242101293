/* flanvk: the command-line entry point, dispatching to subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
    {"devices", cmd_devices, "list Vulkan devices and mark the one flanvk uses"},
    {"test-ops", cmd_test_ops, "check every GPU op against its CPU reference on this device"},
    {"mix", cmd_mix, "render, tokenize and pack a task mixture into a training file"},
    {"train", cmd_train, "finetune a T5 on packed data (Hugging Face checkpoints out)"},
    {"generate", cmd_generate, "answers from a model: --prompt TEXT or --input/--output JSONL"},
    {"score", cmd_score, "log-probability of targets given inputs (rank classification)"},
    {"plot", cmd_plot, "draw training logs (train --log CSV) as a loss plot PNG"},
    {"info", cmd_info, "a model's config, parameter count and memory"},
    {"convert", cmd_convert, "rewrite a model with f16, bf16 or q8 (int8) weights"},
    {"merge", cmd_merge, "fold a PEFT LoRA adapter into its base model (full checkpoint out)"},
    {"eval", cmd_eval, "evaluate on MMLU, BBH, MGSM or JSONL (direct or chain-of-thought)"},
    {"tokenize", cmd_tokenize, "text lines on stdin -> T5 token ids (--decode: ids -> text)"},
    {"serve", cmd_serve, "a local HTTP inference server (OpenAI completions, continuous batching)"},
    {"bench", cmd_bench, "measure speed: bench ops"},
    {NULL, NULL, NULL},
};

int cli_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("flanvk: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_lib_fail(const char *what) {
    if (what) return cli_fail("%s: %s", what, flanvk_last_error());
    return cli_fail("%s", flanvk_last_error());
}

int cli_parse_int(const char *opt, const char *val, long lo, long hi, long *out) {
    if (!val) return cli_fail("%s needs a value", opt);
    char *end;
    long v = strtol(val, &end, 10);
    if (!*val || *end || v < lo || v > hi) return cli_fail("%s: '%s' is not a whole number in [%ld, %ld]", opt, val, lo, hi);
    *out = v;
    return 0;
}

int cli_parse_float(const char *opt, const char *val, double *out) {
    if (!val) return cli_fail("%s needs a value", opt);
    char *end;
    double v = strtod(val, &end);
    if (!*val || *end) return cli_fail("%s: '%s' is not a number", opt, val);
    *out = v;
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "usage: flanvk COMMAND [OPTIONS]   (flanvk COMMAND --help for its options)\n\ncommands:\n");
    for (const cli_command *c = commands; c->name; c++) fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\nenvironment: FLANVK_DEVICE=N picks a device; FLANVK_VALIDATION=1 enables the Khronos validation layer\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("flanvk %s\n", flanvk_version());
        return 0;
    }
    for (const cli_command *c = commands; c->name; c++)
        if (!strcmp(argv[1], c->name)) return c->run(argc - 1, argv + 1);
    cli_fail("unknown command '%s'", argv[1]);
    usage(stderr);
    return 2;
}
