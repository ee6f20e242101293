/* Sorted listing of the files in a directory whose names end in a suffix: the suites find their
 * tasks (MMLU subjects, BBH tasks, MGSM languages, JSONL files) by listing the data directory. */
#ifndef FV_EVAL_LISTDIR_H
#define FV_EVAL_LISTDIR_H

#include <stddef.h>

/* *names: malloc'd array of malloc'd names WITHOUT the suffix, sorted (strcmp); free with
 * fv_eval_names_free. A missing directory is an error naming it. */
int fv_eval_list_dir(const char *dir, const char *suffix, char ***names, size_t *n);
void fv_eval_names_free(char **names, size_t n);

#endif
