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
    fv_reader base;
    fv_lines lines;
    cJSON *doc; /* the current line's document, owns the strings handed out */
    fv_pool pool;
    const char *ptrs[2 * FV_MAX_OPTIONS + 2];
    size_t index;
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
    while (fv_lines_next(&r->lines, &s, &n)) {
        size_t line = r->lines.line, bad, ws = 0;
        while (ws < n && (s[ws] == ' ' || s[ws] == '\t')) ws++;
        if (ws == n) continue;
        if (!fv_utf8_valid(s, n, &bad)) {
            if (fv_reader_bad_row(br, line, "invalid UTF-8 at byte %zu of the line", bad) < 0) return -1;
            continue;
        }
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
        fv_reader_example(br, ex, in, refs, line, r->index++);
        if (nopt == 0) {
            size_t qlen, off[FV_MAX_OPTIONS], olen[FV_MAX_OPTIONS];
            int lab;
            size_t k = fv_split_options(in, strlen(in), &qlen, off, olen, FV_MAX_OPTIONS, &lab);
            if (k) {
                fv_pool_clear(&r->pool);
                fv_pool_str(&r->pool, in, qlen);
                for (size_t i = 0; i < k; i++) fv_pool_str(&r->pool, in + off[i], olen[i]);
                FV_TRY(fv_pool_resolve(&r->pool));
                ex->inputs = r->pool.ptr[0];
                for (size_t i = 0; i < k; i++) opts[i] = r->pool.ptr[1 + i];
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
    return 0;
}

static int jsonl_rewind(fv_reader *br) {
    jsonl_reader *r = (jsonl_reader *)br;
    fv_lines_rewind(&r->lines);
    r->index = 0;
    return 0;
}

static void jsonl_close(fv_reader *br) {
    jsonl_reader *r = (jsonl_reader *)br;
    cJSON_Delete(r->doc);
    fv_lines_close(&r->lines);
    fv_pool_free(&r->pool);
    free(r);
}

static const struct fv_reader_ops jsonl_ops = {jsonl_next, jsonl_rewind, jsonl_close};

int fv_open_jsonl(fv_reader **out, const char *path, const fv_read_opts *o) {
    jsonl_reader *r = calloc(1, sizeof *r);
    if (!r) return fv_err("%s: out of memory", path);
    fv_reader_init(&r->base, &jsonl_ops, path, o, "");
    if (fv_lines_open(&r->lines, path)) {
        free(r);
        return -1;
    }
    *out = &r->base;
    return 0;
}
