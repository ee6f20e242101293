/* The evaluation report: a JSON document (written atomically) with the run's settings, per-task and
 * per-group scores, the averages, and every item's prompt, raw outputs, extracted answers and
 * prediction, for inspection; and the terminal table. Every field is filled (no nulls): items
 * scored by rank classification list their choices and log-probabilities, generated items an empty
 * choice list. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "eval/suite.h"

static const char *normalized_note =
    "Chung et al. 2022 (Scaling Instruction-Finetuned Language Models) define the normalized average over six "
    "evaluation settings together (MMLU direct and CoT, BBH direct and CoT, TyDiQA direct, MGSM CoT); one suite run "
    "cannot compute it, so value holds this run's raw headline average";

static cJSON *score_json(const flanvk_eval_score *s, int group) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, group ? "group" : "task", s->name);
    if (!group) cJSON_AddStringToObject(o, "group", s->group);
    else cJSON_AddNumberToObject(o, "n_tasks", s->n_tasks);
    cJSON_AddNumberToObject(o, "n", s->n);
    cJSON_AddNumberToObject(o, "correct", s->correct);
    cJSON_AddNumberToObject(o, group ? "macro" : "accuracy", s->accuracy);
    if (group) cJSON_AddNumberToObject(o, "micro", s->micro);
    return o;
}

static cJSON *strings(char *const *v, uint32_t n) {
    cJSON *a = cJSON_CreateArray();
    for (uint32_t i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(v[i] ? v[i] : ""));
    return a;
}

static cJSON *item_json(const fv_eval_item *it, size_t index) {
    static const char *kinds[] = {"choice_letter", "after_answer_is", "number"};
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "task", it->task);
    cJSON_AddNumberToObject(o, "index", (double)index);
    cJSON_AddStringToObject(o, "method", it->n_choices ? "rank_classification" : "generation");
    cJSON_AddStringToObject(o, "extraction", it->n_choices ? "argmax_logprob" : kinds[it->extract]);
    cJSON_AddNumberToObject(o, "shots", it->shots);
    cJSON_AddNumberToObject(o, "prompt_tokens", it->prompt_tokens);
    cJSON_AddBoolToObject(o, "truncated", it->truncated);
    cJSON_AddStringToObject(o, "prompt", it->prompt);
    cJSON_AddItemToObject(o, "choices", strings(it->choices, it->n_choices));
    cJSON *lp = cJSON_CreateArray();
    for (uint32_t i = 0; lp && it->logprobs && i < it->n_choices; i++) cJSON_AddItemToArray(lp, cJSON_CreateNumber(it->logprobs[i]));
    cJSON_AddItemToObject(o, "logprobs", lp);
    cJSON_AddItemToObject(o, "outputs", strings(it->outputs, it->outputs ? it->n_outputs : 0));
    cJSON_AddItemToObject(o, "extracted", strings(it->extracted, it->extracted ? it->n_outputs : 0));
    cJSON_AddStringToObject(o, "prediction", it->pred ? it->pred : "");
    cJSON_AddStringToObject(o, "gold", it->gold);
    cJSON_AddBoolToObject(o, "correct", it->correct);
    return o;
}

int fv_eval_report_write(const fv_eval_run *r, const flanvk_eval_result *res, const flanvk_eval_params *p,
                         const char *path) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return fv_err("out of host memory");
    cJSON_AddStringToObject(o, "suite", res->suite);
    cJSON_AddStringToObject(o, "mode", res->mode);
    cJSON_AddStringToObject(o, "model", p->model_dir ? p->model_dir : "");
    cJSON_AddStringToObject(o, "weights", p->weights ? p->weights : "");
    cJSON_AddStringToObject(o, "kv_cache", p->kv_cache ? p->kv_cache : "");
    cJSON_AddStringToObject(o, "adapter", p->adapter ? p->adapter : "");
    cJSON_AddStringToObject(o, "data", p->data_dir ? p->data_dir : "");
    cJSON_AddStringToObject(o, "tasks_filter", p->tasks ? p->tasks : "");
    cJSON_AddNumberToObject(o, "shots", r->n ? r->items[0].shots : 0);
    cJSON_AddNumberToObject(o, "self_consistency", p->self_consistency > 1 ? p->self_consistency : 1);
    double temp = p->self_consistency > 1 ? (p->temperature > 0 ? p->temperature : 0.7) : 0.0;
    cJSON_AddNumberToObject(o, "temperature", floor(temp * 1e6 + 0.5) / 1e6); /* the float, not its binary tail */
    cJSON_AddNumberToObject(o, "seed", (double)p->seed);
    cJSON_AddNumberToObject(o, "limit", p->limit);
    cJSON_AddNumberToObject(o, "batch_size", p->batch_size ? p->batch_size : 16);
    cJSON_AddNumberToObject(o, "seconds", res->seconds);
    cJSON_AddNumberToObject(o, "n_items", res->n_items);
    cJSON_AddNumberToObject(o, "n_correct", res->n_correct);
    cJSON_AddNumberToObject(o, "n_truncated", res->n_truncated);
    cJSON_AddNumberToObject(o, "macro_average", res->macro);
    cJSON_AddNumberToObject(o, "micro_average", res->micro);
    cJSON_AddNumberToObject(o, "headline_average", res->headline);
    cJSON_AddStringToObject(o, "headline_kind", res->headline_name);
    cJSON *na = cJSON_AddObjectToObject(o, "paper_normalized_average");
    if (na) {
        cJSON_AddBoolToObject(na, "applies", 0);
        cJSON_AddNumberToObject(na, "value", res->headline);
        cJSON_AddStringToObject(na, "note", normalized_note);
    }
    cJSON *ts = cJSON_AddArrayToObject(o, "tasks"), *gs = cJSON_AddArrayToObject(o, "groups");
    cJSON *is = cJSON_AddArrayToObject(o, "items");
    for (uint32_t i = 0; ts && i < res->n_tasks; i++) cJSON_AddItemToArray(ts, score_json(&res->tasks[i], 0));
    for (uint32_t i = 0; gs && i < res->n_groups; i++) cJSON_AddItemToArray(gs, score_json(&res->groups[i], 1));
    for (size_t i = 0; is && i < r->n; i++) cJSON_AddItemToArray(is, item_json(&r->items[i], i));
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) return fv_err("%s: out of host memory building the report", path);
    fv_awrite w;
    int rc = fv_awrite_open(&w, path);
    if (!rc) {
        size_t n = strlen(text);
        if (fv_awrite_put(&w, text, n) || fv_awrite_put(&w, "\n", 1)) {
            rc = -1;
            fv_awrite_abort(&w);
        } else {
            rc = fv_awrite_commit(&w);
        }
    }
    cJSON_free(text);
    return rc;
}

void fv_eval_table_print(const flanvk_eval_result *res, FILE *out) {
    int w = 24;
    for (uint32_t i = 0; i < res->n_tasks; i++) {
        int l = (int)strlen(res->tasks[i].name);
        if (l > w) w = l;
    }
    fprintf(out, "%-*s  %-16.16s %6s %7s %8s\n", w, "task", "group", "n", "correct", "accuracy");
    for (uint32_t i = 0; i < res->n_tasks; i++) {
        const flanvk_eval_score *s = &res->tasks[i];
        fprintf(out, "%-*s  %-16.16s %6u %7u %7.2f%%\n", w, s->name, s->group, s->n, s->correct, 100 * s->accuracy);
    }
    if (res->n_groups) {
        fprintf(out, "\n%-*s  %6s %6s %7s %8s %8s\n", w, "group", "tasks", "n", "correct", "macro", "micro");
        for (uint32_t i = 0; i < res->n_groups; i++) {
            const flanvk_eval_score *s = &res->groups[i];
            fprintf(out, "%-*s  %6u %6u %7u %7.2f%% %7.2f%%\n", w, s->name, s->n_tasks, s->n, s->correct,
                    100 * s->accuracy, 100 * s->micro);
        }
    }
    fprintf(out, "\n%s %s: %u items, %u correct; macro %.2f%%, micro %.2f%% (headline: %s %.2f%%)", res->suite,
            res->mode, res->n_items, res->n_correct, 100 * res->macro, 100 * res->micro, res->headline_name,
            100 * res->headline);
    if (res->n_truncated) fprintf(out, "; %u prompts shortened to fit the device", res->n_truncated);
    fprintf(out, "\n");
}
