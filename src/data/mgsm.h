/* MGSM chain-of-thought exemplars (mgsm_exemplars.json, derived from url-nlp mgsm/exemplars.py):
 * the 8 GSM8K exemplars of Wei et al. translated into each language. q carries the language's own
 * "Question: " prefix and a its "Step-by-Step Answer: ... The answer is N." text, verbatim. */
#ifndef FV_DATA_MGSM_H
#define FV_DATA_MGSM_H

#include <stddef.h>

#define FV_MGSM_MAX_EXEMPLARS 8

typedef struct {
    size_t n;
    char *q[FV_MGSM_MAX_EXEMPLARS];
    char *a[FV_MGSM_MAX_EXEMPLARS];
    long answer[FV_MGSM_MAX_EXEMPLARS];
} fv_mgsm_exemplars;

int fv_mgsm_exemplars_load(fv_mgsm_exemplars *e, const char *path, const char *lang);
void fv_mgsm_exemplars_free(fv_mgsm_exemplars *e);

#endif
