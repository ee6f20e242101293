/* Typed cJSON accessors (see json_util.h). */
#include "io/json_util.h"

#include "base/error.h"
#include "base/utf8.h"

#include <math.h>
#include <string.h>

int fv_json_parse_object(cJSON **out, const char *text, size_t n, const char *file) {
    *out = NULL;
    size_t bad;
    if (!fv_utf8_valid(text, n, &bad)) return fv_err("%s: invalid UTF-8 in JSON at byte %zu", file, bad);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        const char *e = cJSON_GetErrorPtr();
        if (e && e >= text && e <= text + n) at = (size_t)(e - text);
        return fv_err("%s: malformed JSON near byte %zu", file, at);
    }
    for (const char *p = end; p && p < text + n; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == 0) continue;
        cJSON_Delete(root);
        return fv_err("%s: trailing data after JSON at byte %zu", file, (size_t)(p - text));
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return fv_err("%s: JSON top level is not an object", file);
    }
    *out = root;
    return 0;
}

static const cJSON *field(const cJSON *obj, const char *key, int required, int *absent, const char *file) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *absent = !v || cJSON_IsNull(v);
    if (*absent && required) fv_err("%s: missing key '%s'", file, key);
    return v;
}

int fv_json_int(const cJSON *obj, const char *key, int required, int64_t lo, int64_t hi, int64_t *out,
                const char *file) {
    int absent;
    const cJSON *v = field(obj, key, required, &absent, file);
    if (absent) return required ? -1 : 0;
    if (!cJSON_IsNumber(v)) return fv_err("%s: key '%s' must be an integer", file, key);
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0)
        return fv_err("%s: key '%s' must be an integer, got %g", file, key, d);
    int64_t x = (int64_t)d;
    if (x < lo || x > hi)
        return fv_err("%s: key '%s' = %lld is out of range [%lld, %lld]", file, key, (long long)x, (long long)lo,
                      (long long)hi);
    *out = x;
    return 0;
}

int fv_json_num(const cJSON *obj, const char *key, int required, double *out, const char *file) {
    int absent;
    const cJSON *v = field(obj, key, required, &absent, file);
    if (absent) return required ? -1 : 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return fv_err("%s: key '%s' must be a number", file, key);
    *out = v->valuedouble;
    return 0;
}

int fv_json_bool(const cJSON *obj, const char *key, int required, int *out, const char *file) {
    int absent;
    const cJSON *v = field(obj, key, required, &absent, file);
    if (absent) return required ? -1 : 0;
    if (!cJSON_IsBool(v)) return fv_err("%s: key '%s' must be true or false", file, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

int fv_json_str(const cJSON *obj, const char *key, int required, char *out, size_t n, const char *file) {
    int absent;
    const cJSON *v = field(obj, key, required, &absent, file);
    if (absent) return required ? -1 : 0;
    if (!cJSON_IsString(v)) return fv_err("%s: key '%s' must be a string", file, key);
    if (strlen(v->valuestring) >= n) return fv_err("%s: key '%s' is too long", file, key);
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

void fv_json_put_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}
