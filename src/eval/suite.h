/* An evaluation run, common to every suite: a list of items {task, prompt, gold answer, optional
 * choices}, built by a suite reader (mmlu.c, bbh.c, mgsm.c, jsonl.c), then executed on a model
 * (suite.c: tokenize, fit to the device, batched generation or shared-prompt rank classification,
 * answer extraction, self-consistency vote), aggregated per task / group / suite (aggregate.c) and
 * reported (report.c: JSON report, terminal table).
 *
 * An item with choices is scored by rank classification: log p(choice | prompt) for each choice,
 * the argmax is the prediction. An item without choices is generated (greedy, or N samples with a
 * majority vote over the extracted answers) and its answer extracted by the item's rule. */
#ifndef FV_EVAL_SUITE_H
#define FV_EVAL_SUITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flanvk/eval.h"

struct fv_t5;
struct fv_tokenizer;

typedef enum {
    FV_EX_CHOICE, /* a letter A.. among n_letters (fv_extract_choice) */
    FV_EX_ANSWER, /* text after "So the answer is", else the whole text (fv_extract_after_answer_is) */
    FV_EX_NUMBER  /* the final number (fv_extract_number) */
} fv_eval_extract;

typedef struct fv_eval_item {
    char *task;
    char *prompt;
    char *gold;             /* the reference answer text ("B", "(A)", "18", "valid") */
    char **choices;         /* rank-classification candidates; NULL when generated */
    uint32_t n_choices;
    int gold_index;         /* index of gold in choices, -1 without choices */
    fv_eval_extract extract;
    uint32_t n_letters;     /* FV_EX_CHOICE: how many letters */
    char stop[64];          /* a generation is cut at this marker before extraction ("" = none) */
    uint32_t shots;         /* exemplars in the prompt */
    int truncated;          /* prompt shortened to fit the device (builders: exemplars dropped) */
    /* filled by fv_eval_execute */
    uint32_t prompt_tokens;
    char **outputs;         /* raw decoded generations (one per sample), or the chosen choice */
    char **extracted;       /* per output */
    uint32_t n_outputs;
    double *logprobs;       /* per choice */
    char *pred;
    int correct;
} fv_eval_item;

typedef struct fv_eval_task {
    char name[128];
    char group[64];
} fv_eval_task;

typedef struct fv_eval_run {
    char suite[16];
    int cot;
    int shots;
    fv_eval_item *items;
    size_t n, cap;
    fv_eval_task *tasks;
    size_t n_tasks, tasks_cap;
    int headline_micro;      /* the suite's paper reports the question-level (micro) average */
    uint32_t n_truncated;
    /* what the builders need */
    const struct fv_tokenizer *tok;
    uint32_t max_prompt_tokens; /* longest prompt one row can take on the device */
    uint32_t limit;             /* first N items per task, 0 = all */
    const char *filter;         /* comma-separated task names, NULL = all */
} fv_eval_run;

void fv_eval_run_init(fv_eval_run *r, const char *suite, int cot, int shots);
void fv_eval_run_free(fv_eval_run *r);
/* Register a task (in report order) with its group ("" if none). */
int fv_eval_add_task(fv_eval_run *r, const char *name, const char *group);
/* Append a copy of it (strings and choices are copied; results are ignored). */
int fv_eval_add_item(fv_eval_run *r, const fv_eval_item *it);
/* 1 if the filter admits the task (no filter, or name listed). */
int fv_eval_task_selected(const fv_eval_run *r, const char *name);

/* Suite builders: read the data directory and add tasks and items. */
int fv_eval_build_mmlu(fv_eval_run *r, const char *dir);
int fv_eval_build_bbh(fv_eval_run *r, const char *dir);
int fv_eval_build_mgsm(fv_eval_run *r, const char *dir);
int fv_eval_build_jsonl(fv_eval_run *r, const char *path);

typedef struct fv_eval_exec_opts {
    uint32_t batch_size;       /* rows per generate call before device fitting; 0 = 16 */
    uint32_t max_new_tokens;
    uint32_t samples;          /* self-consistency; <= 1: greedy */
    float temperature;
    uint64_t seed;
    flanvk_eval_progress_fn progress;
    void *user;
} fv_eval_exec_opts;

/* The longest prompt (tokens) a batch of `rows` rows can take on the model's device, and how many
 * rows of te-token prompts fit in one batch (at most want, at least 1). */
uint32_t fv_eval_max_prompt_tokens(const struct fv_t5 *m, uint32_t rows);
uint32_t fv_eval_fit_rows(const struct fv_t5 *m, uint32_t want, uint32_t te);

/* Tokenize, run and score every item. */
int fv_eval_execute(fv_eval_run *r, struct fv_t5 *m, const fv_eval_exec_opts *o);

/* Scoring pieces (pure, unit-tested): the argmax of n log-probabilities (first on ties); the
 * majority among n answers, compared after fv_normalize_answer, empty answers voting only when all
 * are empty, ties going to the first seen; an item's extraction + vote + match from its outputs. */
uint32_t fv_eval_argmax(const double *v, uint32_t n);
int fv_eval_majority(char *const *answers, uint32_t n);
int fv_eval_score_outputs(fv_eval_item *it);

/* Aggregate into the public result (tasks in registration order, groups in first-seen order). */
int fv_eval_aggregate(const fv_eval_run *r, flanvk_eval_result *out);

/* The JSON report (atomic write) and the terminal table. */
int fv_eval_report_write(const fv_eval_run *r, const flanvk_eval_result *res, const flanvk_eval_params *p,
                         const char *path);
void fv_eval_table_print(const flanvk_eval_result *res, FILE *out);

#endif
