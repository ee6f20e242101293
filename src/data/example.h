/* One task example as every reader yields it, and the streaming reader interface.
 *
 * A reader is an iterator over one file: fv_reader_next() fills an fv_example whose strings belong
 * to the reader and stay valid until the next call to next/rewind/close (copy with
 * fv_example_copy to keep one). Nothing beyond the current example is materialized for line formats
 * (TSV, CSV, JSONL are memory-mapped and walked); the small JSON formats (NIv2, BBH) are parsed once
 * at open and walked by index. fv_reader_rewind() restarts from the first example, so a mixture
 * sampler can hold one open reader per task and stream from all of them, epoch after epoch.
 *
 * Bad input (broken row, missing field, invalid UTF-8, bad JSON) is an error "file:line: what"
 * (fv_last_error); with opts.skip_bad the row is skipped, a warning logged and fv_reader_bad()
 * counts it. A file that cannot be parsed at all (bad JSON document) is an error either way. */
#ifndef FV_DATA_EXAMPLE_H
#define FV_DATA_EXAMPLE_H

#include <stddef.h>

typedef struct fv_example {
    const char *task;        /* task name, e.g. "cot_gsm8k", "bbh_navigate", "mmlu_anatomy" */
    const char *inputs;      /* question / input text, options split off when they could be parsed */
    const char *targets;     /* the answer (first reference) */
    const char *rationale;   /* chain of thought, "" if none */
    const char *definition;  /* task instruction (NIv2 Definition), "" if none */
    const char **options;    /* multiple-choice options, n_options == 0 if none */
    size_t n_options;
    int options_labeled;     /* options carry their own "(A) " labels (AQuA, QASC) */
    int answer_index;        /* index of the answer in options, -1 if unknown / not multiple choice */
    const char **refs;       /* all acceptable targets (NIv2 lists several); refs[0] == targets */
    size_t n_refs;
    const char *id;          /* id from the file (NIv2 instance id) or "" */
    const char *source;      /* file path */
    size_t line;             /* 1-based line where the example starts, 0 for JSON documents */
    size_t index;            /* 0-based position of the example in its file */
    void *owned_;            /* set by fv_example_copy: the block that holds the strings */
} fv_example;

/* Deep copy (one allocation); free with fv_example_free. */
int fv_example_copy(fv_example *dst, const fv_example *src);
void fv_example_free(fv_example *ex);

typedef enum {
    FV_FMT_NIV2,     /* Natural Instructions v2 task JSON */
    FV_FMT_COT_TSV,  /* FLAN CoT: question \t answer \t rationale, "\n" escaped */
    FV_FMT_BBH,      /* BIG-Bench Hard task JSON {"examples": [{"input","target"}]} */
    FV_FMT_MMLU,     /* MMLU CSV: question,A,B,C,D,letter (RFC 4180) */
    FV_FMT_MGSM,     /* MGSM TSV: question \t integer answer */
    FV_FMT_JSONL     /* {"inputs","targets"} or {"question","answer","rationale"} per line */
} fv_data_format;

typedef struct {
    int skip_bad;      /* skip malformed rows (counted, warned) instead of failing */
    const char *task;  /* task name override; default derived from the file name */
} fv_read_opts;

typedef struct fv_reader fv_reader;

/* Open a reader of the given format (opts may be NULL). */
int fv_reader_open(fv_reader **out, const char *path, fv_data_format fmt, const fv_read_opts *opts);
/* Guess the format from the path: *.tsv under "mgsm" or mgsm_*.tsv -> MGSM, other *.tsv -> COT_TSV,
 * *.csv -> MMLU, *.jsonl -> JSONL, *.json with "Instances" -> NIV2, with "examples" -> BBH. */
int fv_reader_open_auto(fv_reader **out, const char *path, const fv_read_opts *opts);

/* 1 = ex filled, 0 = end of file, -1 = error (message in fv_last_error). */
int fv_reader_next(fv_reader *r, fv_example *ex);
int fv_reader_rewind(fv_reader *r);
void fv_reader_close(fv_reader *r);

const char *fv_reader_task(const fv_reader *r);
const char *fv_reader_path(const fv_reader *r);
/* Rows skipped as malformed so far (only with skip_bad; counts across rewinds once per pass). */
size_t fv_reader_bad(const fv_reader *r);
/* Task-level exemplars shipped with the file (NIv2 "Positive Examples", with the explanation as
 * rationale); 0 for other formats. Valid until close. */
size_t fv_reader_n_exemplars(const fv_reader *r);
const fv_example *fv_reader_exemplar(const fv_reader *r, size_t i);

#endif
