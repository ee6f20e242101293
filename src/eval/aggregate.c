/* Aggregation of an evaluation run: per task (correct / n), per group (the mean of its tasks'
 * accuracies, and the pooled question-level accuracy), and per suite (macro = mean over tasks,
 * micro = over all items). Which one the suite's paper reports is run->headline_micro: MMLU's
 * hendrycks/test evaluate_flan.py prints the question-level average over all subjects; BBH (Suzgun
 * et al.) and MGSM (Shi et al.) average the task / language accuracies. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "eval/suite.h"

int fv_eval_aggregate(const fv_eval_run *r, flanvk_eval_result *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->suite, sizeof out->suite, "%s", r->suite);
    snprintf(out->mode, sizeof out->mode, "%s", r->cot ? "cot" : "direct");
    out->tasks = calloc(r->n_tasks + 1, sizeof *out->tasks);
    out->groups = calloc(r->n_tasks + 1, sizeof *out->groups);
    if (!out->tasks || !out->groups) {
        free(out->tasks);
        free(out->groups);
        out->tasks = out->groups = NULL;
        return fv_err("out of host memory");
    }
    out->n_tasks = (uint32_t)r->n_tasks;
    for (size_t t = 0; t < r->n_tasks; t++) {
        flanvk_eval_score *s = &out->tasks[t];
        snprintf(s->name, sizeof s->name, "%s", r->tasks[t].name);
        snprintf(s->group, sizeof s->group, "%s", r->tasks[t].group);
        s->n_tasks = 1;
    }
    for (size_t i = 0; i < r->n; i++) {
        const fv_eval_item *it = &r->items[i];
        for (size_t t = 0; t < r->n_tasks; t++) {
            if (strcmp(r->tasks[t].name, it->task) != 0) continue;
            out->tasks[t].n++;
            out->tasks[t].correct += it->correct != 0;
            break;
        }
    }
    uint32_t counted = 0;
    double sum = 0;
    for (uint32_t t = 0; t < out->n_tasks; t++) {
        flanvk_eval_score *s = &out->tasks[t];
        s->accuracy = s->micro = s->n ? (double)s->correct / s->n : 0.0;
        out->n_items += s->n;
        out->n_correct += s->correct;
        if (s->n) {
            sum += s->accuracy;
            counted++;
        }
        if (!s->group[0] || !s->n) continue;
        uint32_t g = 0;
        while (g < out->n_groups && strcmp(out->groups[g].name, s->group) != 0) g++;
        if (g == out->n_groups) snprintf(out->groups[out->n_groups++].name, sizeof out->groups[g].name, "%s", s->group);
        flanvk_eval_score *gs = &out->groups[g];
        gs->n_tasks++;
        gs->n += s->n;
        gs->correct += s->correct;
        gs->accuracy += s->accuracy; /* summed here, divided below */
    }
    for (uint32_t g = 0; g < out->n_groups; g++) {
        flanvk_eval_score *gs = &out->groups[g];
        gs->accuracy = gs->n_tasks ? gs->accuracy / gs->n_tasks : 0.0;
        gs->micro = gs->n ? (double)gs->correct / gs->n : 0.0;
    }
    out->macro = counted ? sum / counted : 0.0;
    out->micro = out->n_items ? (double)out->n_correct / out->n_items : 0.0;
    out->headline = r->headline_micro ? out->micro : out->macro;
    snprintf(out->headline_name, sizeof out->headline_name, "%s", r->headline_micro ? "micro" : "macro");
    out->n_truncated = r->n_truncated;
    return 0;
}
