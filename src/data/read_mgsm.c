/* Reader for MGSM (google-research/url-nlp mgsm/mgsm_<lang>.tsv): one problem per line,
 * "question <TAB> integer answer", no header, no quoting. Task name "mgsm_<lang>".
 * Also loads the DERIVED mgsm_exemplars.json (the 8 CoT exemplars of each language). */
#include "data/mgsm.h"

#include "data/reader_impl.h"
#include "base/utf8.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef fv_line_reader mgsm_reader;

static int is_number(const char *s, size_t n) {
    size_t i = 0, digits = 0;
    if (i < n && s[i] == '-') i++;
    for (; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') digits++;
        else if (s[i] != '.' && s[i] != ',') return 0;
    }
    return digits > 0;
}

static int mgsm_next(fv_reader *br, fv_example *ex) {
    mgsm_reader *r = (mgsm_reader *)br;
    const char *s;
    size_t n;
    size_t line;
    int got;
    while ((got = fv_line_reader_next(r, &s, &n, &line)) > 0) {
        const char *tab = memchr(s, '\t', n);
        if (!tab || memchr(tab + 1, '\t', n - (size_t)(tab + 1 - s))) {
            if (fv_reader_bad_row(br, line, "expected 2 tab-separated columns (question, answer)") < 0) return -1;
            continue;
        }
        size_t ql = (size_t)(tab - s), al = n - ql - 1;
        const char *a = tab + 1;
        while (al && (a[al - 1] == ' ')) al--;
        if (ql == 0 || !is_number(a, al)) {
            if (fv_reader_bad_row(br, line, ql == 0 ? "empty question" : "answer is not a number") < 0) return -1;
            continue;
        }
        fv_pool_clear(&r->pool);
        fv_pool_str(&r->pool, s, ql);
        fv_pool_str(&r->pool, a, al);
        FV_TRY(fv_pool_resolve(&r->pool));
        fv_reader_example(br, ex, r->pool.ptr[0], &r->pool.ptr[1], line, r->index++);
        return 1;
    }
    return got;
}

static const struct fv_reader_ops mgsm_ops = {mgsm_next, fv_line_reader_rewind, fv_line_reader_close};

int fv_open_mgsm(fv_reader **out, const char *path, const fv_read_opts *o) {
    mgsm_reader *r;
    FV_TRY(fv_line_reader_open(sizeof *r, &mgsm_ops, path, o, "", &r));
    *out = &r->base;
    return 0;
}

/* ---- exemplars ---- */

void fv_mgsm_exemplars_free(fv_mgsm_exemplars *e) {
    for (size_t i = 0; i < e->n; i++) {
        free(e->q[i]);
        free(e->a[i]);
    }
    memset(e, 0, sizeof *e);
}

int fv_mgsm_exemplars_load(fv_mgsm_exemplars *e, const char *path, const char *lang) {
    memset(e, 0, sizeof *e);
    char *text;
    size_t size, bad;
    FV_TRY(fv_read_file(path, &text, &size));
    if (!fv_utf8_valid(text, size, &bad)) {
        int rc = fv_err("%s:%zu: invalid UTF-8", path, fv_line_of(text, bad));
        free(text);
        return rc;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, size, &end, 0);
    if (!root) {
        size_t off = end ? (size_t)(end - text) : 0;
        int rc = fv_err("%s:%zu: invalid JSON", path, fv_line_of(text, off));
        free(text);
        return rc;
    }
    int rc = 0;
    cJSON *nums = cJSON_GetObjectItemCaseSensitive(root, "exemplar_number_answers");
    cJSON *ex = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "exemplars"), lang);
    if (!cJSON_IsArray(nums) || !cJSON_IsObject(ex)) {
        rc = fv_err("%s: missing \"exemplar_number_answers\" or \"exemplars\".\"%s\"", path, lang);
        goto done;
    }
    for (int i = 1; i <= FV_MGSM_MAX_EXEMPLARS; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        cJSON *it = cJSON_GetObjectItemCaseSensitive(ex, key);
        if (!it) break;
        cJSON *q = cJSON_GetObjectItemCaseSensitive(it, "q"), *a = cJSON_GetObjectItemCaseSensitive(it, "a");
        cJSON *num = cJSON_GetArrayItem(nums, i - 1);
        if (!cJSON_IsString(q) || !cJSON_IsString(a) || !cJSON_IsNumber(num)) {
            rc = fv_err("%s: exemplars.%s.%s: missing \"q\", \"a\" or its number answer", path, lang, key);
            goto done;
        }
        /* range first: converting an out-of-range double to long is undefined behaviour */
        if (!(fabs(num->valuedouble) <= 1e15) || num->valuedouble != floor(num->valuedouble)) {
            rc = fv_err("%s: exemplars.%s.%s: the answer is not an integer", path, lang, key);
            goto done;
        }
        e->q[e->n] = fv_strdup(q->valuestring);
        e->a[e->n] = fv_strdup(a->valuestring);
        e->answer[e->n] = (long)num->valuedouble;
        e->n++;
        if (!e->q[e->n - 1] || !e->a[e->n - 1]) {
            rc = fv_err("%s: out of memory", path);
            goto done;
        }
    }
    if (e->n == 0) rc = fv_err("%s: no exemplars for language \"%s\"", path, lang);
done:
    if (rc) fv_mgsm_exemplars_free(e);
    cJSON_Delete(root);
    free(text);
    return rc;
}
