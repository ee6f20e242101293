/* The evaluation suites end to end on a tiny random T5 (assets/eval/: a few MMLU, BBH,
 * MGSM and JSONL items in the layouts of /work/shared/data): every suite in direct and CoT mode
 * and with self-consistency, the JSON report valid with every field filled and accuracies in
 * [0, 1]; shared-prompt rank classification against per-pair scoring; and the scoring rules
 * (argmax, majority vote, extraction, per-group aggregation) on constructed inputs. */
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/context.h"
#include "base/file.h"
#include "eval/suite.h"
#include "flanvk/eval.h"
#include "io/tokenizer.h"
#include "model/t5.h"
#include "model/t5_score.h"

#include "support/unit.h"

static void test_rules(void) {
    double lp[4] = {-3.0, -1.5, -1.5, -7.0};
    CHECK(fv_eval_argmax(lp, 4) == 1, "argmax with a tie takes the first");
    char *v1[] = {"(B)", "A", "b", "", "A"};
    CHECK(fv_eval_majority(v1, 5) == 0, "(B) and b are one answer, tied with A, first seen wins");
    char *v2[] = {"", "7", "8", "8"};
    CHECK(fv_eval_majority(v2, 4) == 2, "8 wins 2:1, empty answers do not vote");
    char *v3[] = {"", ""};
    CHECK(fv_eval_majority(v3, 2) == 0, "all empty");

    char *outs[] = {"The answer is 12. Question: x is 99", "So the answer is 13.", "the answer is 12"};
    fv_eval_item it = {.task = "t", .gold = "12", .extract = FV_EX_NUMBER, .outputs = outs, .n_outputs = 3};
    snprintf(it.stop, sizeof it.stop, "Question:");
    int rc = fv_eval_score_outputs(&it);
    CHECK(rc == 0 && it.pred && !strcmp(it.pred, "12") && it.correct, "vote over numbers -> %s", it.pred ? it.pred : "?");
    for (int i = 0; i < 3; i++) free(it.extracted[i]);
    free(it.extracted);
    free(it.pred);

    char *ch[] = {"A", "B", "C", "D"};
    double lps[4] = {-4, -2, -1, -3};
    fv_eval_item rk = {.task = "t", .gold = "C", .choices = ch, .n_choices = 4, .gold_index = 2, .logprobs = lps};
    rc = fv_eval_score_outputs(&rk);
    CHECK(rc == 0 && rk.correct && !strcmp(rk.pred, "C"), "rank classification picks the highest log-probability");
    free(rk.outputs[0]);
    free(rk.extracted[0]);
    free(rk.outputs);
    free(rk.extracted);
    free(rk.pred);

    /* aggregation: STEM = {a: 1/2, b: 3/4}, humanities = {c: 0/1}, d without items */
    fv_eval_run r;
    fv_eval_run_init(&r, "mmlu", 0, 5);
    r.headline_micro = 1;
    fv_eval_add_task(&r, "a", "STEM");
    fv_eval_add_task(&r, "b", "STEM");
    fv_eval_add_task(&r, "c", "humanities");
    fv_eval_add_task(&r, "d", "humanities");
    const char *tasks[] = {"a", "a", "b", "b", "b", "b", "c"};
    int corr[] = {1, 0, 1, 1, 0, 1, 0};
    for (int i = 0; i < 7; i++) {
        fv_eval_item t = {.task = (char *)tasks[i], .prompt = "p", .gold = "g"};
        fv_eval_add_item(&r, &t);
        r.items[r.n - 1].correct = corr[i];
    }
    flanvk_eval_result res;
    rc = fv_eval_aggregate(&r, &res);
    CHECK(rc == 0 && res.n_tasks == 4 && res.n_groups == 2, "aggregate shape");
    CHECK(fabs(res.tasks[1].accuracy - 0.75) < 1e-12, "task b");
    CHECK(res.n_groups == 2 && !strcmp(res.groups[0].name, "STEM") && fabs(res.groups[0].accuracy - 0.625) < 1e-12 &&
              fabs(res.groups[0].micro - 4.0 / 6) < 1e-12 && res.groups[0].n_tasks == 2,
          "STEM macro 0.625, micro 4/6");
    CHECK(res.n_groups == 2 && res.groups[1].n_tasks == 1 && res.groups[1].accuracy == 0.0, "humanities skips the empty task");
    CHECK(fabs(res.macro - (0.5 + 0.75 + 0) / 3) < 1e-12 && fabs(res.micro - 4.0 / 7) < 1e-12 && res.headline == res.micro,
          "suite macro over 3 tasks with items, micro 4/7, headline micro");
    printf("aggregation: STEM macro %.3f micro %.3f, suite macro %.4f micro %.4f\n", res.groups[0].accuracy,
           res.groups[0].micro, res.macro, res.micro);
    flanvk_eval_result_free(&res);
    fv_eval_run_free(&r);
}

static int make_model(fv_dev *d, const char *dir) {
    fv_t5_config c;
    fv_t5 *m = NULL;
    char path[1024];
    if (fv_t5_config_preset(&c, "tiny") || fv_mkdirs(dir) || fv_t5_create(d, &c, &m)) return -1;
    int rc = fv_t5_init_weights(m, 1234) || fv_t5_save_weights(m, dir);
    fv_t5_free(m);
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (rc || fv_t5_config_save(&c, path)) return -1;
    char *buf;
    size_t n;
    if (fv_read_file("assets/tokenizer/spiece.model", &buf, &n)) return -1;
    snprintf(path, sizeof path, "%s/spiece.model", dir);
    FILE *f = fopen(path, "wb");
    rc = !f || fwrite(buf, 1, n, f) != n;
    if (f) rc |= fclose(f) != 0;
    free(buf);
    return rc ? -1 : 0;
}

static void test_targets_and_shared(fv_dev *d, const char *dir) {
    fv_tokenizer *tok = NULL;
    fv_t5 *m = NULL;
    if (fv_tokenizer_load(dir, &tok) || fv_t5_load(d, dir, &m, NULL, NULL)) {
        CHECK(0, "load: %s", fv_last_error());
        return;
    }
    uint32_t *a, *sa;
    size_t na, nsa;
    fv_tokenizer_encode(tok, "A", 1, 1, &a, &na);
    fv_tokenizer_encode(tok, " A", 2, 1, &sa, &nsa);
    CHECK(na == 2 && nsa == 2 && a[0] == sa[0] && a[1] == 1, "\"A\" and \" A\" both encode to one piece + </s>");
    printf("target \"A\" -> [%s, %s] (ids %u %u)\n", fv_tokenizer_id_to_piece(tok, a[0]), fv_tokenizer_id_to_piece(tok, a[1]),
           a[0], a[1]);
    free(a);
    free(sa);

    const char *prompt = "The following are multiple choice questions (with answers) about algebra.\n\nWhat is 2+2?\n"
                         "A. 3\nB. 4\nC. 5\nD. 6\nAnswer:";
    const char *tg[] = {"A", "B", "C", "D", "not a letter"};
    uint32_t *pid, *tid[5], tl[5], pl[5];
    size_t n;
    fv_tokenizer_encode(tok, prompt, strlen(prompt), 1, &pid, &n);
    const uint32_t *ins[5];
    for (int i = 0; i < 5; i++) {
        size_t k;
        fv_tokenizer_encode(tok, tg[i], strlen(tg[i]), 1, &tid[i], &k);
        tl[i] = (uint32_t)k;
        ins[i] = pid;
        pl[i] = (uint32_t)n;
    }
    double s1[5], s2[5];
    int rc = fv_t5_score_shared(m, pid, (uint32_t)n, (const uint32_t *const *)tid, tl, 5, s1);
    rc = rc || fv_t5_score(m, ins, pl, (const uint32_t *const *)tid, tl, 5, 0, s2);
    double err = 0;
    for (int i = 0; i < 5; i++) err = fmax(err, fabs(s1[i] - s2[i]) / fmax(1.0, fabs(s2[i])));
    CHECK(rc == 0 && err < 1e-4, "shared-prompt scoring == per-pair scoring (rel err %.2e) %s", err, rc ? fv_last_error() : "");
    printf("score_shared vs score, %zu-token prompt, 5 targets: max rel err %.2e (A: %.4f vs %.4f)\n", n, err, s1[0], s2[0]);
    free(pid);
    for (int i = 0; i < 5; i++) free(tid[i]);
    fv_t5_free(m);
    fv_tokenizer_free(tok);
}

static int no_nulls(const cJSON *j) {
    if (cJSON_IsNull(j) || cJSON_IsInvalid(j)) return 0;
    for (const cJSON *c = j->child; c; c = c->next)
        if (!no_nulls(c)) return 0;
    return 1;
}

static void run_suite(flanvk_ctx *ctx, const char *model, const char *suite, const char *data, int cot, uint32_t sc,
                      const char *report) {
    flanvk_eval_params p;
    flanvk_eval_params_default(&p);
    p.model_dir = model;
    p.suite = suite;
    p.data_dir = data;
    p.cot = cot;
    p.limit = 2;
    p.self_consistency = sc;
    p.seed = 7;
    p.max_new_tokens = cot ? 24 : 8;
    p.report_path = report;
    flanvk_eval_result r;
    int rc = flanvk_eval(ctx, &p, &r);
    CHECK(rc == 0, "eval %s %s sc %u: %s", suite, cot ? "cot" : "direct", sc, rc ? flanvk_last_error() : "");
    if (rc) return;
    printf("--- %s %s%s: %.1f s\n", suite, cot ? "cot" : "direct", sc > 1 ? " self-consistency" : "", r.seconds);
    flanvk_eval_print_table(&r, stdout);
    int ok = r.n_items > 0 && r.macro >= 0 && r.macro <= 1 && r.micro >= 0 && r.micro <= 1;
    for (uint32_t i = 0; i < r.n_tasks; i++) ok &= r.tasks[i].accuracy >= 0 && r.tasks[i].accuracy <= 1 && r.tasks[i].n <= 2;
    CHECK(ok, "%s: accuracies in [0, 1], at most 2 items per task", suite);
    char *text;
    size_t n;
    cJSON *j = NULL;
    if (fv_read_file(report, &text, &n) == 0) {
        j = cJSON_Parse(text);
        free(text);
    }
    CHECK(j != NULL, "%s: report is valid JSON", report);
    if (j) {
        CHECK(no_nulls(j), "%s: no null field", report);
        const cJSON *items = cJSON_GetObjectItem(j, "items");
        int good = cJSON_GetArraySize(items) == (int)r.n_items;
        const cJSON *it;
        cJSON_ArrayForEach(it, items) {
            const cJSON *pr = cJSON_GetObjectItem(it, "prompt"), *out = cJSON_GetObjectItem(it, "outputs");
            const cJSON *ex = cJSON_GetObjectItem(it, "extracted"), *pd = cJSON_GetObjectItem(it, "prediction");
            good &= cJSON_IsString(pr) && strlen(pr->valuestring) > 0 && cJSON_IsString(pd) &&
                    cJSON_GetArraySize(out) >= 1 && cJSON_GetArraySize(out) == cJSON_GetArraySize(ex) &&
                    (sc <= 1 || cJSON_GetArraySize(out) == (int)sc || cJSON_GetArraySize(cJSON_GetObjectItem(it, "choices")) > 0);
        }
        CHECK(good, "%s: every item has its prompt, outputs, extracted answers and prediction", report);
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(j, "headline_average")) && cJSON_GetArraySize(cJSON_GetObjectItem(j, "tasks")) > 0,
              "%s: averages and tasks", report);
        cJSON_Delete(j);
    }
    flanvk_eval_result_free(&r);
}

int main(void) {
    test_rules();
    char tmpl[] = "/tmp/flanvk_test_eval_XXXXXX";
    char *tmp = mkdtemp(tmpl);
    flanvk_ctx *ctx = NULL;
    if (!tmp || flanvk_open(-1, &ctx)) {
        printf("FAIL: setup: %s\n", flanvk_last_error());
        return 1;
    }
    char model[600], report[700];
    snprintf(model, sizeof model, "%s/model", tmp);
    int rc = make_model(ctx->dev, model);
    CHECK(rc == 0, "tiny model: %s", fv_last_error());
    if (!rc) {
        test_targets_and_shared(ctx->dev, model);
        static const struct {
            const char *suite, *dir;
            int cot;
            uint32_t sc;
        } runs[] = {
            {"mmlu", "assets/eval/mmlu", 0, 1},   {"mmlu", "assets/eval/mmlu", 1, 1},
            {"bbh", "assets/eval/bbh", 0, 1},     {"bbh", "assets/eval/bbh", 1, 1},
            {"mgsm", "assets/eval/mgsm", 1, 1},   {"jsonl", "assets/eval/jsonl", 0, 1},
            {"bbh", "assets/eval/bbh", 0, 3},
        };
        for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
            snprintf(report, sizeof report, "%s/report_%zu.json", tmp, i);
            run_suite(ctx, model, runs[i].suite, runs[i].dir, runs[i].cot, runs[i].sc, report);
        }
    }
    flanvk_close(ctx);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (getenv("FLANVK_TEST_KEEP")) printf("kept %s\n", tmp);
    else if (system(cmd) != 0) printf("note: could not remove %s\n", tmp);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
