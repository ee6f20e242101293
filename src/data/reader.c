/* Reader base: dispatch by format, the bad-row policy, the line cursor, the field pool, option
 * splitting and example copies. See example.h for the contract and reader_impl.h for internals. */
#include "data/reader_impl.h"

#include "base/log.h"
#include "base/utf8.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void fv_reader_example(const fv_reader *r, fv_example *ex, const char *inputs, const char **refs, size_t line,
                       size_t index) {
    *ex = (fv_example){.task = r->task, .inputs = inputs, .targets = refs[0], .rationale = "", .definition = "",
                       .answer_index = -1, .refs = refs, .n_refs = 1, .id = "", .source = r->path, .line = line,
                       .index = index};
}

void fv_reader_init(fv_reader *r, const struct fv_reader_ops *ops, const char *path,
                    const fv_read_opts *opts, const char *task_prefix) {
    r->ops = ops;
    snprintf(r->path, sizeof r->path, "%s", path);
    r->skip_bad = opts ? opts->skip_bad : 0;
    if (opts && opts->task) {
        snprintf(r->task, sizeof r->task, "%s", opts->task);
        return;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot) n = (size_t)(dot - base);
    snprintf(r->task, sizeof r->task, "%s%.*s", task_prefix ? task_prefix : "", (int)n, base);
}

int fv_reader_bad_row(fv_reader *r, size_t line, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char where[64] = "";
    if (line) snprintf(where, sizeof where, ":%zu", line);
    if (r->skip_bad) {
        r->bad++;
        fv_warn("%s%s: %s (row skipped)", r->path, where, msg);
        return 1;
    }
    return fv_err("%s%s: %s", r->path, where, msg);
}

int fv_reader_open(fv_reader **out, const char *path, fv_data_format fmt, const fv_read_opts *o) {
    *out = NULL;
    switch (fmt) {
    case FV_FMT_NIV2: return fv_open_niv2(out, path, o);
    case FV_FMT_COT_TSV: return fv_open_cot_tsv(out, path, o);
    case FV_FMT_BBH: return fv_open_bbh(out, path, o);
    case FV_FMT_MMLU: return fv_open_mmlu(out, path, o);
    case FV_FMT_MGSM: return fv_open_mgsm(out, path, o);
    case FV_FMT_JSONL: return fv_open_jsonl(out, path, o);
    }
    return fv_err("%s: unknown data format %d", path, (int)fmt);
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int fv_reader_open_auto(fv_reader **out, const char *path, const fv_read_opts *o) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (ends_with(path, ".tsv"))
        return fv_reader_open(out, path, strncmp(base, "mgsm_", 5) == 0 ? FV_FMT_MGSM : FV_FMT_COT_TSV, o);
    if (ends_with(path, ".csv")) return fv_reader_open(out, path, FV_FMT_MMLU, o);
    if (ends_with(path, ".jsonl")) return fv_reader_open(out, path, FV_FMT_JSONL, o);
    if (ends_with(path, ".json")) {
        /* Peek at the keys without a full parse: NIv2 files carry "Instances". */
        fv_map m;
        FV_TRY(fv_map_open(&m, path));
        int niv2 = 0;
        for (size_t i = 0; m.data && i + 11 <= m.size; i++)
            if (memcmp(m.data + i, "\"Instances\"", 11) == 0) { niv2 = 1; break; }
        fv_map_close(&m);
        return fv_reader_open(out, path, niv2 ? FV_FMT_NIV2 : FV_FMT_BBH, o);
    }
    *out = NULL;
    return fv_err("%s: cannot tell the data format from the file name", path);
}

int fv_reader_next(fv_reader *r, fv_example *ex) {
    memset(ex, 0, sizeof *ex);
    return r->ops->next(r, ex);
}

int fv_reader_rewind(fv_reader *r) { return r->ops->rewind(r); }

void fv_reader_close(fv_reader *r) {
    if (r) r->ops->close(r);
}

const char *fv_reader_task(const fv_reader *r) { return r->task; }
const char *fv_reader_path(const fv_reader *r) { return r->path; }
size_t fv_reader_bad(const fv_reader *r) { return r->bad; }
size_t fv_reader_n_exemplars(const fv_reader *r) { return r->n_exemplars; }
const fv_example *fv_reader_exemplar(const fv_reader *r, size_t i) {
    return i < r->n_exemplars ? &r->exemplars[i] : NULL;
}

size_t fv_line_of(const char *text, size_t off) {
    size_t line = 1;
    for (size_t i = 0; i < off; i++)
        if (text[i] == '\n') line++;
    return line;
}

int fv_json_load(const char *path, cJSON **out) {
    *out = NULL;
    char *text;
    size_t size, bad;
    FV_TRY(fv_read_file(path, &text, &size));
    if (!fv_utf8_valid(text, size, &bad)) {
        int rc = fv_err("%s:%zu: invalid UTF-8 (byte offset %zu)", path, fv_line_of(text, bad), bad);
        free(text);
        return rc;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, size, &end, 0);
    if (!root) {
        size_t off = end && end >= text && end <= text + size ? (size_t)(end - text) : 0;
        int rc = fv_err("%s:%zu: invalid JSON", path, fv_line_of(text, off));
        free(text);
        return rc;
    }
    free(text);
    *out = root;
    return 0;
}

/* ---- line cursor ---- */

int fv_lines_open(fv_lines *l, const char *path) {
    memset(l, 0, sizeof *l);
    return fv_map_open(&l->map, path);
}

int fv_lines_next(fv_lines *l, const char **s, size_t *n) {
    if (!l->map.data || l->pos >= l->map.size) return 0;
    const char *p = (const char *)l->map.data + l->pos;
    size_t left = l->map.size - l->pos;
    const char *nl = memchr(p, '\n', left);
    size_t len = nl ? (size_t)(nl - p) : left;
    l->pos += nl ? len + 1 : len;
    l->line++;
    if (len && p[len - 1] == '\r') len--;
    *s = p;
    *n = len;
    return 1;
}

void fv_lines_rewind(fv_lines *l) {
    l->pos = 0;
    l->line = 0;
}

void fv_lines_close(fv_lines *l) { fv_map_close(&l->map); }

/* ---- line readers ---- */

int fv_line_reader_open(size_t size, const struct fv_reader_ops *ops, const char *path, const fv_read_opts *o,
                        const char *task_prefix, fv_line_reader **out) {
    *out = NULL;
    fv_line_reader *r = calloc(1, size);
    if (!r) return fv_err("%s: out of memory", path);
    fv_reader_init(&r->base, ops, path, o, task_prefix);
    if (fv_lines_open(&r->lines, path)) {
        free(r);
        return -1;
    }
    *out = r;
    return 0;
}

int fv_line_reader_rewind(fv_reader *br) {
    fv_line_reader *r = (fv_line_reader *)br;
    fv_lines_rewind(&r->lines);
    r->index = 0;
    return 0;
}

void fv_line_reader_close(fv_reader *br) {
    fv_line_reader *r = (fv_line_reader *)br;
    if (r->close_extra) r->close_extra(r);
    fv_lines_close(&r->lines);
    fv_pool_free(&r->pool);
    free(r);
}

int fv_line_reader_next(fv_line_reader *r, const char **s, size_t *n, size_t *line) {
    while (fv_lines_next(&r->lines, s, n)) {
        size_t ws = 0, bad;
        *line = r->lines.line;
        while (ws < *n && ((*s)[ws] == ' ' || (*s)[ws] == '\t')) ws++;
        if (ws == *n) continue;
        if (!fv_utf8_valid(*s, *n, &bad)) {
            if (fv_reader_bad_row(&r->base, *line, "invalid UTF-8 at byte %zu of the line", bad) < 0) return -1;
            continue;
        }
        return 1;
    }
    return 0;
}

/* ---- string pool ---- */

void fv_pool_clear(fv_pool *p) {
    fv_sb_clear(&p->buf);
    p->n = 0;
    p->overflow = 0;
    if (p->n < FV_MAX_OPTIONS + 8) p->off[0] = 0;
}

void fv_pool_add(fv_pool *p, const char *s, size_t n) { fv_sb_add(&p->buf, s, n); }

void fv_pool_add_unescaped(fv_pool *p, const char *s, size_t n) {
    size_t i = 0, run = 0;
    while (i < n) {
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == 'n') {
            fv_sb_add(&p->buf, s + run, i - run);
            fv_sb_addc(&p->buf, '\n');
            i += 2;
            run = i;
        } else {
            i++;
        }
    }
    fv_sb_add(&p->buf, s + run, n - run);
}

int fv_pool_end(fv_pool *p) {
    if (p->n >= FV_MAX_OPTIONS + 8) {
        p->overflow = 1;
        return -1;
    }
    fv_sb_addc(&p->buf, 0);
    int slot = (int)p->n++;
    if (p->n < FV_MAX_OPTIONS + 8) p->off[p->n] = p->buf.n;
    return slot;
}

int fv_pool_str(fv_pool *p, const char *s, size_t n) {
    fv_pool_add(p, s, n);
    return fv_pool_end(p);
}

int fv_pool_resolve(fv_pool *p) {
    if (p->buf.oom) return fv_err("out of memory reading an example");
    for (size_t i = 0; i < p->n; i++) p->ptr[i] = p->buf.p + p->off[i];
    return 0;
}

void fv_pool_free(fv_pool *p) {
    fv_sb_free(&p->buf);
    p->n = 0;
}

/* ---- options ---- */

static int is_label(const char *s, size_t n) {
    return n >= 4 && s[0] == '(' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == ')' && s[3] == ' ';
}

size_t fv_split_options(const char *s, size_t n, size_t *qlen, size_t opt_off[], size_t opt_len[],
                        size_t max_opts, int *labeled) {
    static const char key[] = "Options:\n";
    const size_t klen = sizeof key - 1;
    *qlen = n;
    *labeled = 0;
    /* Last "Options:\n" that starts a line. */
    size_t at = SIZE_MAX;
    for (size_t i = 0; i + klen <= n; i++)
        if ((i == 0 || s[i - 1] == '\n') && memcmp(s + i, key, klen) == 0) at = i;
    if (at == SIZE_MAX) return 0;
    size_t k = 0, pos = at + klen, nlab = 0;
    int blank = 0;
    while (pos < n) {
        const char *nl = memchr(s + pos, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - (s + pos)) : n - pos;
        const char *line = s + pos;
        if (len == 0) { /* empty lines only allowed at the end */
            blank = 1;
            pos += 1;
            continue;
        }
        if (blank) return 0;
        size_t skip = 0;
        if (len >= 2 && line[0] == '-' && line[1] == ' ') skip = 2;
        else if (!is_label(line, len)) return 0;
        if (k == max_opts) return 0;
        if (is_label(line + skip, len - skip)) nlab++;
        opt_off[k] = pos + skip;
        opt_len[k] = len - skip;
        k++;
        pos += len + (nl ? 1 : 0);
    }
    if (k < 2) return 0;
    *labeled = nlab == k;
    size_t q = at;
    if (q > 0 && s[q - 1] == '\n') q--;
    *qlen = q;
    return k;
}

int fv_match_option(const char *const *opts, size_t n, const char *answer) {
    size_t al = strlen(answer);
    if (!al) return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(opts[i], answer) == 0) return (int)i;
    for (size_t i = 0; i < n; i++)
        if (strncmp(opts[i], answer, al) == 0 && (opts[i][al] == ' ' || opts[i][al] == ':')) return (int)i;
    return -1;
}

/* ---- copies ---- */

static size_t slen(const char *s) { return s ? strlen(s) + 1 : 1; }

int fv_example_copy(fv_example *dst, const fv_example *src) {
    const char *one[] = {src->task, src->inputs, src->targets, src->rationale, src->definition, src->id, src->source};
    size_t nstr = sizeof one / sizeof one[0];
    size_t bytes = 0;
    for (size_t i = 0; i < nstr; i++) bytes += slen(one[i]);
    for (size_t i = 0; i < src->n_options; i++) bytes += slen(src->options[i]);
    for (size_t i = 0; i < src->n_refs; i++) bytes += slen(src->refs[i]);
    size_t nptr = src->n_options + src->n_refs;
    char *block = malloc(nptr * sizeof(char *) + bytes);
    if (!block) return fv_err("out of memory copying an example of %s", src->task ? src->task : "?");
    const char **ptrs = (const char **)(void *)block;
    char *w = block + nptr * sizeof(char *);
    const char *outs[7];
    for (size_t i = 0; i < nstr; i++) {
        size_t n = slen(one[i]);
        memcpy(w, one[i] ? one[i] : "", n);
        outs[i] = w;
        w += n;
    }
    for (size_t i = 0; i < nptr; i++) {
        const char *s = i < src->n_options ? src->options[i] : src->refs[i - src->n_options];
        size_t n = slen(s);
        memcpy(w, s ? s : "", n);
        ptrs[i] = w;
        w += n;
    }
    *dst = *src;
    dst->task = outs[0];
    dst->inputs = outs[1];
    dst->targets = outs[2];
    dst->rationale = outs[3];
    dst->definition = outs[4];
    dst->id = outs[5];
    dst->source = outs[6];
    dst->options = src->n_options ? ptrs : NULL;
    dst->refs = src->n_refs ? ptrs + src->n_options : NULL;
    dst->owned_ = block;
    return 0;
}

void fv_example_free(fv_example *ex) {
    if (ex && ex->owned_) {
        free(ex->owned_);
        memset(ex, 0, sizeof *ex);
    }
}
