/* BIG-Bench Hard (Suzgun et al. 2022), 3-shot from cot-prompts/<task>.txt. CoT mode: the file's
 * prompt text + "\n\nQ: {input}\nA: Let's think step by step.", the answer after the last "So the
 * answer is"; direct mode: the same three exemplars with their final answers only
 * (fv_bbh_prompt_direct), the answer the generated text. Exact match after normalisation
 * (fv_answer_match: trim, case, one trailing period, "(A)" -> "a"). A generation is cut at the next
 * " Q:" (the model writing another exemplar) before extraction. Tasks are the bbh/<task>.json files. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "data/bbh.h"
#include "data/example.h"
#include "data/strbuf.h"
#include "eval/listdir.h"
#include "eval/suite.h"

/* The BBH paper's split of its 27 tasks (Suzgun et al. 2022, "Challenging BIG-Bench Tasks and Whether
 * Chain-of-Thought Can Solve Them", Table 2 / Appendix: "NLP tasks" vs "algorithmic tasks"). */
static const char *const nlp_tasks[] = {
    "causal_judgement", "date_understanding", "disambiguation_qa", "formal_fallacies", "hyperbaton",
    "movie_recommendation", "penguins_in_a_table", "reasoning_about_colored_objects", "ruin_names",
    "salient_translation_error_detection", "snarks", "sports_understanding",
};
static const char *const algorithmic_tasks[] = {
    "boolean_expressions", "dyck_languages", "geometric_shapes", "logical_deduction_five_objects",
    "logical_deduction_seven_objects", "logical_deduction_three_objects", "multistep_arithmetic_two", "navigate",
    "object_counting", "temporal_sequences", "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects", "tracking_shuffled_objects_three_objects", "web_of_lies",
    "word_sorting",
};

static const char *group_of(const char *task) {
    for (size_t i = 0; i < sizeof nlp_tasks / sizeof *nlp_tasks; i++)
        if (!strcmp(task, nlp_tasks[i])) return "NLP";
    for (size_t i = 0; i < sizeof algorithmic_tasks / sizeof *algorithmic_tasks; i++)
        if (!strcmp(task, algorithmic_tasks[i])) return "algorithmic";
    return "other";
}

/* CoT prompt with fewer exemplars than the file has: rebuilt from its parts in the file's layout. */
static char *cot_prompt(const fv_bbh_prompt *p, size_t k, const char *input) {
    if (k >= p->n) return fv_bbh_prompt_cot(p, input);
    fv_sb b = {0};
    fv_sb_adds(&b, p->description);
    for (size_t i = 0; i < k; i++) {
        fv_sb_adds(&b, "\n\nQ: ");
        fv_sb_adds(&b, p->q[i]);
        fv_sb_adds(&b, "\nA: ");
        fv_sb_adds(&b, p->a[i]);
    }
    fv_sb_adds(&b, "\n\nQ: ");
    fv_sb_adds(&b, input);
    fv_sb_adds(&b, "\nA: Let's think step by step.");
    return fv_sb_take(&b);
}

static int task(fv_eval_run *r, const char *dir, const char *name) {
    char path[1024], file[256];
    fv_bbh_prompt p = {0};
    snprintf(file, sizeof file, "cot-prompts/%s.txt", name);
    if (fv_path_join(path, sizeof path, dir, file)) return fv_err("%s: path too long", dir);
    FV_TRY(fv_bbh_prompt_load(&p, path));
    size_t k = r->shots < 0 || (size_t)r->shots > p.n ? p.n : (size_t)r->shots, n_all = p.n;
    snprintf(file, sizeof file, "bbh/%s.json", name);
    fv_reader *rd = NULL;
    int rc = fv_path_join(path, sizeof path, dir, file) ? fv_err("%s: path too long", dir) : 0;
    if (!rc) rc = fv_reader_open(&rd, path, FV_FMT_BBH, NULL);
    if (!rc) rc = fv_eval_add_task(r, name, group_of(name));
    fv_example ex;
    int got = 0;
    for (uint32_t i = 0; !rc && (!r->limit || i < r->limit) && (got = fv_reader_next(rd, &ex)) == 1; i++) {
        char *prompt;
        if (r->cot) {
            prompt = cot_prompt(&p, k, ex.inputs);
        } else {
            p.n = k; /* the direct prompt takes the first k exemplars */
            prompt = fv_bbh_prompt_direct(&p, ex.inputs);
            p.n = n_all;
        }
        if (!prompt) {
            rc = fv_err("out of host memory");
            break;
        }
        fv_eval_item it = {.task = (char *)name, .prompt = prompt, .gold = (char *)ex.targets, .gold_index = -1,
                           .shots = (uint32_t)k, .extract = FV_EX_ANSWER};
        snprintf(it.stop, sizeof it.stop, " Q:");
        rc = fv_eval_add_item(r, &it);
        free(prompt);
    }
    if (!rc && got < 0) rc = -1;
    fv_reader_close(rd);
    fv_bbh_prompt_free(&p);
    return rc;
}

int fv_eval_build_bbh(fv_eval_run *r, const char *dir) {
    char path[1024];
    char **names = NULL;
    size_t n = 0;
    if (fv_path_join(path, sizeof path, dir, "bbh")) return fv_err("%s: path too long", dir);
    FV_TRY(fv_eval_list_dir(path, ".json", &names, &n));
    int rc = 0;
    r->headline_micro = 0; /* the BBH and Flan papers average the 27 task accuracies */
    for (size_t i = 0; !rc && i < n; i++)
        if (fv_eval_task_selected(r, names[i])) rc = task(r, dir, names[i]);
    if (!rc && !r->n) rc = fv_err("%s: no BBH task selected", path);
    fv_eval_names_free(names, n);
    return rc;
}
