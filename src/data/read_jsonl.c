/* Reader for generic JSON Lines files, one object per line, for user data and converted datasets:
 *   {"inputs": str, "targets": str | [str, ...]}                       (seq2seq form), or
 *   {"question": str, "answer": str | [str, ...], "rationale": str}    (QA / CoT form),
 * optional "task", "definition", "id", "options": [str, ...]. Without "options", an
 * "Options:\n- a\n- b" block at the end of the question is split off as in the CoT TSVs.
 * Blank lines are skipped. Task name: the line's "task", else the file's base name. */
#include "data/reader_impl.h"

#include "base/utf8.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    fv_line_reader lr; /* first: the shared line-reader base */
    cJSON *doc;        /* the current line's document, owns the strings handed out */
    const char *ptrs[2 * FV_MAX_OPTIONS + 2];
} jsonl_reader;

static const char *get_str(const cJSON *o, const char *a, const char *b) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, a);
    if (!it && b) it = cJSON_GetObjectItemCaseSensitive(o, b);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* String or list of strings into dst; returns the count, 0 if absent/invalid, -1 if too many. */
static int str_list(const cJSON *it, const char **dst, size_t max) {
    if (cJSON_IsString(it)) {
        dst[0] = it->valuestring;
        return 1;
    }
    if (!cJSON_IsArray(it)) return 0;
    size_t k = 0;
    for (const cJSON *o = it->child; o; o = o->next) {
        if (!cJSON_IsString(o)) return 0;
        if (k == max) return -1;
        dst[k++] = o->valuestring;
    }
    return (int)k;
}

static int jsonl_next(fv_reader *br, fv_example *ex) {
    jsonl_reader *r = (jsonl_reader *)br;
    const char *s;
    size_t n;
    size_t line;
    int got;
    while ((got = fv_line_reader_next(&r->lr, &s, &n, &line)) > 0) {
        cJSON_Delete(r->doc);
        r->doc = cJSON_ParseWithLength(s, n);
        const cJSON *d = r->doc;
        const char *why = NULL;
        const char *in = NULL, *rat = NULL;
        int nref = 0, nopt = 0;
        const char **refs = r->ptrs, **opts = r->ptrs + FV_MAX_OPTIONS + 1;
        if (!cJSON_IsObject(d)) why = "invalid JSON or not an object";
        else if (!(in = get_str(d, "inputs", "question"))) why = "missing string \"inputs\" or \"question\"";
        else {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "targets");
            if (!t) t = cJSON_GetObjectItemCaseSensitive(d, "answer");
            nref = str_list(t, refs, FV_MAX_OPTIONS);
            if (nref <= 0) why = "missing \"targets\" or \"answer\" (string or list of strings)";
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(d, "options");
            if (!why && o && (nopt = str_list(o, opts, FV_MAX_OPTIONS)) <= 0 && cJSON_GetArraySize(o) > 0)
                why = "\"options\" is not a list of strings (at most 32)";
            if (nopt < 0) nopt = 0;
            rat = get_str(d, "rationale", "chain_of_thought");
        }
        if (why) {
            if (fv_reader_bad_row(br, line, "%s", why) < 0) return -1;
            continue;
        }
        fv_reader_example(br, ex, in, refs, line, r->lr.index++);
        if (nopt == 0) {
            size_t qlen, off[FV_MAX_OPTIONS], olen[FV_MAX_OPTIONS];
            int lab;
            size_t k = fv_split_options(in, strlen(in), &qlen, off, olen, FV_MAX_OPTIONS, &lab);
            if (k) {
                fv_pool_clear(&r->lr.pool);
                fv_pool_str(&r->lr.pool, in, qlen);
                for (size_t i = 0; i < k; i++) fv_pool_str(&r->lr.pool, in + off[i], olen[i]);
                FV_TRY(fv_pool_resolve(&r->lr.pool));
                ex->inputs = r->lr.pool.ptr[0];
                for (size_t i = 0; i < k; i++) opts[i] = r->lr.pool.ptr[1 + i];
                nopt = (int)k;
                ex->options_labeled = lab;
            }
        }
        const char *task = get_str(d, "task", NULL), *def = get_str(d, "definition", NULL);
        const char *id = get_str(d, "id", NULL);
        if (task) ex->task = task;
        ex->n_refs = (size_t)nref;
        ex->rationale = rat ? rat : "";
        ex->definition = def ? def : "";
        ex->options = nopt ? opts : NULL;
        ex->n_options = (size_t)nopt;
        ex->answer_index = nopt ? fv_match_option(opts, (size_t)nopt, refs[0]) : -1;
        ex->id = id ? id : "";
        return 1;
    }
    return got;
}

static void jsonl_close_extra(fv_line_reader *lr) { cJSON_Delete(((jsonl_reader *)lr)->doc); }

static const struct fv_reader_ops jsonl_ops = {jsonl_next, fv_line_reader_rewind, fv_line_reader_close};

int fv_open_jsonl(fv_reader **out, const char *path, const fv_read_opts *o) {
    fv_line_reader *lr;
    FV_TRY(fv_line_reader_open(sizeof(jsonl_reader), &jsonl_ops, path, o, "", &lr));
    lr->close_extra = jsonl_close_extra;
    *out = &lr->base;
    return 0;
}
