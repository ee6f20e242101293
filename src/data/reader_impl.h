/* Internals shared by the readers (src/data/read_*.c): the reader base struct with its operations,
 * a line cursor over a memory-mapped file, a small string pool for the current example's fields,
 * and the bad-row policy (error, or counted warning with skip_bad). Not part of the public API. */
#ifndef FV_DATA_READER_IMPL_H
#define FV_DATA_READER_IMPL_H

#include "base/error.h"
#include "base/file.h"
#include "data/example.h"
#include "data/strbuf.h"

#include <stdarg.h>

#define FV_MAX_OPTIONS 32

struct fv_reader_ops {
    int (*next)(fv_reader *r, fv_example *ex);
    int (*rewind)(fv_reader *r);
    void (*close)(fv_reader *r);
};

struct fv_reader {
    const struct fv_reader_ops *ops;
    char path[512];
    char task[256];
    int skip_bad;
    size_t bad;
    fv_example *exemplars;
    size_t n_exemplars;
};

/* Fill the base part; task = opts->task or the file's base name without extension, with prefix. */
void fv_reader_init(fv_reader *r, const struct fv_reader_ops *ops, const char *path,
                    const fv_read_opts *opts, const char *task_prefix);

/* Set ex to a plain example of this reader: the reader's task and path, `inputs`, `*refs` as the
 * target and its only reference (refs must outlive the example), no rationale, definition,
 * options or id, answer_index -1. Readers then set what their format adds. */
void fv_reader_example(const fv_reader *r, fv_example *ex, const char *inputs, const char **refs, size_t line,
                       size_t index);

/* Malformed row at `line` (0 = no line; then `what` should name the position). With skip_bad:
 * warn, count, return 1 (caller skips the row). Otherwise record "path:line: what" and return -1. */
int fv_reader_bad_row(fv_reader *r, size_t line, const char *fmt, ...) FV_PRINTF(3, 4);

/* Line cursor over a mapped file. */
typedef struct {
    fv_map map;
    size_t pos;
    size_t line; /* number of the line last returned (1-based) */
} fv_lines;

int fv_lines_open(fv_lines *l, const char *path);
/* Next line without its "\n" (and without a trailing "\r"); 0 at end of file. */
int fv_lines_next(fv_lines *l, const char **s, size_t *n);
void fv_lines_rewind(fv_lines *l);
void fv_lines_close(fv_lines *l);

/* Pool of strings for the current example: add pieces, end each string, then resolve pointers. */
typedef struct {
    fv_sb buf;
    size_t off[FV_MAX_OPTIONS + 8];
    const char *ptr[FV_MAX_OPTIONS + 8];
    size_t n;
    int overflow;
} fv_pool;

void fv_pool_clear(fv_pool *p);
/* Append bytes to the string being built. */
void fv_pool_add(fv_pool *p, const char *s, size_t n);
/* Append bytes decoding the two-character escape "\n" into a newline (FLAN TSV convention); every
 * other backslash is kept as is. */
void fv_pool_add_unescaped(fv_pool *p, const char *s, size_t n);
/* Finish the current string and return its slot, or -1 when the pool is full. */
int fv_pool_end(fv_pool *p);
/* Whole string in one call. */
int fv_pool_str(fv_pool *p, const char *s, size_t n);
/* Resolve offsets into pointers (after the last add; returns -1 on out-of-memory). */
int fv_pool_resolve(fv_pool *p);
void fv_pool_free(fv_pool *p);

/* A reader over the lines of one file (the TSV and JSONL formats): its cursor, the current
 * example's string pool and the count of examples returned. Formats embed it first and may add
 * fields; rewind and close are shared (close_extra, if set, frees what a format added). */
typedef struct fv_line_reader {
    fv_reader base;
    fv_lines lines;
    fv_pool pool;
    size_t index;
    void (*close_extra)(struct fv_line_reader *r);
} fv_line_reader;

/* Allocate `size` bytes (the format's struct, starting with fv_line_reader), set up the base and
 * map the file. On error nothing is left allocated. */
int fv_line_reader_open(size_t size, const struct fv_reader_ops *ops, const char *path, const fv_read_opts *o,
                        const char *task_prefix, fv_line_reader **out);
int fv_line_reader_rewind(fv_reader *r);
void fv_line_reader_close(fv_reader *r);
/* Next line that is not blank and is valid UTF-8 (invalid ones go through fv_reader_bad_row):
 * 1 with the line, 0 at end of file, -1 on error. */
int fv_line_reader_next(fv_line_reader *r, const char **s, size_t *n, size_t *line);

/* Split "question\nOptions:\n- a\n- b" (the FLAN CoT layout, also "(A) a" lines) into the question
 * text and options. Returns the number of options (0 when the text has no parseable option block;
 * then *qlen = n). Options are returned as (start, length) pairs into s; "- " is stripped. */
size_t fv_split_options(const char *s, size_t n, size_t *qlen, size_t opt_off[], size_t opt_len[],
                        size_t max_opts, int *labeled);
/* Index of the option equal to answer, or labeled "(C)"/"Sentence A" style ("ans" followed by ' ' or
 * ':'), else -1. */
int fv_match_option(const char *const *opts, size_t n, const char *answer);

/* Per-format constructors (read_*.c), dispatched by fv_reader_open. */
int fv_open_niv2(fv_reader **out, const char *path, const fv_read_opts *o);
int fv_open_cot_tsv(fv_reader **out, const char *path, const fv_read_opts *o);
int fv_open_bbh(fv_reader **out, const char *path, const fv_read_opts *o);
int fv_open_mmlu(fv_reader **out, const char *path, const fv_read_opts *o);
int fv_open_mgsm(fv_reader **out, const char *path, const fv_read_opts *o);
int fv_open_jsonl(fv_reader **out, const char *path, const fv_read_opts *o);

/* Read and parse a whole JSON document after checking it is valid UTF-8; errors name the file and
 * line. *out is freed with cJSON_Delete. */
struct cJSON;
int fv_json_load(const char *path, struct cJSON **out);

/* Line number (1-based) of byte offset off in text. */
size_t fv_line_of(const char *text, size_t off);

#endif
