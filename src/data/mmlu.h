/* MMLU subject metadata (shared/data/mmlu/subjects.json, from hendrycks/test categories.py):
 * subject -> subcategory, category (STEM / humanities / social sciences / other) and row counts, used
 * to report per-category accuracy. The questions themselves are read by the FV_FMT_MMLU reader. */
#ifndef FV_DATA_MMLU_H
#define FV_DATA_MMLU_H

#include <stddef.h>

typedef struct {
    char name[96];         /* e.g. "abstract_algebra" */
    char subcategory[64];  /* e.g. "math" */
    char category[64];     /* e.g. "STEM" */
    int n_dev, n_test;
} fv_mmlu_subject;

/* Load all subjects in file order; free *out with free(). */
int fv_mmlu_subjects_load(const char *path, fv_mmlu_subject **out, size_t *n);
/* Find a subject by name, NULL if absent. */
const fv_mmlu_subject *fv_mmlu_subject_find(const fv_mmlu_subject *s, size_t n, const char *name);

#endif
