/* The evaluation run's bookkeeping (items, tasks, filter) and the pure scoring rules: argmax for
 * rank classification, majority vote for self-consistency, extraction + match for one item.
 * See suite.h. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "data/strbuf.h"
#include "eval/extract.h"
#include "eval/suite.h"

void fv_eval_run_init(fv_eval_run *r, const char *suite, int cot, int shots) {
    memset(r, 0, sizeof *r);
    snprintf(r->suite, sizeof r->suite, "%s", suite);
    r->cot = cot;
    r->shots = shots;
}

static void item_free(fv_eval_item *it) {
    free(it->task);
    free(it->prompt);
    free(it->gold);
    for (uint32_t i = 0; i < it->n_choices; i++) free(it->choices[i]);
    free(it->choices);
    for (uint32_t i = 0; i < it->n_outputs; i++) {
        if (it->outputs) free(it->outputs[i]);
        if (it->extracted) free(it->extracted[i]);
    }
    free(it->outputs);
    free(it->extracted);
    free(it->logprobs);
    free(it->pred);
}

void fv_eval_run_free(fv_eval_run *r) {
    for (size_t i = 0; i < r->n; i++) item_free(&r->items[i]);
    free(r->items);
    free(r->tasks);
    memset(r, 0, sizeof *r);
}

int fv_eval_add_task(fv_eval_run *r, const char *name, const char *group) {
    if (r->n_tasks == r->tasks_cap) {
        size_t cap = r->tasks_cap ? 2 * r->tasks_cap : 32;
        fv_eval_task *t = realloc(r->tasks, cap * sizeof *t);
        if (!t) return fv_err("out of host memory");
        r->tasks = t;
        r->tasks_cap = cap;
    }
    fv_eval_task *t = &r->tasks[r->n_tasks++];
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->group, sizeof t->group, "%s", group ? group : "");
    return 0;
}

int fv_eval_add_item(fv_eval_run *r, const fv_eval_item *src) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        fv_eval_item *t = realloc(r->items, cap * sizeof *t);
        if (!t) return fv_err("out of host memory");
        r->items = t;
        r->cap = cap;
    }
    fv_eval_item it = {0};
    it.task = fv_strdup(src->task);
    it.prompt = fv_strdup(src->prompt);
    it.gold = fv_strdup(src->gold ? src->gold : "");
    it.gold_index = src->n_choices ? src->gold_index : -1;
    it.extract = src->extract;
    it.n_letters = src->n_letters;
    memcpy(it.stop, src->stop, sizeof it.stop);
    it.stop[sizeof it.stop - 1] = 0;
    it.shots = src->shots;
    it.truncated = src->truncated;
    int oom = !it.task || !it.prompt || !it.gold;
    if (src->n_choices) {
        it.choices = calloc(src->n_choices, sizeof *it.choices);
        oom |= !it.choices;
        for (uint32_t i = 0; !oom && i < src->n_choices; i++) {
            it.choices[i] = fv_strdup(src->choices[i]);
            it.n_choices = i + 1;
            oom |= !it.choices[i];
        }
    }
    if (oom) {
        item_free(&it);
        return fv_err("out of host memory");
    }
    r->items[r->n++] = it;
    return 0;
}

int fv_eval_task_selected(const fv_eval_run *r, const char *name) {
    if (!r->filter || !*r->filter) return 1;
    size_t n = strlen(name);
    for (const char *p = r->filter; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

uint32_t fv_eval_argmax(const double *v, uint32_t n) {
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

int fv_eval_majority(char *const *answers, uint32_t n) {
    if (!n) return -1;
    char **norm = calloc(n, sizeof *norm);
    if (!norm) return 0;
    for (uint32_t i = 0; i < n; i++) norm[i] = fv_normalize_answer(answers[i] ? answers[i] : "");
    int best = -1;
    uint32_t best_votes = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!norm[i] || !*norm[i]) continue;
        int seen = 0;
        for (uint32_t j = 0; j < i && !seen; j++) seen = norm[j] && strcmp(norm[j], norm[i]) == 0;
        if (seen) continue; /* counted with its first occurrence */
        uint32_t votes = 0;
        for (uint32_t j = i; j < n; j++) votes += norm[j] && strcmp(norm[j], norm[i]) == 0;
        if (votes > best_votes) {
            best_votes = votes;
            best = (int)i;
        }
    }
    for (uint32_t i = 0; i < n; i++) free(norm[i]);
    free(norm);
    return best < 0 ? 0 : best;
}

/* The generation up to the stop marker (a model that keeps writing the next exemplar). */
static char *cut(const char *text, const char *stop) {
    const char *e = *stop ? strstr(text, stop) : NULL;
    size_t n = e ? (size_t)(e - text) : strlen(text);
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, text, n);
    s[n] = 0;
    return s;
}

static char *extract(const fv_eval_item *it, const char *raw) {
    char *text = cut(raw, it->stop);
    if (!text) return NULL;
    char *out = NULL;
    if (it->extract == FV_EX_CHOICE) {
        int k = fv_extract_choice(text, (int)it->n_letters);
        char buf[2] = {k >= 0 ? (char)('A' + k) : 0, 0};
        out = fv_strdup(buf);
    } else if (it->extract == FV_EX_NUMBER) {
        char buf[64];
        out = fv_strdup(fv_extract_number(text, buf, sizeof buf) == 0 ? buf : "");
    } else {
        out = fv_extract_after_answer_is(text);
    }
    free(text);
    return out;
}

int fv_eval_score_outputs(fv_eval_item *it) {
    free(it->pred);
    it->pred = NULL;
    if (it->n_choices) {
        if (!it->logprobs) return fv_err("eval: item of %s has choices but no scores", it->task);
        uint32_t k = fv_eval_argmax(it->logprobs, it->n_choices);
        for (uint32_t i = 0; i < it->n_outputs; i++) {
            free(it->outputs[i]);
            free(it->extracted[i]);
        }
        free(it->outputs);
        free(it->extracted);
        it->outputs = calloc(1, sizeof *it->outputs);
        it->extracted = calloc(1, sizeof *it->extracted);
        if (!it->outputs || !it->extracted) return fv_err("out of host memory");
        it->n_outputs = 1;
        it->outputs[0] = fv_strdup(it->choices[k]);
        it->extracted[0] = fv_strdup(it->choices[k]);
        it->pred = fv_strdup(it->choices[k]);
        if (!it->outputs[0] || !it->extracted[0] || !it->pred) return fv_err("out of host memory");
        it->correct = (int)k == it->gold_index;
        return 0;
    }
    if (!it->n_outputs) return fv_err("eval: item of %s has no output", it->task);
    if (!it->extracted) {
        it->extracted = calloc(it->n_outputs, sizeof *it->extracted);
        if (!it->extracted) return fv_err("out of host memory");
    }
    for (uint32_t i = 0; i < it->n_outputs; i++) {
        free(it->extracted[i]);
        it->extracted[i] = extract(it, it->outputs[i] ? it->outputs[i] : "");
        if (!it->extracted[i]) return fv_err("out of host memory");
    }
    int w = fv_eval_majority(it->extracted, it->n_outputs);
    it->pred = fv_strdup(it->extracted[w]);
    if (!it->pred) return fv_err("out of host memory");
    it->correct = *it->pred && fv_answer_match(it->pred, it->gold);
    return 0;
}
