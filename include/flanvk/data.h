/* flanvk data: build packed training files from a task mixture (`flanvk mix`).
 * A mixture file (JSON, docs/MIXTURES.md) names task sources, their sampling rates and the shares of
 * prompt formats; flanvk_mix streams examples from it (deterministic for a seed), renders them with
 * instruction templates, tokenizes them and packs them greedily into fixed-length rows with segment
 * ids, written atomically to a binary file that `flanvk train` memory-maps. Functions return 0 on
 * success; on failure flanvk_last_error() names the file (and line) at fault and no output file is
 * left behind. */
#ifndef FLANVK_DATA_H
#define FLANVK_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "flanvk/flanvk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called now and then while mixing: done out of total (examples, or rows with params.rows).
 * Identical to the typedef in flanvk/model.h (C11 allows the repetition). */

typedef struct flanvk_mix_params {
    const char *mixture;       /* mixture JSON */
    const char *model;         /* model directory or tokenizer file (spiece.model / tokenizer.json) */
    const char *out;           /* packed file to write */
    uint32_t seq_len_in;       /* encoder row length L */
    uint32_t seq_len_out;      /* decoder row length L2 */
    uint64_t examples;         /* stop after this many examples; */
    uint64_t rows;             /* or after this many rows (examples == 0); both 0: one pass, i.e.
                                  the sum over tasks of min(examples, cap) */
    int has_seed;              /* override the mixture's seed with `seed` */
    uint64_t seed;
    int skip_bad;              /* skip malformed rows in the sources (counted) instead of failing */
    const char *templates;     /* template directory override, NULL = the mixture's */
    flanvk_progress_fn progress; /* may be NULL */
    void *progress_user;
} flanvk_mix_params;

typedef struct flanvk_mix_task_report {
    char name[256];
    uint64_t source_examples;  /* examples in the task's file */
    double rate;               /* sampling rate */
    uint64_t examples;         /* examples written */
    uint64_t by_format[4];     /* zero-shot, few-shot, CoT, CoT few-shot */
    uint64_t truncated;
} flanvk_mix_task_report;

typedef struct flanvk_mix_report {
    char mixture[256];
    uint64_t seed;
    uint64_t examples, rows, truncated, bad_rows;
    uint64_t tokens_in, tokens_out;        /* non-padding tokens */
    double efficiency;                     /* non-padding / all tokens, encoder and decoder together */
    double efficiency_in, efficiency_out;
    size_t n_tasks;
    flanvk_mix_task_report *tasks;         /* free with flanvk_mix_report_free */
} flanvk_mix_report;

int flanvk_mix(const flanvk_mix_params *p, flanvk_mix_report *out);
void flanvk_mix_report_free(flanvk_mix_report *r);
/* Name of format i of by_format ("zero_shot", "few_shot", "cot", "cot_few_shot"). */
const char *flanvk_mix_format_name(int i);

#ifdef __cplusplus
}
#endif

#endif
