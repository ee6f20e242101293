/* generate / score request lines: the JSONL files `flanvk generate --input` and `flanvk score --input`
 * read, one JSON object per line, each answered by the same object plus the outputs. The parsing is
 * here, in the library, so the command line and the fuzz harness (tests/fuzz/fuzz_request.c) run the
 * same code. Errors are one line "FILE:LINE: problem" kept for flanvk_last_error().
 *
 * The objects are cJSON's (the CLI adds the output fields to them and prints them back); link
 * libcjson to use them. */
#ifndef FLANVK_REQUEST_H
#define FLANVK_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "flanvk/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

/* The non-blank lines of a JSONL text, parsed; obj[i] came from line lineno[i] (1-based). */
typedef struct {
    struct cJSON **obj;
    size_t *lineno;
    size_t n;
} flanvk_requests;

/* Parse len bytes of JSONL text; name is the file in messages. Blank lines (spaces and tabs only)
 * are skipped; a line with a NUL byte, invalid JSON or a value that is not an object is an error.
 * On error *out is empty. */
int flanvk_requests_parse(const char *text, size_t len, const char *name, flanvk_requests *out);
/* Read and parse a file ("-" = standard input). */
int flanvk_requests_read(const char *path, flanvk_requests *out);
void flanvk_requests_free(flanvk_requests *r);

/* The token ids of one side of request obj: the array under ids_key (non-negative integers), or
 * the string under text_key tokenized by tok with </s> appended (tok may be NULL: then a text is an
 * error). The ids must be non-empty, each < vocab_size, and at most max_tokens of them (0: no
 * limit). *ids is malloc'd (free() it), also set to NULL on error. */
int flanvk_request_ids(const struct cJSON *obj, const char *file, size_t lineno, const flanvk_tokenizer *tok,
                       uint32_t vocab_size, uint32_t max_tokens, const char *text_key, const char *ids_key,
                       uint32_t **ids, uint32_t *n);

#ifdef __cplusplus
}
#endif

#endif
