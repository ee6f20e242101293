/* Running an evaluation on a model: tokenize every prompt (shortening from the left what the device
 * cannot take, counted), score multiple-choice items by shared-prompt rank classification, and
 * generate for the others in batches sorted by prompt length (so a batch pads little), each batch
 * cut to what fits the device. Self-consistency asks for N sampled rows per item. See suite.h. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "eval/suite.h"
#include "io/tokenizer.h"
#include "model/t5_generate.h"
#include "model/t5_score.h"

/* Widest per-token activation of the forward and decode passes (floats per token). */
static uint64_t widest(const fv_t5 *m) {
    const fv_t5_config *c = &m->cfg;
    uint64_t w = 3ull * m->inner, ff = (uint64_t)(c->is_gated_act ? 2 : 1) * (uint64_t)c->d_ff;
    if (ff > w) w = ff;
    if ((uint64_t)c->d_model > w) w = (uint64_t)c->d_model;
    return w;
}

uint32_t fv_eval_fit_rows(const fv_t5 *m, uint32_t want, uint32_t te) {
    /* one buffer per activation: the attention probabilities (rows*H*Te*Te floats) and the widest
     * activation (rows*Te*W floats) must each fit in maxStorageBufferRange */
    uint64_t range = m->d->props.limits.maxStorageBufferRange / 4;
    uint64_t per_p = (uint64_t)m->cfg.num_heads * te * te, per_a = widest(m) * te;
    uint64_t rows = range / (per_p ? per_p : 1);
    if (per_a && range / per_a < rows) rows = range / per_a;
    if (rows < 1) rows = 1;
    return rows < want ? (uint32_t)rows : want;
}

uint32_t fv_eval_max_prompt_tokens(const fv_t5 *m, uint32_t rows) {
    uint64_t range = m->d->props.limits.maxStorageBufferRange / 4, H = (uint64_t)m->cfg.num_heads * (rows ? rows : 1);
    uint64_t lo = 1, hi = 1u << 20, W = widest(m) * (rows ? rows : 1);
    while (lo < hi) { /* largest te with rows*H*te*te <= range and rows*te*W <= range */
        uint64_t mid = (lo + hi + 1) / 2;
        if (H * mid * mid <= range && W * mid <= range) lo = mid;
        else hi = mid - 1;
    }
    return (uint32_t)lo;
}

typedef struct {
    uint32_t *ids;
    uint32_t n;
} tokens;

static int tokenize(const fv_tokenizer *tok, const char *s, tokens *out) {
    size_t n;
    FV_TRY(fv_tokenizer_encode(tok, s, strlen(s), 1, &out->ids, &n));
    out->n = (uint32_t)n;
    return 0;
}

typedef struct {
    uint32_t item, sample, len;
} gen_row;

static int by_len_desc(const void *a, const void *b) {
    const gen_row *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? 1 : -1;
    if (x->item != y->item) return x->item < y->item ? -1 : 1;
    return x->sample < y->sample ? -1 : x->sample > y->sample;
}

static int score_item(fv_eval_run *r, fv_t5 *m, fv_eval_item *it, const tokens *p) {
    uint32_t nc = it->n_choices;
    tokens *t = calloc(nc, sizeof *t);
    const uint32_t **tp = calloc(nc, sizeof *tp);
    uint32_t *tl = calloc(nc, sizeof *tl);
    it->logprobs = calloc(nc, sizeof *it->logprobs);
    int rc = (!t || !tp || !tl || !it->logprobs) ? fv_err("out of host memory") : 0;
    for (uint32_t i = 0; !rc && i < nc; i++) {
        rc = tokenize(r->tok, it->choices[i], &t[i]);
        tp[i] = t[i].ids;
        tl[i] = t[i].n;
    }
    if (!rc) rc = fv_t5_score_shared(m, p->ids, p->n, tp, tl, nc, it->logprobs);
    if (!rc) rc = fv_eval_score_outputs(it);
    for (uint32_t i = 0; t && i < nc; i++) free(t[i].ids);
    free(t);
    free(tp);
    free(tl);
    return rc;
}

int fv_eval_execute(fv_eval_run *r, fv_t5 *m, const fv_eval_exec_opts *o) {
    uint32_t S = o->samples > 1 ? o->samples : 1, want = o->batch_size ? o->batch_size : 16;
    uint32_t maxt = fv_eval_max_prompt_tokens(m, 1);
    tokens *pt = calloc(r->n ? r->n : 1, sizeof *pt);
    gen_row *rows = calloc(r->n * S + 1, sizeof *rows);
    uint32_t *left = calloc(r->n + 1, sizeof *left);
    size_t nrows = 0;
    uint64_t done = 0;
    int rc = (!pt || !rows || !left) ? fv_err("out of host memory") : 0;
    for (size_t i = 0; !rc && i < r->n; i++) {
        fv_eval_item *it = &r->items[i];
        /* with choices, fv_t5_score_shared scores them in groups that fit: one row must fit */
        uint32_t lim = maxt;
        rc = tokenize(r->tok, it->prompt, &pt[i]);
        if (!rc && pt[i].n > lim) {
            /* keep the end: the question and the answer cue are at the end of a few-shot prompt */
            memmove(pt[i].ids, pt[i].ids + (pt[i].n - lim), (size_t)lim * 4);
            pt[i].n = lim;
            if (!it->truncated) r->n_truncated++; /* not yet counted for dropped exemplars */
            it->truncated = 1;
        }
        if (rc) break;
        it->prompt_tokens = pt[i].n;
        if (!it->n_choices) {
            it->outputs = calloc(S, sizeof *it->outputs);
            if (!it->outputs) rc = fv_err("out of host memory");
            it->n_outputs = S;
            left[i] = S;
            for (uint32_t s = 0; s < S; s++) rows[nrows++] = (gen_row){(uint32_t)i, s, pt[i].n};
        }
    }
    /* rank classification: one item (all its choices) per call */
    for (size_t i = 0; !rc && i < r->n; i++) {
        if (!r->items[i].n_choices) continue;
        rc = score_item(r, m, &r->items[i], &pt[i]);
        if (rc) rc = fv_err_wrap("eval %s item %zu", r->items[i].task, i);
        else if (o->progress) o->progress(++done, r->n, o->user);
    }
    qsort(rows, nrows, sizeof *rows, by_len_desc);
    fv_gen_opts g;
    fv_gen_opts_default(&g);
    g.max_new_tokens = o->max_new_tokens ? o->max_new_tokens : 32;
    if (S > 1) {
        g.do_sample = 1;
        g.temperature = o->temperature > 0 ? o->temperature : 0.7f;
    }
    const uint32_t **pp = calloc(want, sizeof *pp);
    uint32_t *pl = calloc(want, sizeof *pl);
    fv_gen_out *out = calloc(want, sizeof *out);
    if (!rc && (!pp || !pl || !out)) rc = fv_err("out of host memory");
    for (size_t b0 = 0, batch = 0; !rc && b0 < nrows; batch++) {
        uint32_t B = nrows - b0 < want ? (uint32_t)(nrows - b0) : want;
        B = fv_eval_fit_rows(m, B, rows[b0].len);
        for (uint32_t k = 0; k < B; k++) {
            pp[k] = pt[rows[b0 + k].item].ids;
            pl[k] = pt[rows[b0 + k].item].n;
        }
        g.seed = o->seed + 0x9e3779b97f4a7c15ull * (batch + 1);
        rc = fv_t5_generate(m, pp, pl, B, &g, out);
        if (rc) {
            rc = fv_err_wrap("eval: generating batch of %u prompts of up to %u tokens", B, rows[b0].len);
            break;
        }
        for (uint32_t k = 0; k < B; k++) {
            const gen_row *gr = &rows[b0 + k];
            fv_eval_item *it = &r->items[gr->item];
            char *text = NULL;
            if (!rc) rc = fv_tokenizer_decode(r->tok, out[k].ids, out[k].n, &text);
            free(out[k].ids);
            out[k].ids = NULL;
            if (rc) continue;
            it->outputs[gr->sample] = text;
            if (--left[gr->item] == 0) {
                rc = fv_eval_score_outputs(it);
                if (!rc && o->progress) o->progress(++done, r->n, o->user);
            }
        }
        b0 += B;
    }
    free(pp);
    free(pl);
    free(out);
    for (size_t i = 0; pt && i < r->n; i++) free(pt[i].ids);
    free(pt);
    free(rows);
    free(left);
    return rc;
}
