/* MGSM (Shi et al. 2022) 8-shot chain of thought in each language, the exemplars of url-nlp
 * mgsm/exemplars.py (mgsm_exemplars.json): "{q}\n{a}\n\n" per exemplar, each q/a carrying the
 * language's own "Question:" / "Step-by-Step Answer:" prefix, then the test question with the same
 * prefixes: "{Question:} {question}\n{Step-by-Step Answer:}". The final number is extracted
 * (fv_extract_number) and compared by value. Direct mode keeps the exemplar questions and writes
 * only "{answer prefix} {number}". Languages are the mgsm_<lang>.tsv files. A generation is cut at the
 * language's question prefix (the model writing the next exemplar) before extraction. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "data/example.h"
#include "data/mgsm.h"
#include "data/strbuf.h"
#include "eval/listdir.h"
#include "eval/suite.h"

/* Length of the label at the start of s: up to the first ':' or fullwidth '：', plus one space. */
static size_t label_len(const char *s) {
    const char *a = strchr(s, ':'), *b = strstr(s, "\xef\xbc\x9a");
    size_t n;
    if (a && (!b || a < b)) n = (size_t)(a - s) + 1;
    else if (b) n = (size_t)(b - s) + 3;
    else return 0;
    return s[n] == ' ' ? n + 1 : n;
}

static int language(fv_eval_run *r, const char *dir, const char *lang) {
    char path[1024], file[128];
    fv_mgsm_exemplars e = {0};
    if (fv_path_join(path, sizeof path, dir, "mgsm_exemplars.json")) return fv_err("%s: path too long", dir);
    FV_TRY(fv_mgsm_exemplars_load(&e, path, lang));
    size_t k = r->shots < 0 || (size_t)r->shots > e.n ? e.n : (size_t)r->shots;
    size_t ql = e.n ? label_len(e.q[0]) : 0, al = e.n ? label_len(e.a[0]) : 0;
    char qlab[64] = "Question: ", alab[64] = "Answer:";
    if (ql && ql < sizeof qlab) snprintf(qlab, sizeof qlab, "%.*s", (int)ql, e.q[0]);
    if (al && al < sizeof alab) snprintf(alab, sizeof alab, "%.*s", (int)(e.a[0][al - 1] == ' ' ? al - 1 : al), e.a[0]);
    fv_sb ex_text = {0};
    for (size_t i = 0; i < k; i++) {
        fv_sb_adds(&ex_text, e.q[i]);
        fv_sb_addc(&ex_text, '\n');
        if (r->cot) {
            fv_sb_adds(&ex_text, e.a[i]);
        } else {
            char num[32];
            snprintf(num, sizeof num, " %ld", e.answer[i]);
            fv_sb_adds(&ex_text, alab);
            fv_sb_adds(&ex_text, num);
        }
        fv_sb_adds(&ex_text, "\n\n");
    }
    snprintf(file, sizeof file, "mgsm_%s.tsv", lang);
    fv_reader *rd = NULL;
    int rc = ex_text.oom ? fv_err("out of host memory") : 0;
    if (!rc) rc = fv_path_join(path, sizeof path, dir, file) ? fv_err("%s: path too long", dir) : 0;
    if (!rc) rc = fv_reader_open(&rd, path, FV_FMT_MGSM, NULL);
    if (!rc) rc = fv_eval_add_task(r, lang, "");
    fv_example ex;
    int got = 0;
    for (uint32_t i = 0; !rc && (!r->limit || i < r->limit) && (got = fv_reader_next(rd, &ex)) == 1; i++) {
        fv_sb b = {0};
        fv_sb_add(&b, ex_text.p ? ex_text.p : "", ex_text.n);
        fv_sb_adds(&b, qlab);
        fv_sb_adds(&b, ex.inputs);
        fv_sb_addc(&b, '\n');
        fv_sb_adds(&b, alab);
        char *prompt = fv_sb_take(&b);
        if (!prompt) {
            rc = fv_err("out of host memory");
            break;
        }
        fv_eval_item it = {.task = (char *)lang, .prompt = prompt, .gold = (char *)ex.targets, .gold_index = -1,
                           .shots = (uint32_t)k, .extract = FV_EX_NUMBER};
        snprintf(it.stop, sizeof it.stop, "%.*s", (int)(ql && qlab[ql - 1] == ' ' ? ql - 1 : strlen(qlab)), qlab);
        rc = fv_eval_add_item(r, &it);
        free(prompt);
    }
    if (!rc && got < 0) rc = -1;
    fv_reader_close(rd);
    fv_sb_free(&ex_text);
    fv_mgsm_exemplars_free(&e);
    return rc;
}

int fv_eval_build_mgsm(fv_eval_run *r, const char *dir) {
    char **names = NULL;
    size_t n = 0;
    FV_TRY(fv_eval_list_dir(dir, ".tsv", &names, &n));
    int rc = 0;
    r->headline_micro = 0; /* the Flan paper averages the languages (equal sizes: macro == micro) */
    for (size_t i = 0; !rc && i < n; i++) {
        if (strncmp(names[i], "mgsm_", 5) != 0) continue;
        if (fv_eval_task_selected(r, names[i] + 5)) rc = language(r, dir, names[i] + 5);
    }
    if (!rc && !r->n) rc = fv_err("%s: no MGSM language selected (mgsm_<lang>.tsv)", dir);
    fv_eval_names_free(names, n);
    return rc;
}
