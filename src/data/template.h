/* Instruction templates as data: JSON files (assets/templates/<family>.json) loaded at run time, so users
 * add phrasings for their own tasks without recompiling. One file = one template set for a task
 * family:
 *
 *   {"name": "cot_gsm8k",
 *    "tasks": ["cot_gsm8k"],              task names it serves; "prefix*" matches by prefix
 *    "separators": ["\n\n", "\n###\n"],   between few-shot exemplars, one drawn per example
 *    "joiner": " ",                        between an exemplar's inputs and targets (default " ")
 *    "option_styles": ["dash", "OPTIONS", "letters", "letters_lines"],   default: all four
 *    "cot_triggers": ["Let's think step by step."], "cot_trigger_share": 0.3,
 *    "templates": [ {"zero_shot": F, "few_shot": F, "cot": F, "cot_few_shot": F}, ... ]}
 *
 * where each form F = {"inputs": str, "targets": str, "prefix": str (few-shot only, rendered once
 * from the query example before the exemplars)}; a template may carry any subset of the four forms.
 * Placeholders: {question} (= {inputs}), {answer} (= {targets}), {rationale}, {definition},
 * {options}, {task}; "{{" and "}}" are literal braces. Unknown placeholders fail at load time.
 * If a form's inputs lack {options} but the example has options, they are appended after
 * {question} on a new line, so multiple-choice options are never dropped silently.
 * Option styles: dash "Options:\n- a\n- b", OPTIONS "OPTIONS:\n- a\n- b", letters "(A) a (B) b",
 * letters_lines "Options:\n(A) a\n(B) b" (options that already carry "(A) " labels keep them).
 *
 * Rendering (see fv_template_render) draws, in this order, from the rng: the template among those
 * having the requested form, the option style (if the example has options), the separator (few-shot),
 * and for zero-shot CoT whether to append a trigger and which one. Same seed -> same strings. */
#ifndef FV_DATA_TEMPLATE_H
#define FV_DATA_TEMPLATE_H

#include "base/rng.h"
#include "data/example.h"

#include <stddef.h>

typedef enum {
    FV_ZERO_SHOT = 0,    /* instruction + question -> answer */
    FV_FEW_SHOT = 1,     /* k exemplars (answer only) + question -> answer */
    FV_COT = 2,          /* question, asking for reasoning -> "{rationale} So the answer is {answer}." */
    FV_COT_FEW_SHOT = 3  /* k exemplars with reasoning + question -> reasoning + answer */
} fv_format;

typedef struct fv_template_set fv_template_set;
typedef struct fv_template_lib fv_template_lib;

int fv_template_set_load(fv_template_set **out, const char *path);
void fv_template_set_free(fv_template_set *s);
const char *fv_template_set_name(const fv_template_set *s);
/* Number of templates of the set that have form fmt. */
size_t fv_template_set_count(const fv_template_set *s, fv_format fmt);
/* Share in [0,1] of zero-shot CoT prompts that end with a trigger (overrides the file's value). */
void fv_template_set_trigger_share(fv_template_set *s, double share);

/* Render one example. exemplars[0..k) are rendered with the few-shot form (k ignored otherwise).
 * *inputs and *targets are malloc'd; on error both are NULL and the message names the example. */
int fv_template_render(const fv_template_set *s, const fv_example *ex, const fv_example *exemplars,
                       size_t k, fv_format fmt, fv_rng *rng, char **inputs, char **targets);

/* A library of sets: every .json file of a directory (sorted by name, so loading is deterministic). */
int fv_template_lib_load_dir(fv_template_lib **out, const char *dir);
int fv_template_lib_add(fv_template_lib *lib, const char *path);
/* Set for a task: exact name first, then the longest matching "prefix*" pattern; NULL if none. */
fv_template_set *fv_template_lib_find(const fv_template_lib *lib, const char *task);
size_t fv_template_lib_size(const fv_template_lib *lib);
void fv_template_lib_free(fv_template_lib *lib);

const char *fv_format_name(fv_format f);

#endif
