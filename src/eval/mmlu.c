/* MMLU (Hendrycks et al. 2021) 5-shot, in the format of hendrycks/test evaluate_flan.py, the script
 * the Flan-T5 MMLU numbers come from:
 *   "The following are multiple choice questions (with answers) about {subject, _ -> space}.\n\n"
 *   + k dev exemplars "{question}\nA. {A}\nB. {B}\nC. {C}\nD. {D}\nAnswer: {X}\n\n"
 *   + the test question in the same form ending "Answer:".
 * Direct mode: rank classification over the targets "A".."D" (+ </s>). T5's SentencePiece adds the
 * dummy prefix, so "A" and " A" both encode to "▁A" </s>: the target matches the token the model sees
 * after "Answer:" in the exemplars. CoT mode (the paper's MMLU CoT exemplars are not in the shared
 * data): the same direct exemplars, the test question ending "Answer: Let's think step by step.", the
 * letter extracted from the generation. Like evaluate_flan.py, exemplars are dropped one at a time
 * (the last first) while the prompt is longer than the device can take; such items are counted as
 * truncated. Subjects are the data/test/<subject>_test.csv files, categories from subjects.json. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "data/example.h"
#include "data/mmlu.h"
#include "data/strbuf.h"
#include "eval/listdir.h"
#include "eval/suite.h"
#include "io/tokenizer.h"

static void add_question(fv_sb *b, const fv_example *ex) {
    fv_sb_adds(b, ex->inputs);
    for (size_t i = 0; i < ex->n_options && i < 26; i++) {
        char lab[5] = {'\n', (char)('A' + i), '.', ' ', 0};
        fv_sb_adds(b, lab);
        fv_sb_adds(b, ex->options[i]);
    }
    fv_sb_adds(b, "\nAnswer:");
}

static char *build_prompt(const char *subject, const fv_example *dev, size_t k, const fv_example *q, int cot) {
    fv_sb b = {0};
    fv_sb_adds(&b, "The following are multiple choice questions (with answers) about");
    for (const char *s = subject; *s;) { /* hendrycks format_subject: " " + words joined by " " */
        const char *e = strchr(s, '_');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        fv_sb_addc(&b, ' ');
        fv_sb_add(&b, s, n);
        s += n + (e ? 1 : 0);
    }
    fv_sb_adds(&b, ".\n\n");
    for (size_t i = 0; i < k; i++) {
        add_question(&b, &dev[i]);
        char ans[5] = {' ', (char)('A' + (dev[i].answer_index >= 0 ? dev[i].answer_index : 0)), '\n', '\n', 0};
        fv_sb_adds(&b, ans);
    }
    add_question(&b, q);
    if (cot) fv_sb_adds(&b, " Let's think step by step.");
    return fv_sb_take(&b);
}

static int read_all(const char *path, size_t max, fv_example **out, size_t *n) {
    *out = NULL;
    *n = 0;
    fv_reader *rd;
    FV_TRY(fv_reader_open(&rd, path, FV_FMT_MMLU, NULL));
    fv_example ex;
    int rc = 0, got;
    size_t cap = 0;
    while ((!max || *n < max) && (got = fv_reader_next(rd, &ex)) == 1) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            fv_example *t = realloc(*out, cap * sizeof *t);
            if (!t) {
                rc = fv_err("out of host memory");
                break;
            }
            *out = t;
        }
        if ((rc = fv_example_copy(&(*out)[*n], &ex))) break;
        if ((*out)[*n].n_options != 4 || (*out)[*n].answer_index < 0) {
            fv_example_free(&(*out)[*n]);
            rc = fv_err("%s:%zu: expected 4 options and an answer letter", path, ex.line);
            break;
        }
        (*n)++;
    }
    if (!rc && got < 0) rc = -1;
    fv_reader_close(rd);
    return rc;
}

static void free_all(fv_example *v, size_t n) {
    for (size_t i = 0; i < n; i++) fv_example_free(&v[i]);
    free(v);
}

static uint32_t count_tokens(const fv_eval_run *r, const char *s) {
    uint32_t *ids;
    size_t n;
    if (fv_tokenizer_encode(r->tok, s, strlen(s), 1, &ids, &n)) return UINT32_MAX;
    free(ids);
    return (uint32_t)n;
}

static int subject(fv_eval_run *r, const char *dir, const char *name, const char *category) {
    char path[1024], file[256];
    int shots = r->shots < 0 ? 5 : r->shots;
    fv_example *dev = NULL, *test = NULL;
    size_t ndev = 0, ntest = 0;
    snprintf(file, sizeof file, "data/dev/%s_dev.csv", name);
    if (fv_path_join(path, sizeof path, dir, file)) return fv_err("%s: path too long", dir);
    if (shots > 0) FV_TRY(read_all(path, (size_t)shots, &dev, &ndev));
    if (ndev < (size_t)shots) {
        free_all(dev, ndev);
        return fv_err("%s: %zu dev exemplars, %d shots asked", path, ndev, shots);
    }
    snprintf(file, sizeof file, "data/test/%s_test.csv", name);
    int rc = fv_path_join(path, sizeof path, dir, file) ? fv_err("%s: path too long", dir) : 0;
    if (!rc) rc = read_all(path, r->limit, &test, &ntest);
    if (!rc) rc = fv_eval_add_task(r, name, category);
    static const char *letters[4] = {"A", "B", "C", "D"};
    for (size_t i = 0; !rc && i < ntest; i++) {
        size_t k = ndev;
        char *prompt = build_prompt(name, dev, k, &test[i], r->cot);
        while (prompt && k > 0 && r->tok && r->max_prompt_tokens && count_tokens(r, prompt) > r->max_prompt_tokens) {
            free(prompt);
            prompt = build_prompt(name, dev, --k, &test[i], r->cot);
        }
        if (!prompt) {
            rc = fv_err("out of host memory");
            break;
        }
        fv_eval_item it = {.task = (char *)name, .prompt = prompt, .gold = (char *)letters[test[i].answer_index],
                           .shots = (uint32_t)k, .extract = FV_EX_CHOICE, .n_letters = 4, .gold_index = -1,
                           .truncated = k < ndev};
        if (!r->cot) {
            it.choices = (char **)letters;
            it.n_choices = 4;
            it.gold_index = test[i].answer_index;
        }
        rc = fv_eval_add_item(r, &it);
        if (!rc && k < ndev) r->n_truncated++;
        free(prompt);
    }
    free_all(dev, ndev);
    free_all(test, ntest);
    return rc;
}

int fv_eval_build_mmlu(fv_eval_run *r, const char *dir) {
    char path[1024];
    fv_mmlu_subject *subs = NULL;
    size_t nsubs = 0, nnames = 0;
    char **names = NULL;
    if (fv_path_join(path, sizeof path, dir, "subjects.json")) return fv_err("%s: path too long", dir);
    FV_TRY(fv_mmlu_subjects_load(path, &subs, &nsubs));
    int rc = fv_path_join(path, sizeof path, dir, "data/test") ? fv_err("%s: path too long", dir) : 0;
    if (!rc) rc = fv_eval_list_dir(path, "_test.csv", &names, &nnames);
    if (!rc && !nnames) rc = fv_err("%s: no <subject>_test.csv files", path);
    r->headline_micro = 1;
    for (size_t i = 0; !rc && i < nnames; i++) {
        if (!fv_eval_task_selected(r, names[i])) continue;
        const fv_mmlu_subject *s = fv_mmlu_subject_find(subs, nsubs, names[i]);
        if (!s) rc = fv_err("%s/subjects.json: no subject '%s'", dir, names[i]);
        else rc = subject(r, dir, names[i], s->category);
    }
    if (!rc && !r->n) rc = fv_err("%s: no MMLU subject selected", dir);
    fv_eval_names_free(names, nnames);
    free(subs);
    return rc;
}
