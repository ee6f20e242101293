/* Small typed accessors over cJSON for reading config files: each checks the JSON type and range
 * and reports "FILE: key 'KEY' ..." on failure, so callers need one line per field. Also a UTF-8
 * validator (cJSON accepts any bytes) and a JSON string escaper for hand-written JSON output. */
#ifndef FV_IO_JSON_UTIL_H
#define FV_IO_JSON_UTIL_H

#include <cjson/cJSON.h>

#include "base/utf8.h" /* fv_utf8_valid */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>


/* Parse JSON text that must be one object (trailing whitespace allowed). file names the source in
 * messages. On success *out is the root (free with cJSON_Delete). */
int fv_json_parse_object(cJSON **out, const char *text, size_t n, const char *file);

/* Field readers. If the key is absent: with required != 0 it is an error, otherwise *out keeps its
 * value (the caller's default) and 0 is returned. JSON null counts as absent (transformers writes
 * null for unset optional ids). Integers must be integral numbers within [lo, hi]. */
int fv_json_int(const cJSON *obj, const char *key, int required, int64_t lo, int64_t hi, int64_t *out,
                const char *file);
int fv_json_num(const cJSON *obj, const char *key, int required, double *out, const char *file);
int fv_json_bool(const cJSON *obj, const char *key, int required, int *out, const char *file);
/* Copies the string into out (size n); too long is an error. */
int fv_json_str(const cJSON *obj, const char *key, int required, char *out, size_t n, const char *file);

/* Write s as a JSON string literal (with quotes) to f. */
void fv_json_put_string(FILE *f, const char *s);

#endif
