/* generate / score request lines (include/flanvk/request.h): JSONL text -> cJSON objects -> ids.
 * Moved here from the command line so the fuzz harness parses exactly what the CLI parses. */
#define _POSIX_C_SOURCE 200809L
#include "flanvk/request.h"

#include "base/error.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void flanvk_requests_free(flanvk_requests *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) cJSON_Delete(r->obj[i]);
    free(r->obj);
    free(r->lineno);
    memset(r, 0, sizeof *r);
}

static int append(flanvk_requests *r, size_t *alloc, cJSON *o, size_t lineno, const char *name) {
    if (r->n == *alloc) {
        size_t a = *alloc ? 2 * *alloc : 64;
        cJSON **no = realloc(r->obj, a * sizeof *no);
        if (no) r->obj = no;
        size_t *nl = no ? realloc(r->lineno, a * sizeof *nl) : NULL;
        if (nl) r->lineno = nl;
        if (!no || !nl) return fv_err("out of memory reading %s", name);
        *alloc = a;
    }
    r->obj[r->n] = o;
    r->lineno[r->n++] = lineno;
    return 0;
}

int flanvk_requests_parse(const char *text, size_t len, const char *name, flanvk_requests *out) {
    if (!out || (!text && len)) return fv_err("flanvk_requests_parse: NULL argument");
    memset(out, 0, sizeof *out);
    if (!name) name = "requests";
    size_t pos = 0, lineno = 0, alloc = 0;
    int rc = 0;
    while (!rc && pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl != NULL);
        lineno++;
        while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n')) n--;
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t')) k++;
        if (k == n) continue;
        if (memchr(line, 0, n)) {
            rc = fv_err("%s:%zu: a NUL byte in the line", name, lineno);
            break;
        }
        cJSON *o = cJSON_ParseWithLength(line, n);
        if (!o) rc = fv_err("%s:%zu: not valid JSON", name, lineno);
        else if (!cJSON_IsObject(o)) rc = fv_err("%s:%zu: expected a JSON object", name, lineno);
        else rc = append(out, &alloc, o, lineno, name);
        if (rc) cJSON_Delete(o);
    }
    if (rc) flanvk_requests_free(out);
    return rc;
}

/* Read all of f into a malloc'd buffer (stdin has no size to map). */
static int slurp(FILE *f, const char *path, char **buf, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    if (!b) return fv_err("out of memory reading %s", path);
    for (;;) {
        if (n == cap) {
            char *nb = cap <= SIZE_MAX / 2 ? realloc(b, cap * 2) : NULL;
            if (!nb) {
                free(b);
                return fv_err("out of memory reading %s", path);
            }
            b = nb;
            cap *= 2;
        }
        size_t k = fread(b + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    if (ferror(f)) {
        free(b);
        return fv_err("%s: read error", path);
    }
    *buf = b;
    *len = n;
    return 0;
}

int flanvk_requests_read(const char *path, flanvk_requests *out) {
    if (!path || !out) return fv_err("flanvk_requests_read: NULL argument");
    memset(out, 0, sizeof *out);
    int use_stdin = strcmp(path, "-") == 0;
    FILE *f = use_stdin ? stdin : fopen(path, "rb");
    if (!f) return fv_err("%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0;
    int rc = slurp(f, path, &buf, &len);
    if (!use_stdin) fclose(f);
    if (!rc) rc = flanvk_requests_parse(buf, len, path, out);
    free(buf);
    return rc;
}

/* A JSON array of non-negative integers below 2^32 as uint32. */
static int json_ids(const cJSON *arr, uint32_t **ids, uint32_t *n) {
    if (!cJSON_IsArray(arr)) return -1;
    int k = cJSON_GetArraySize(arr);
    uint32_t *v = malloc((size_t)(k > 0 ? k : 1) * sizeof *v);
    if (!v) return -1;
    uint32_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        double x = e->valuedouble;
        if (!cJSON_IsNumber(e) || !(x >= 0) || x > 4294967295.0 || x != floor(x)) {
            free(v);
            return -1;
        }
        v[i++] = (uint32_t)x;
    }
    *ids = v;
    *n = i;
    return 0;
}

int flanvk_request_ids(const cJSON *obj, const char *file, size_t lineno, const flanvk_tokenizer *tok, uint32_t vocab_size,
                       uint32_t max_tokens, const char *text_key, const char *ids_key, uint32_t **ids, uint32_t *n) {
    if (!obj || !file || !text_key || !ids_key || !ids || !n) return fv_err("flanvk_request_ids: NULL argument");
    *ids = NULL;
    *n = 0;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, ids_key);
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(obj, text_key);
    int rc = 0;
    if (arr) {
        if (json_ids(arr, ids, n)) return fv_err("%s:%zu: \"%s\" must be an array of token ids", file, lineno, ids_key);
    } else if (cJSON_IsString(text)) {
        if (!tok)
            return fv_err("%s:%zu: text \"%s\" needs a tokenizer, and the model directory has none (give \"%s\")", file,
                          lineno, text_key, ids_key);
        size_t k = 0;
        if (flanvk_tokenizer_encode(tok, text->valuestring, strlen(text->valuestring), 1, ids, &k))
            return fv_err_wrap("%s:%zu", file, lineno);
        if (k > UINT32_MAX) rc = fv_err("%s:%zu: \"%s\" is too long", file, lineno, text_key);
        *n = (uint32_t)k;
    } else {
        return fv_err("%s:%zu: expected \"%s\" (text) or \"%s\" (ids)", file, lineno, text_key, ids_key);
    }
    if (!rc && !*n) rc = fv_err("%s:%zu: \"%s\" is empty", file, lineno, arr ? ids_key : text_key);
    for (uint32_t i = 0; !rc && i < *n; i++)
        if ((*ids)[i] >= vocab_size)
            rc = fv_err("%s:%zu: token id %u is outside the vocabulary (%u)", file, lineno, (*ids)[i], vocab_size);
    if (!rc && max_tokens && *n > max_tokens)
        rc = fv_err("%s:%zu: %u tokens; this model on this device takes at most %u", file, lineno, *n, max_tokens);
    if (rc) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return rc;
}
