/* BIG-Bench Hard 3-shot chain-of-thought prompts (cot-prompts/<task>.txt): a canary line, a
 * "-----" line, a one-line task description, then three "Q: ...\nA: Let's think step by step.\n...
 * So the answer is X." exemplars separated by blank lines. We keep the exact text after the "-----"
 * line as the canonical CoT prefix (the BBH paper's usage) and also split it into its parts so the
 * answer-only (direct) 3-shot prompt can be built from the same exemplars. */
#ifndef FV_DATA_BBH_H
#define FV_DATA_BBH_H

#include <stddef.h>

#define FV_BBH_MAX_SHOTS 8

typedef struct {
    char *prefix;       /* exact text after the "-----\n" line (description + exemplars) */
    char *description;  /* first line of prefix */
    size_t n;           /* number of exemplars (3 in every upstream file) */
    char *q[FV_BBH_MAX_SHOTS];       /* exemplar question (text after "Q: ") */
    char *a[FV_BBH_MAX_SHOTS];       /* full CoT answer (text after "A: ") */
    char *answer[FV_BBH_MAX_SHOTS];  /* final answer: after the last "So the answer is ", final "." removed */
} fv_bbh_prompt;

int fv_bbh_prompt_load(fv_bbh_prompt *p, const char *path);
void fv_bbh_prompt_free(fv_bbh_prompt *p);

/* CoT prompt: prefix + "\n\nQ: " + input + "\nA: Let's think step by step." (malloc'd, NULL on OOM). */
char *fv_bbh_prompt_cot(const fv_bbh_prompt *p, const char *input);
/* Direct prompt: description, then "\n\nQ: q\nA: answer" per exemplar, then "\n\nQ: " + input + "\nA:". */
char *fv_bbh_prompt_direct(const fv_bbh_prompt *p, const char *input);

#endif
