/* Task mixtures: which sources to train on, at what rates, rendered in which prompt formats.
 * A streaming, seeded sampler: one open reader per source, a task drawn by rate for every example,
 * that reader's next example taken (rewound at its end, epoch after epoch), rendered with a template
 * of its task. Memory is O(sources * exemplar ring), never O(data). Schema (docs/MIXTURES.md):
 *
 *   {"name": "default",                    required
 *    "seed": 1234,                          default 0; `flanvk mix --seed` overrides
 *    "templates": "../templates",           template directory, relative to this file
 *                                           (default: assets/templates, relative to the cwd)
 *    "rate": "examples_proportional",       or "weights"
 *    "cap": 3000,                           examples_proportional: per-task cap (default none)
 *    "formats": {"zero_shot": 0.5, "few_shot": 0.3, "cot": 0.2, "cot_few_shot": 0.0,
 *                "cot_trigger_share": 0.3,  optional: overrides every template set's value
 *                "few_shot_k": [1, 3]},     exemplars per few-shot prompt, uniform in [lo, hi]
 *    "sources": [{"path": "../data/cot/gsm8k_train.tsv",   relative to this file
 *                 "format": "cot_tsv",      niv2|cot_tsv|bbh|mmlu|mgsm|jsonl|auto (default auto)
 *                 "task": "cot_gsm8k",      optional task name override (also picks the templates)
 *                 "weight": 1.0}]}          optional, >= 0, default 1
 *
 * Rates: examples_proportional: r_i ∝ weight_i * min(n_i, cap) (T5 / Flan "examples-proportional
 * mixing with a per-task cap", Raffel et al. 2020 §3.5.2; n_i counted by one streaming pass over
 * each source at load); weights: r_i ∝ weight_i.
 * Formats: for each example the shares are renormalised over the forms it can take: its template
 * set must have the form, CoT forms need a rationale, few-shot forms need at least one exemplar.
 * If every form it can take has share 0, one of them is drawn uniformly (an example is never
 * dropped because of the shares). Few-shot exemplars come from a ring of the task's most recent
 * examples (seeded with its first ones at load), never the example itself (compared by index in
 * the file) and without repeats. Every draw comes from one seeded rng in a fixed order: the same
 * file and seed give the same stream. */
#ifndef FV_DATA_MIXTURE_H
#define FV_DATA_MIXTURE_H

#include "data/example.h"
#include "data/template.h"

#include <stddef.h>
#include <stdint.h>

#define FV_MIX_MAX_K 8  /* most exemplars per few-shot prompt */
#define FV_MIX_RING 16  /* exemplar ring per task */

typedef struct fv_mixture fv_mixture;

typedef struct {
    int skip_bad;      /* skip malformed rows in the sources (counted) */
    int has_seed;      /* override the file's seed */
    uint64_t seed;
    const char *templates; /* override the template directory (NULL: from the file) */
} fv_mixture_opts;

typedef struct {
    const char *name;   /* task name */
    const char *path;   /* resolved source path */
    size_t n_examples;  /* examples in the source (after skipped bad rows) */
    double rate;        /* normalised sampling rate */
    uint64_t drawn;     /* examples drawn so far */
    uint64_t by_format[4];
} fv_mix_task;

typedef struct {
    size_t task;                /* index into the mixture's tasks */
    const char *task_name;
    fv_format format;
    const char *inputs, *targets; /* rendered; valid until the next call / free */
    size_t ex_index;            /* the example's 0-based index in its file */
    size_t n_shots;
    size_t shot_index[FV_MIX_MAX_K]; /* exemplars' indices in the same file */
} fv_mix_sample;

int fv_mixture_load(fv_mixture **out, const char *path, const fv_mixture_opts *opts);
void fv_mixture_free(fv_mixture *m);
/* Draw, read and render the next example. 0 ok, -1 error (message names file and line). */
int fv_mixture_next(fv_mixture *m, fv_mix_sample *s);

const char *fv_mixture_name(const fv_mixture *m);
const char *fv_mixture_path(const fv_mixture *m);
uint64_t fv_mixture_seed(const fv_mixture *m);
size_t fv_mixture_n_tasks(const fv_mixture *m);
const fv_mix_task *fv_mixture_task(const fv_mixture *m, size_t i);
/* sum over tasks of min(n_i, cap): the default number of examples for one pass. */
uint64_t fv_mixture_epoch(const fv_mixture *m);
/* Bad rows skipped so far over all sources (skip_bad). */
size_t fv_mixture_bad_rows(const fv_mixture *m);

#endif
