/* Reader for the FLAN 2022 chain-of-thought TSVs (flan/v2/cot_data/<name>_train.tsv):
 * one example per line, exactly three tab-separated columns question, answer, rationale, no header,
 * no quoting (quotes are literal), newlines inside a field written as the two characters "\n".
 * Multiple-choice questions end in "Options:\n- a\n- b" (or "(A) a" lines); those are split off
 * into ex->options so templates can render them in several styles. Task name: "cot_<dataset>"
 * from "<dataset>_train.tsv". */
#include "data/reader_impl.h"

#include "base/utf8.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    fv_line_reader lr; /* first: the shared line-reader base */
    fv_sb q;
} cot_reader;

static int cot_next(fv_reader *br, fv_example *ex) {
    cot_reader *r = (cot_reader *)br;
    const char *s;
    size_t n;
    size_t line;
    int got;
    while ((got = fv_line_reader_next(&r->lr, &s, &n, &line)) > 0) {
        const char *col[4];
        size_t len[4], nc = 0;
        const char *p = s, *end = s + n;
        while (nc < 4) {
            const char *tab = memchr(p, '\t', (size_t)(end - p));
            col[nc] = p;
            len[nc] = tab ? (size_t)(tab - p) : (size_t)(end - p);
            nc++;
            if (!tab) break;
            p = tab + 1;
        }
        if (nc != 3) {
            if (fv_reader_bad_row(br, line, "expected 3 tab-separated columns (question, answer, rationale), got %s%zu",
                                  nc > 3 ? "more than " : "", nc > 3 ? (size_t)3 : nc) < 0)
                return -1;
            continue;
        }
        if (len[0] == 0 || len[1] == 0) {
            if (fv_reader_bad_row(br, line, "empty %s", len[0] == 0 ? "question" : "answer") < 0) return -1;
            continue;
        }
        fv_sb_clear(&r->q);
        fv_pool_clear(&r->lr.pool);
        /* Unescape the question first so option splitting sees real newlines. */
        fv_pool_add_unescaped(&r->lr.pool, col[0], len[0]);
        fv_sb_add(&r->q, r->lr.pool.buf.p ? r->lr.pool.buf.p : "", r->lr.pool.buf.n);
        fv_pool_clear(&r->lr.pool);
        if (r->q.oom) return fv_err("%s:%zu: out of memory", br->path, line);
        size_t qlen, off[FV_MAX_OPTIONS], olen[FV_MAX_OPTIONS];
        int labeled;
        size_t nopt = fv_split_options(r->q.p, r->q.n, &qlen, off, olen, FV_MAX_OPTIONS, &labeled);
        fv_pool_str(&r->lr.pool, r->q.p, qlen);                   /* 0 question */
        fv_pool_add_unescaped(&r->lr.pool, col[1], len[1]);      /* 1 answer */
        fv_pool_end(&r->lr.pool);
        fv_pool_add_unescaped(&r->lr.pool, col[2], len[2]);      /* 2 rationale */
        fv_pool_end(&r->lr.pool);
        for (size_t i = 0; i < nopt; i++) fv_pool_str(&r->lr.pool, r->q.p + off[i], olen[i]);
        FV_TRY(fv_pool_resolve(&r->lr.pool));
        fv_reader_example(br, ex, r->lr.pool.ptr[0], &r->lr.pool.ptr[1], line, r->lr.index++);
        ex->rationale = r->lr.pool.ptr[2];
        ex->options = nopt ? &r->lr.pool.ptr[3] : NULL;
        ex->n_options = nopt;
        ex->options_labeled = labeled;
        ex->answer_index = nopt ? fv_match_option(ex->options, nopt, ex->targets) : -1;
        return 1;
    }
    return got;
}

static void cot_close_extra(fv_line_reader *lr) { fv_sb_free(&((cot_reader *)lr)->q); }

static const struct fv_reader_ops cot_ops = {cot_next, fv_line_reader_rewind, fv_line_reader_close};

int fv_open_cot_tsv(fv_reader **out, const char *path, const fv_read_opts *o) {
    fv_line_reader *lr;
    FV_TRY(fv_line_reader_open(sizeof(cot_reader), &cot_ops, path, o, "cot_", &lr));
    lr->close_extra = cot_close_extra;
    /* "gsm8k_train" -> "cot_gsm8k" */
    char *task = lr->base.task;
    size_t tl = strlen(task);
    if (!(o && o->task) && tl > 6 && strcmp(task + tl - 6, "_train") == 0) task[tl - 6] = 0;
    *out = &lr->base;
    return 0;
}
