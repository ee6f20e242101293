/* Task-data readers on samples of the real files (tests/fixtures/data) and on hand-made malformed
 * files: counts, field contents, option splitting, rewind, copies, and file:line errors. */
#include "base/error.h"
#include "base/file.h"
#include "data/bbh.h"
#include "data/example.h"
#include "data/mgsm.h"
#include "data/mmlu.h"
#include "base/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/unit.h"

#define FX "tests/fixtures/data/"

/* Count examples; -1 on error. */
static long count_all(fv_reader *r) {
    fv_example ex;
    long n = 0;
    int rc;
    while ((rc = fv_reader_next(r, &ex)) == 1) n++;
    return rc < 0 ? -1 : n;
}

static void test_utf8(void) {
    size_t bad = 99;
    CHECK(fv_utf8_valid("h\xc3\xa9llo \xe2\x80\x99 \xf0\x9f\x98\x80", 15, &bad), "valid text");
    CHECK(!fv_utf8_valid("ab\xff", 3, &bad) && bad == 2, "0xff at 2, got %zu", bad);
    CHECK(!fv_utf8_valid("\xc0\xaf", 2, &bad) && bad == 0, "overlong");
    CHECK(!fv_utf8_valid("\xed\xa0\x80", 3, &bad), "surrogate");
    CHECK(!fv_utf8_valid("\xf4\x90\x80\x80", 4, &bad), "above U+10FFFF");
    CHECK(!fv_utf8_valid("x\xe2\x80", 3, &bad) && bad == 1, "truncated");
    CHECK(!fv_utf8_valid("a\0b", 3, &bad) && bad == 1, "NUL");
}

static void test_cot(void) {
    const char *names[] = {"aqua", "creak", "ecqa", "gsm8k", "qasc", "sensemaking", "strategyqa"};
    for (int i = 0; i < 7; i++) {
        char path[256], task[64];
        snprintf(path, sizeof path, FX "flan_cot/%s_train.tsv", names[i]);
        snprintf(task, sizeof task, "cot_%s", names[i]);
        fv_reader *r;
        int rc = fv_reader_open_auto(&r, path, NULL);
        CHECK(rc == 0, "%s", fv_last_error());
        if (rc) continue;
        CHECK(strcmp(fv_reader_task(r), task) == 0, "task %s", fv_reader_task(r));
        fv_example ex;
        long n = 0, with_opts = 0, matched = 0;
        while ((rc = fv_reader_next(r, &ex)) == 1) {
            n++;
            CHECK(ex.line == (size_t)n, "line %zu", ex.line);
            CHECK(ex.inputs[0] && ex.targets[0] && ex.rationale[0], "%s:%zu empty field", path, ex.line);
            CHECK(!strstr(ex.inputs, "\\n") || strcmp(names[i], "aqua") == 0, "%s:%zu escaped newline left", path, ex.line);
            if (ex.n_options) {
                with_opts++;
                matched += ex.answer_index >= 0;
            }
        }
        CHECK(rc == 0 && n == 24, "%s: %ld rows rc %d", path, n, rc);
        int mc = !strcmp(names[i], "aqua") || !strcmp(names[i], "ecqa") || !strcmp(names[i], "qasc") ||
                 !strcmp(names[i], "sensemaking");
        if (mc) CHECK(with_opts == 24 && matched == 24, "%s: %ld with options, %ld matched", names[i], with_opts, matched);
        if (!strcmp(names[i], "gsm8k") || !strcmp(names[i], "strategyqa")) CHECK(with_opts == 0, "%s options", names[i]);
        fv_reader_close(r);
    }
    /* Field-level checks on the first ECQA and AQuA rows. */
    fv_reader *r;
    fv_example ex;
    CHECK(fv_reader_open(&r, FX "flan_cot/ecqa_train.tsv", FV_FMT_COT_TSV, NULL) == 0, "%s", fv_last_error());
    CHECK(fv_reader_next(r, &ex) == 1, "next");
    CHECK(strcmp(ex.inputs, "What might a person see at the scene of a brutal killing?") == 0, "[%s]", ex.inputs);
    CHECK(ex.n_options == 5 && strcmp(ex.options[0], "bloody mess") == 0 && strcmp(ex.options[4], "cake") == 0,
          "%zu options", ex.n_options);
    CHECK(ex.answer_index == 0 && !ex.options_labeled, "answer index %d", ex.answer_index);
    fv_example keep;
    CHECK(fv_example_copy(&keep, &ex) == 0, "copy");
    /* Rewind: the same first row again; the copy survives reading on. */
    CHECK(fv_reader_next(r, &ex) == 1, "second");
    CHECK(fv_reader_rewind(r) == 0 && fv_reader_next(r, &ex) == 1 && ex.line == 1 &&
              strcmp(ex.inputs, keep.inputs) == 0 && strcmp(ex.rationale, keep.rationale) == 0,
          "rewind");
    CHECK(strcmp(keep.options[4], "cake") == 0 && strcmp(keep.task, "cot_ecqa") == 0, "copy options");
    fv_example_free(&keep);
    fv_reader_close(r);

    CHECK(fv_reader_open(&r, FX "flan_cot/aqua_train.tsv", FV_FMT_COT_TSV, NULL) == 0, "%s", fv_last_error());
    CHECK(fv_reader_next(r, &ex) == 1, "next");
    CHECK(ex.n_options == 5 && ex.options_labeled && strcmp(ex.options[2], "(C) 1120") == 0 && ex.answer_index == 2,
          "aqua options %zu labeled %d", ex.n_options, ex.options_labeled);
    CHECK(strcmp(ex.rationale, "1/7:1/7:1/14 = 2:2:1\n1/5*5600 = 1120\n2240-1120 = 1120") == 0, "[%s]", ex.rationale);
    fv_reader_close(r);

    CHECK(fv_reader_open(&r, FX "flan_cot/sensemaking_train.tsv", FV_FMT_COT_TSV, NULL) == 0, "%s", fv_last_error());
    CHECK(fv_reader_next(r, &ex) == 1 && ex.n_options == 2 && ex.answer_index == 0 &&
              strcmp(ex.options[1], "Sentence B: \"He poured milk on his cereal.\"") == 0,
          "sensemaking [%s]", ex.n_options ? ex.options[1] : "");
    fv_reader_close(r);
}

static void test_cot_bad(void) {
    fv_reader *r;
    CHECK(fv_reader_open(&r, FX "bad/missing_col_train.tsv", FV_FMT_COT_TSV, NULL) == 0, "open");
    CHECK(count_all(r) == -1, "missing column must fail");
    CHECK(strstr(fv_last_error(), "missing_col_train.tsv:2:") && strstr(fv_last_error(), "columns"), "msg: %s",
          fv_last_error());
    fv_reader_close(r);
    fv_read_opts o = {.skip_bad = 1};
    CHECK(fv_reader_open(&r, FX "bad/missing_col_train.tsv", FV_FMT_COT_TSV, &o) == 0, "open");
    CHECK(count_all(r) == 2 && fv_reader_bad(r) == 1, "skip: bad %zu", fv_reader_bad(r));
    fv_reader_close(r);

    CHECK(fv_reader_open(&r, FX "bad/bad_utf8_train.tsv", FV_FMT_COT_TSV, NULL) == 0, "open");
    CHECK(count_all(r) == -1 && strstr(fv_last_error(), "bad_utf8_train.tsv:2: invalid UTF-8"), "msg: %s",
          fv_last_error());
    fv_reader_close(r);
    CHECK(fv_reader_open(&r, FX "bad/bad_utf8_train.tsv", FV_FMT_COT_TSV, &o) == 0, "open");
    CHECK(count_all(r) == 2 && fv_reader_bad(r) == 2, "skip utf8: bad %zu", fv_reader_bad(r));
    fv_reader_close(r);
    CHECK(fv_reader_open(&r, FX "bad/does_not_exist.tsv", FV_FMT_COT_TSV, NULL) != 0 &&
              strstr(fv_last_error(), "does_not_exist.tsv"),
          "missing file: %s", fv_last_error());
}

static void test_bbh(void) {
    fv_reader *r;
    CHECK(fv_reader_open_auto(&r, FX "bbh/date_understanding.json", NULL) == 0, "%s", fv_last_error());
    CHECK(strcmp(fv_reader_task(r), "bbh_date_understanding") == 0, "%s", fv_reader_task(r));
    fv_example ex;
    CHECK(fv_reader_next(r, &ex) == 1 && strcmp(ex.targets, "(B)") == 0 && strstr(ex.inputs, "Options:\n(A)") &&
              ex.n_options == 0,
          "bbh first [%s]", ex.targets);
    CHECK(count_all(r) == 11, "rest");
    CHECK(fv_reader_rewind(r) == 0 && count_all(r) == 12, "rewind");
    fv_reader_close(r);
    CHECK(fv_reader_open(&r, FX "bad/bbh_missing_target.json", FV_FMT_BBH, NULL) == 0, "open");
    CHECK(count_all(r) == -1 && strstr(fv_last_error(), "examples[1]"), "msg: %s", fv_last_error());
    fv_reader_close(r);

    fv_bbh_prompt p;
    CHECK(fv_bbh_prompt_load(&p, FX "bbh/cot-prompts/boolean_expressions.txt") == 0, "%s", fv_last_error());
    CHECK(p.n == 3, "%zu shots", p.n);
    CHECK(strcmp(p.description, "Evaluate the result of a random Boolean expression.") == 0, "[%s]", p.description);
    CHECK(strcmp(p.q[0], "not ( ( not not True ) ) is") == 0, "[%s]", p.q[0]);
    CHECK(strncmp(p.a[0], "Let's think step by step.\n", 26) == 0, "[%.30s]", p.a[0]);
    CHECK(!strcmp(p.answer[0], "False") && !strcmp(p.answer[1], "False") && !strcmp(p.answer[2], "True"), "answers");
    /* The prefix is the exact file text after the "-----" line. */
    char *all;
    size_t size;
    CHECK(fv_read_file(FX "bbh/cot-prompts/boolean_expressions.txt", &all, &size) == 0, "read");
    const char *after = strstr(all, "\n-----\n") + 7;
    CHECK(strcmp(p.prefix, after) == 0, "prefix is exact");
    char *cot = fv_bbh_prompt_cot(&p, "True and True is");
    size_t pl = strlen(p.prefix);
    CHECK(cot && strncmp(cot, p.prefix, pl) == 0 &&
              strcmp(cot + pl, "\n\nQ: True and True is\nA: Let's think step by step.") == 0,
          "cot prompt tail [%s]", cot ? cot + pl : "");
    char *dir = fv_bbh_prompt_direct(&p, "True is");
    CHECK(dir && strstr(dir, "\n\nQ: not ( ( not not True ) ) is\nA: False\n\nQ: ") &&
              strcmp(dir + strlen(dir) - 18, "\n\nQ: True is\nA:") != 0 &&
              strstr(dir, "\n\nQ: True is\nA:") && !strstr(dir, "step by step"),
          "direct prompt");
    free(cot);
    free(dir);
    free(all);
    fv_bbh_prompt_free(&p);
    CHECK(fv_bbh_prompt_load(&p, FX "bbh/date_understanding.json") != 0 && strstr(fv_last_error(), "-----"),
          "not a prompt file: %s", fv_last_error());
}

static void test_mmlu(void) {
    fv_reader *r;
    fv_example ex;
    CHECK(fv_reader_open_auto(&r, FX "mmlu/abstract_algebra_dev.csv", NULL) == 0, "%s", fv_last_error());
    CHECK(strcmp(fv_reader_task(r), "mmlu_abstract_algebra") == 0, "%s", fv_reader_task(r));
    CHECK(fv_reader_next(r, &ex) == 1 && ex.n_options == 4 && !strcmp(ex.targets, "B") && ex.answer_index == 1 &&
              !strcmp(ex.options[3], "3"),
          "row 1");
    CHECK(fv_reader_next(r, &ex) == 1 && ex.line == 2 && !strcmp(ex.options[0], "True, True") &&
              strstr(ex.inputs, "divides |a|. Statement 2"),
          "row 2 quoted commas [%s]", ex.options[0]);
    CHECK(count_all(r) == 3, "rest");
    fv_reader_close(r);

    CHECK(fv_reader_open(&r, FX "mmlu/high_school_computer_science_test.csv", FV_FMT_MMLU, NULL) == 0, "open");
    long n = 0, nl = 0, qq = 0;
    size_t lastline = 0;
    int rc;
    while ((rc = fv_reader_next(r, &ex)) == 1) {
        n++;
        for (size_t i = 0; i < 4; i++) {
            nl += strchr(ex.options[i], '\n') != NULL;
            qq += strchr(ex.options[i], '"') != NULL;
        }
        nl += strchr(ex.inputs, '\n') != NULL;
        qq += strchr(ex.inputs, '"') != NULL;
        CHECK(ex.line > lastline, "line order");
        lastline = ex.line;
    }
    CHECK(rc == 0 && n == 24 && nl >= 6 && qq >= 4, "rc %d n %ld newlines %ld quotes %ld", rc, n, nl, qq);
    fv_reader_close(r);

    CHECK(fv_reader_open(&r, FX "bad/broken_quote_test.csv", FV_FMT_MMLU, NULL) == 0, "open");
    CHECK(count_all(r) == -1 && strstr(fv_last_error(), "broken_quote_test.csv:2:") &&
              strstr(fv_last_error(), "quote"),
          "msg: %s", fv_last_error());
    fv_reader_close(r);
    fv_read_opts o = {.skip_bad = 1};
    CHECK(fv_reader_open(&r, FX "bad/broken_quote_test.csv", FV_FMT_MMLU, &o) == 0, "open");
    CHECK(fv_reader_next(r, &ex) == 1 && !strcmp(ex.inputs, "Good question one?"), "first");
    CHECK(fv_reader_next(r, &ex) == 1 && !strcmp(ex.inputs, "Good question two?") && !strcmp(ex.options[0], "x, y") &&
              ex.line == 3,
          "resync after bad quote: [%s] line %zu", ex.inputs, ex.line);
    CHECK(fv_reader_next(r, &ex) == 0 && fv_reader_bad(r) == 2, "unterminated counted, bad %zu", fv_reader_bad(r));
    fv_reader_close(r);
    CHECK(fv_reader_open(&r, FX "bad/bad_fields_test.csv", FV_FMT_MMLU, &o) == 0, "open");
    CHECK(count_all(r) == 2 && fv_reader_bad(r) == 2, "bad fields %zu", fv_reader_bad(r));
    fv_reader_close(r);
    CHECK(fv_reader_open(&r, FX "bad/bad_fields_test.csv", FV_FMT_MMLU, NULL) == 0, "open");
    CHECK(count_all(r) == -1 && strstr(fv_last_error(), "bad_fields_test.csv:2: expected 6 fields"), "msg: %s",
          fv_last_error());
    fv_reader_close(r);

    fv_mmlu_subject *s;
    size_t ns;
    CHECK(fv_mmlu_subjects_load(FX "mmlu/subjects.json", &s, &ns) == 0 && ns == 57, "%zu subjects", ns);
    const fv_mmlu_subject *a = fv_mmlu_subject_find(s, ns, "anatomy");
    CHECK(a && a->n_test == 135 && !strcmp(a->subcategory, "health"), "anatomy");
    a = fv_mmlu_subject_find(s, ns, "abstract_algebra");
    CHECK(a && !strcmp(a->category, "STEM") && a->n_dev == 5, "abstract_algebra");
    free(s);
}

static void test_mgsm(void) {
    fv_reader *r;
    fv_example ex;
    CHECK(fv_reader_open_auto(&r, FX "mgsm/mgsm_zh.tsv", NULL) == 0, "%s", fv_last_error());
    CHECK(strcmp(fv_reader_task(r), "mgsm_zh") == 0, "%s", fv_reader_task(r));
    CHECK(fv_reader_next(r, &ex) == 1 && !strcmp(ex.targets, "18") && strlen(ex.inputs) > 20, "first");
    CHECK(count_all(r) == 19, "rest");
    fv_reader_close(r);
    CHECK(fv_reader_open(&r, FX "bad/mgsm_xx.tsv", FV_FMT_MGSM, NULL) == 0, "open");
    CHECK(fv_reader_next(r, &ex) == 1 && fv_reader_next(r, &ex) == -1 &&
              strstr(fv_last_error(), "mgsm_xx.tsv:2: answer is not a number"),
          "msg: %s", fv_last_error());
    fv_reader_close(r);
    fv_mgsm_exemplars e;
    CHECK(fv_mgsm_exemplars_load(&e, FX "mgsm/mgsm_exemplars.json", "en") == 0 && e.n == 8, "%s", fv_last_error());
    CHECK(!strncmp(e.q[0], "Question: Roger has 5", 21) && e.answer[0] == 11 &&
              strstr(e.a[0], "The answer is 11."),
          "exemplar 1");
    fv_mgsm_exemplars_free(&e);
    CHECK(fv_mgsm_exemplars_load(&e, FX "mgsm/mgsm_exemplars.json", "xx") != 0, "unknown language");
}

static void test_niv2(void) {
    fv_reader *r;
    fv_example ex;
    const char *path = FX "niv2/task1393_superglue_copa_text_completion.json";
    CHECK(fv_reader_open_auto(&r, path, NULL) == 0, "%s", fv_last_error());
    CHECK(strcmp(fv_reader_task(r), "task1393_superglue_copa_text_completion") == 0, "%s", fv_reader_task(r));
    CHECK(fv_reader_next(r, &ex) == 1, "next");
    CHECK(!strcmp(ex.id, "task1393-3333a3c18e3744f899e65937f405445a") && !strcmp(ex.targets, "A") &&
              !strncmp(ex.definition, "In this task, you are given a premise sentence", 46) && ex.n_refs == 1,
          "instance 0 [%s]", ex.id);
    CHECK(count_all(r) == 19, "rest");
    CHECK(fv_reader_n_exemplars(r) >= 1, "positive examples %zu", fv_reader_n_exemplars(r));
    const fv_example *pe = fv_reader_exemplar(r, 0);
    CHECK(pe && !strcmp(pe->targets, "A") && strstr(pe->rationale, "The question word is cause") &&
              strstr(pe->inputs, "The animal species became endangered."),
          "positive example");
    fv_reader_close(r);

    CHECK(fv_reader_open(&r, FX "bad/niv2_no_instances.json", FV_FMT_NIV2, NULL) != 0 &&
              strstr(fv_last_error(), "niv2_no_instances.json: missing \"Instances\""),
          "msg: %s", fv_last_error());
    CHECK(fv_reader_open_auto(&r, FX "bad/niv2_bad_json.json", NULL) != 0 &&
              strstr(fv_last_error(), "niv2_bad_json.json:4: invalid JSON"),
          "msg: %s", fv_last_error());
    CHECK(fv_reader_open(&r, FX "bad/niv2_bad_instance.json", FV_FMT_NIV2, NULL) == 0, "open");
    CHECK(count_all(r) == -1 && strstr(fv_last_error(), "Instances[1] t-2: missing string \"input\""), "msg: %s",
          fv_last_error());
    fv_reader_close(r);
    fv_read_opts o = {.skip_bad = 1};
    CHECK(fv_reader_open(&r, FX "bad/niv2_bad_instance.json", FV_FMT_NIV2, &o) == 0, "open");
    CHECK(fv_reader_next(r, &ex) == 1 && !strcmp(ex.id, "t-1"), "t-1");
    CHECK(fv_reader_next(r, &ex) == 1 && !strcmp(ex.id, "t-4") && ex.n_refs == 2 && !strcmp(ex.refs[1], "h"), "t-4");
    CHECK(fv_reader_next(r, &ex) == 0 && fv_reader_bad(r) == 2, "bad %zu", fv_reader_bad(r));
    fv_reader_close(r);
}

static void test_jsonl(void) {
    fv_reader *r;
    fv_example ex;
    fv_read_opts o = {.skip_bad = 1};
    CHECK(fv_reader_open_auto(&r, FX "bad/mixed.jsonl", &o) == 0, "%s", fv_last_error());
    CHECK(fv_reader_next(r, &ex) == 1 && !strcmp(ex.targets, "chat") && !strcmp(ex.task, "mixed") && ex.line == 1,
          "seq2seq form");
    CHECK(fv_reader_next(r, &ex) == 1 && !strcmp(ex.targets, "yes") && !strcmp(ex.rationale, "The sky scatters blue light.") &&
              ex.line == 3,
          "qa form line %zu", ex.line);
    CHECK(fv_reader_next(r, &ex) == 1 && !strcmp(ex.task, "colors") && ex.n_options == 2 && ex.answer_index == 1 &&
              !strcmp(ex.inputs, "Pick one."),
          "options split");
    CHECK(fv_reader_next(r, &ex) == 0 && fv_reader_bad(r) == 2, "bad %zu", fv_reader_bad(r));
    fv_reader_close(r);
    CHECK(fv_reader_open(&r, FX "bad/mixed.jsonl", FV_FMT_JSONL, NULL) == 0, "open");
    CHECK(count_all(r) == -1 && strstr(fv_last_error(), "mixed.jsonl:4: invalid JSON"), "msg: %s", fv_last_error());
    fv_reader_close(r);
}

/* Full pass over the real files when the shared data is present (skipped otherwise). */
static void test_real_data(void) {
    const char *root = "/work/shared/data";
    char path[512];
    snprintf(path, sizeof path, "%s/flan_cot/cot_data/ecqa_train.tsv", root);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("real data: %s absent, skipped\n", root);
        return;
    }
    fclose(f);
    static const struct { const char *p; fv_data_format fmt; long n; } files[] = {
        {"flan_cot/cot_data/aqua_train.tsv", FV_FMT_COT_TSV, 2728},
        {"flan_cot/cot_data/creak_train.tsv", FV_FMT_COT_TSV, 6915},
        {"flan_cot/cot_data/ecqa_train.tsv", FV_FMT_COT_TSV, 7112},
        {"flan_cot/cot_data/gsm8k_train.tsv", FV_FMT_COT_TSV, 7473},
        {"flan_cot/cot_data/qasc_train.tsv", FV_FMT_COT_TSV, 1084},
        {"flan_cot/cot_data/sensemaking_train.tsv", FV_FMT_COT_TSV, 6070},
        {"flan_cot/cot_data/strategyqa_train.tsv", FV_FMT_COT_TSV, 2061},
        {"mmlu/data/test/professional_law_test.csv", FV_FMT_MMLU, 1534},
        {"mmlu/data/test/high_school_european_history_test.csv", FV_FMT_MMLU, 165},
        {"bbh/bbh/causal_judgement.json", FV_FMT_BBH, 187},
        {"mgsm/mgsm_th.tsv", FV_FMT_MGSM, 250},
        {"niv2/tasks/task957_e2e_nlg_text_generation_generate.json", FV_FMT_NIV2, 2161},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", root, files[i].p);
        fv_reader *r;
        if (fv_reader_open(&r, path, files[i].fmt, NULL)) {
            CHECK(0, "%s", fv_last_error());
            continue;
        }
        long n = count_all(r);
        CHECK(n == files[i].n, "%s: %ld rows (want %ld) %s", files[i].p, n, files[i].n, n < 0 ? fv_last_error() : "");
        printf("real %s: %ld examples\n", files[i].p, n);
        fv_reader_close(r);
    }
    /* All 57 MMLU test files through subjects.json: 14,042 questions. */
    fv_mmlu_subject *s;
    size_t ns;
    snprintf(path, sizeof path, "%s/mmlu/subjects.json", root);
    if (fv_mmlu_subjects_load(path, &s, &ns)) {
        CHECK(0, "%s", fv_last_error());
        return;
    }
    long total = 0;
    for (size_t i = 0; i < ns; i++) {
        snprintf(path, sizeof path, "%s/mmlu/data/test/%s_test.csv", root, s[i].name);
        fv_reader *r;
        if (fv_reader_open(&r, path, FV_FMT_MMLU, NULL)) {
            CHECK(0, "%s", fv_last_error());
            continue;
        }
        long n = count_all(r);
        CHECK(n == s[i].n_test, "%s: %ld rows, subjects.json says %d", s[i].name, n, s[i].n_test);
        total += n;
        fv_reader_close(r);
    }
    CHECK(total == 14042, "mmlu test total %ld", total);
    printf("real mmlu test: %ld questions in %zu subjects\n", total, ns);
    free(s);
}

int main(void) {
    test_utf8();
    test_cot();
    test_cot_bad();
    test_bbh();
    test_mmlu();
    test_mgsm();
    test_niv2();
    test_jsonl();
    test_real_data();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
