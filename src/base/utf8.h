/* UTF-8 validation, shared by the JSON and task-data readers: a bad byte is reported with its file
 * and position instead of reaching the tokenizer. Strict RFC 3629: no overlong
 * forms, no surrogates (U+D800..DFFF), nothing above U+10FFFF, and no NUL byte (fields are C strings). */
#ifndef FV_BASE_UTF8_H
#define FV_BASE_UTF8_H

#include <stddef.h>

/* Returns 1 if s[0..n) is valid UTF-8 without NUL bytes, else 0 and *bad = offset of the first bad byte
 * (bad may be NULL). */
int fv_utf8_valid(const char *s, size_t n, size_t *bad);

#endif
