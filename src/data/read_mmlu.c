/* Reader for MMLU in the original Hendrycks layout (data/<split>/<subject>_<split>.csv): RFC 4180 CSV
 * without header, six fields question, A, B, C, D, answer letter. Quoted fields may hold commas,
 * doubled quotes and newlines; a record's line is the line where it starts. Task name
 * "mmlu_<subject>". Also loads subjects.json (mmlu.h). */
#include "data/mmlu.h"

#include "data/reader_impl.h"
#include "base/utf8.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    fv_reader base;
    fv_map map;
    size_t pos, line; /* line = line number at pos (1-based) */
    fv_pool pool;
    size_t index;
} mmlu_reader;

/* Parse one record into the pool. Returns 1 ok, 0 end of file, 2 malformed (*why set; pos moved
 * past the bad record so reading can go on). */
static int csv_record(mmlu_reader *r, const char **why) {
    const char *d = (const char *)r->map.data;
    size_t n = r->map.size, p = r->pos;
    if (!d || p >= n) return 0;
    fv_pool_clear(&r->pool);
    *why = NULL;
    for (;;) {
        if (p < n && d[p] == '"') {
            p++;
            for (;;) {
                if (p >= n) {
                    *why = "unterminated quoted field";
                    goto bad;
                }
                if (d[p] == '"') {
                    if (p + 1 < n && d[p + 1] == '"') {
                        fv_pool_add(&r->pool, "\"", 1);
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (d[p] == '\n') r->line++;
                size_t q = p;
                while (q < n && d[q] != '"' && d[q] != '\n') q++;
                if (q == p) q++;
                fv_pool_add(&r->pool, d + p, q - p);
                p = q;
            }
            if (p < n && d[p] != ',' && d[p] != '\n' && !(d[p] == '\r' && p + 1 < n && d[p + 1] == '\n')) {
                *why = "unexpected character after a closing quote";
                goto bad;
            }
        } else {
            size_t q = p;
            while (q < n && d[q] != ',' && d[q] != '\n' && d[q] != '"') q++;
            if (q < n && d[q] == '"') {
                *why = "quote inside an unquoted field";
                goto bad;
            }
            size_t e = q;
            if (e > p && d[e - 1] == '\r' && (e == n || d[e] == '\n')) e--;
            fv_pool_add(&r->pool, d + p, e - p);
            p = q;
        }
        if (fv_pool_end(&r->pool) < 0) {
            *why = "too many fields";
            goto bad;
        }
        if (p < n && d[p] == ',') {
            p++;
            continue;
        }
        if (p < n && d[p] == '\r') p++;
        if (p < n && d[p] == '\n') {
            p++;
            r->line++;
        }
        r->pos = p;
        return 1;
    }
bad:
    /* Resynchronize at the next line end (after an unterminated quote that is the end of file). */
    while (p < n && d[p] != '\n') p++;
    if (p < n) {
        p++;
        r->line++;
    }
    r->pos = p;
    return 2;
}

static int mmlu_next(fv_reader *br, fv_example *ex) {
    mmlu_reader *r = (mmlu_reader *)br;
    for (;;) {
        size_t start = r->pos, line = r->line;
        const char *why;
        int rc = csv_record(r, &why);
        if (rc == 0) return 0;
        size_t bad;
        if (rc == 1 && !fv_utf8_valid((const char *)r->map.data + start, r->pos - start, &bad)) {
            rc = 2;
            why = "invalid UTF-8";
        }
        if (rc == 1 && r->pool.n != 6) why = "expected 6 fields (question, A, B, C, D, answer)";
        if (rc == 1 && !why) {
            FV_TRY(fv_pool_resolve(&r->pool));
            const char *a = r->pool.ptr[5];
            if (!(a[0] >= 'A' && a[0] <= 'D' && a[1] == 0)) why = "answer is not one of A, B, C, D";
        }
        if (why) {
            if (fv_reader_bad_row(br, line, "%s", why) < 0) return -1;
            continue;
        }
        fv_reader_example(br, ex, r->pool.ptr[0], &r->pool.ptr[5], line, r->index++);
        ex->options = &r->pool.ptr[1];
        ex->n_options = 4;
        ex->answer_index = r->pool.ptr[5][0] - 'A';
        return 1;
    }
}

static int mmlu_rewind(fv_reader *br) {
    mmlu_reader *r = (mmlu_reader *)br;
    r->pos = 0;
    r->line = 1;
    r->index = 0;
    return 0;
}

static void mmlu_close(fv_reader *br) {
    mmlu_reader *r = (mmlu_reader *)br;
    fv_map_close(&r->map);
    fv_pool_free(&r->pool);
    free(r);
}

static const struct fv_reader_ops mmlu_ops = {mmlu_next, mmlu_rewind, mmlu_close};

int fv_open_mmlu(fv_reader **out, const char *path, const fv_read_opts *o) {
    mmlu_reader *r = calloc(1, sizeof *r);
    if (!r) return fv_err("%s: out of memory", path);
    fv_reader_init(&r->base, &mmlu_ops, path, o, "mmlu_");
    /* "mmlu_anatomy_test" -> "mmlu_anatomy" */
    if (!(o && o->task)) {
        char *t = r->base.task;
        size_t tl = strlen(t);
        if (tl > 5 && strcmp(t + tl - 5, "_test") == 0) t[tl - 5] = 0;
        else if (tl > 4 && (strcmp(t + tl - 4, "_dev") == 0 || strcmp(t + tl - 4, "_val") == 0)) t[tl - 4] = 0;
    }
    if (fv_map_open(&r->map, path)) {
        free(r);
        return -1;
    }
    r->line = 1;
    *out = &r->base;
    return 0;
}

/* ---- subjects.json ---- */

int fv_mmlu_subjects_load(const char *path, fv_mmlu_subject **out, size_t *n) {
    *out = NULL;
    *n = 0;
    cJSON *root;
    FV_TRY(fv_json_load(path, &root));
    const cJSON *subj = cJSON_GetObjectItemCaseSensitive(root, "subjects");
    if (!cJSON_IsObject(subj)) {
        cJSON_Delete(root);
        return fv_err("%s: missing \"subjects\" object", path);
    }
    size_t cnt = (size_t)cJSON_GetArraySize(subj), k = 0;
    fv_mmlu_subject *s = calloc(cnt ? cnt : 1, sizeof *s);
    if (!s) {
        cJSON_Delete(root);
        return fv_err("%s: out of memory", path);
    }
    for (const cJSON *it = subj->child; it; it = it->next, k++) {
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(it, "subcategory");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "category");
        if (!cJSON_IsString(sc) || !cJSON_IsString(c)) {
            int rc = fv_err("%s: subjects.%s: missing \"subcategory\" or \"category\"", path, it->string);
            free(s);
            cJSON_Delete(root);
            return rc;
        }
        snprintf(s[k].name, sizeof s[k].name, "%s", it->string);
        snprintf(s[k].subcategory, sizeof s[k].subcategory, "%s", sc->valuestring);
        snprintf(s[k].category, sizeof s[k].category, "%s", c->valuestring);
        const cJSON *nd = cJSON_GetObjectItemCaseSensitive(it, "n_dev");
        const cJSON *nt = cJSON_GetObjectItemCaseSensitive(it, "n_test");
        s[k].n_dev = cJSON_IsNumber(nd) ? nd->valueint : 0;
        s[k].n_test = cJSON_IsNumber(nt) ? nt->valueint : 0;
    }
    cJSON_Delete(root);
    *out = s;
    *n = cnt;
    return 0;
}

const fv_mmlu_subject *fv_mmlu_subject_find(const fv_mmlu_subject *s, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].name, name) == 0) return &s[i];
    return NULL;
}
