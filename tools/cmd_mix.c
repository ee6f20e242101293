/* flanvk mix: render a task mixture, tokenize it and pack it into the binary file `flanvk train`
 * memory-maps. Built on the public API (flanvk/data.h); shows the shared progress bar (cli_util.h)
 * on stderr when it is a terminal and prints examples per task, packing efficiency and truncated
 * examples at the end. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "flanvk/data.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: flanvk mix --mixture M.json --model DIR --out data.pack --seq-len-in L --seq-len-out L2\n"
            "                  [--examples N | --rows N] [--seed S] [--templates DIR] [--skip-bad]\n"
            "Samples examples from the mixture (docs/MIXTURES.md), renders them with instruction templates,\n"
            "tokenizes them with the model's tokenizer (--model: a directory with spiece.model or\n"
            "tokenizer.json) and packs them into rows of L encoder / L2 decoder tokens.\n"
            "Default length: one pass, i.e. the sum over tasks of min(examples, cap). Too-long examples\n"
            "are truncated and counted. --skip-bad skips malformed source rows (counted) instead of failing.\n");
}

static int need(int i, int argc, const char *opt) {
    if (i + 1 >= argc) return cli_fail("mix: %s needs a value", opt);
    return 0;
}

int cmd_mix(int argc, char **argv) {
    flanvk_mix_params p;
    memset(&p, 0, sizeof p);
    long v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--skip-bad")) {
            p.skip_bad = 1;
        } else if (!strcmp(a, "--mixture") || !strcmp(a, "--model") || !strcmp(a, "--out") ||
                   !strcmp(a, "--templates")) {
            if (need(i, argc, a)) return 1;
            const char *val = argv[++i];
            if (!strcmp(a, "--mixture")) p.mixture = val;
            else if (!strcmp(a, "--model")) p.model = val;
            else if (!strcmp(a, "--out")) p.out = val;
            else p.templates = val;
        } else if (!strcmp(a, "--seq-len-in") || !strcmp(a, "--seq-len-out")) {
            if (need(i, argc, a) || cli_parse_int(a, argv[++i], 1, 1 << 20, &v)) return 1;
            if (!strcmp(a, "--seq-len-in")) p.seq_len_in = (uint32_t)v;
            else p.seq_len_out = (uint32_t)v;
        } else if (!strcmp(a, "--examples") || !strcmp(a, "--rows")) {
            if (need(i, argc, a) || cli_parse_int(a, argv[++i], 1, 1L << 40, &v)) return 1;
            if (!strcmp(a, "--examples")) p.examples = (uint64_t)v;
            else p.rows = (uint64_t)v;
        } else if (!strcmp(a, "--seed")) {
            if (need(i, argc, a) || cli_parse_int(a, argv[++i], 0, 1L << 53, &v)) return 1;
            p.has_seed = 1;
            p.seed = (uint64_t)v;
        } else {
            usage(stderr);
            return cli_fail("mix: unknown argument '%s'", a);
        }
    }
    if (!p.mixture || !p.model || !p.out || !p.seq_len_in || !p.seq_len_out) {
        usage(stderr);
        return cli_fail("mix: --mixture, --model, --out, --seq-len-in and --seq-len-out are required");
    }
    if (p.examples && p.rows) return cli_fail("mix: give --examples or --rows, not both");
    cli_progress bar;
    cli_progress_start(&bar, "mix", 0);
    p.progress = cli_progress_cb;
    p.progress_user = &bar;
    flanvk_mix_report r;
    int rc = flanvk_mix(&p, &r);
    cli_progress_end(&bar);
    if (rc) return cli_fail("mix: %s", flanvk_last_error());
    printf("mixture %s (seed %llu) -> %s: %llu examples in %llu rows of %u + %u tokens\n", r.mixture,
           (unsigned long long)r.seed, p.out, (unsigned long long)r.examples, (unsigned long long)r.rows,
           p.seq_len_in, p.seq_len_out);
    printf("%-44s %7s %8s %9s %9s %9s %9s %6s\n", "task", "rate", "examples", "zero_shot", "few_shot", "cot",
           "cot_few", "trunc");
    for (size_t i = 0; i < r.n_tasks; i++) {
        const flanvk_mix_task_report *t = &r.tasks[i];
        printf("%-44s %7.4f %8llu %9llu %9llu %9llu %9llu %6llu\n", t->name, t->rate, (unsigned long long)t->examples,
               (unsigned long long)t->by_format[0], (unsigned long long)t->by_format[1],
               (unsigned long long)t->by_format[2], (unsigned long long)t->by_format[3],
               (unsigned long long)t->truncated);
    }
    printf("packing efficiency %.1f%% (non-padding / all tokens; encoder %.1f%%, decoder %.1f%%)\n",
           100 * r.efficiency, 100 * r.efficiency_in, 100 * r.efficiency_out);
    printf("truncated examples: %llu of %llu\n", (unsigned long long)r.truncated, (unsigned long long)r.examples);
    if (r.bad_rows) printf("skipped malformed source rows: %llu\n", (unsigned long long)r.bad_rows);
    flanvk_mix_report_free(&r);
    return 0;
}
