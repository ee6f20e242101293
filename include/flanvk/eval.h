/* flanvk evaluation: the held-out suites of the Flan papers (MMLU 5-shot, BBH 3-shot, MGSM 8-shot CoT)
 * and a generic JSONL suite, in direct (answer-only) or chain-of-thought mode, with optional
 * self-consistency. One call loads the model, builds every prompt, runs batched generation (or rank
 * classification for multiple choice in direct mode), extracts and scores the answers, aggregates
 * per task / group / suite, and optionally writes a JSON report holding every prompt, raw output
 * and extracted answer. Functions return 0 on success; flanvk_last_error() says what failed. */
#ifndef FLANVK_EVAL_H
#define FLANVK_EVAL_H

#include <stdint.h>
#include <stdio.h>

#include "flanvk/flanvk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called after each evaluated item (done of total). */
typedef void (*flanvk_eval_progress_fn)(uint64_t done, uint64_t total, void *user);

typedef struct flanvk_eval_params {
    const char *model_dir;       /* config.json + weights + tokenizer */
    const char *suite;           /* "mmlu", "bbh", "mgsm" or "jsonl" */
    const char *data_dir;        /* mmlu/: data/{dev,test}/ + subjects.json; bbh/: bbh/ + cot-prompts/;
                                    mgsm/: mgsm_<lang>.tsv + mgsm_exemplars.json; jsonl: a dir of *.jsonl or one file */
    int cot;                     /* 0 direct, 1 chain of thought */
    int shots;                   /* exemplars; -1 = the suite's default (MMLU 5, BBH 3, MGSM 8, JSONL 0) */
    uint32_t self_consistency;   /* samples per item with majority vote; 0 or 1 = greedy */
    float temperature;           /* sampling temperature for self-consistency (0.7 if 0) */
    uint64_t seed;
    uint32_t limit;              /* first N items per task; 0 = all */
    uint32_t batch_size;         /* rows generated together; 0 = 16 (reduced to fit the device) */
    uint32_t max_new_tokens;     /* 0 = suite default (direct 32, CoT 256) */
    const char *tasks;           /* comma-separated task / subject / language filter; NULL = all */
    const char *report_path;     /* write the JSON report here (atomically); NULL = none */
    const char *weights;         /* storage type of the weights (flanvk_load_opts); NULL = the checkpoint's own */
    const char *kv_cache;        /* "f32" / "f16"; NULL = the default (flanvk_load_opts) */
    const char *adapter;         /* a PEFT LoRA adapter directory applied unmerged; NULL = none */
    flanvk_eval_progress_fn progress;
    void *user;
} flanvk_eval_params;

void flanvk_eval_params_default(flanvk_eval_params *p);

typedef struct flanvk_eval_score {
    char name[128];        /* task, subject, language, or group name */
    char group[64];        /* tasks: the group they belong to ("" if none) */
    uint32_t n_tasks;      /* groups: tasks in the group */
    uint32_t n, correct;   /* items */
    double accuracy;       /* tasks: correct / n; groups: macro (mean of task accuracies) */
    double micro;          /* correct / n */
} flanvk_eval_score;

typedef struct flanvk_eval_result {
    char suite[16];
    char mode[8];              /* "direct" / "cot" */
    uint32_t n_tasks, n_groups;
    flanvk_eval_score *tasks;  /* per task, in order */
    flanvk_eval_score *groups; /* MMLU categories; BBH "NLP" / "algorithmic"; none for MGSM / JSONL */
    uint32_t n_items, n_correct;
    double macro;              /* mean over tasks of their accuracy */
    double micro;              /* correct / items */
    double headline;           /* the number the suite's paper tables report (see headline_name) */
    char headline_name[32];    /* "macro" or "micro" */
    uint32_t n_truncated;      /* prompts shortened to fit the device (exemplars dropped / left-cut) */
    double seconds;
} flanvk_eval_result;

/* Run an evaluation on the context's device. *out is filled (free with flanvk_eval_result_free). */
int flanvk_eval(flanvk_ctx *ctx, const flanvk_eval_params *p, flanvk_eval_result *out);
void flanvk_eval_result_free(flanvk_eval_result *r);
/* The terminal table: one line per task, the groups, the averages. */
void flanvk_eval_print_table(const flanvk_eval_result *r, FILE *out);

#ifdef __cplusplus
}
#endif

#endif
