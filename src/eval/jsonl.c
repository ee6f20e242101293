/* The generic suite: JSON Lines files, one {"inputs": str, "targets": str | [str, ...]} per line,
 * optionally "choices": [str, ...] (then scored by rank classification over the choices; the first
 * target must be one of them after normalisation) and "task" (default: the file name without
 * .jsonl). The prompt is "inputs" exactly as written (CoT mode appends " Let's think step by
 * step."); generated answers are compared with the first target by exact match after normalisation
 * (the text after "So the answer is" when the model writes one). Blank lines are skipped. */
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/file.h"
#include "data/strbuf.h"
#include "eval/extract.h"
#include "eval/listdir.h"
#include "eval/suite.h"

static int has_task(const fv_eval_run *r, const char *name) {
    for (size_t i = 0; i < r->n_tasks; i++)
        if (!strcmp(r->tasks[i].name, name)) return 1;
    return 0;
}

static int line_item(fv_eval_run *r, const cJSON *d, const char *file, size_t line, const char *def_task,
                     uint32_t *counts) {
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(d, "inputs");
    const cJSON *tg = cJSON_GetObjectItemCaseSensitive(d, "targets");
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(d, "choices");
    const cJSON *tk = cJSON_GetObjectItemCaseSensitive(d, "task");
    if (cJSON_IsArray(tg)) tg = cJSON_GetArrayItem(tg, 0);
    if (!cJSON_IsString(in) || !cJSON_IsString(tg))
        return fv_err("%s:%zu: needs string \"inputs\" and \"targets\" (a string or a list of strings)", file, line);
    const char *task = cJSON_IsString(tk) ? tk->valuestring : def_task;
    /* a longer name would be stored cut short and then never found again */
    if (strlen(task) >= sizeof r->tasks[0].name)
        return fv_err("%s:%zu: task name longer than %zu bytes", file, line, sizeof r->tasks[0].name - 1);
    if (!fv_eval_task_selected(r, task)) return 0;
    if (!has_task(r, task)) FV_TRY(fv_eval_add_task(r, task, ""));
    size_t ti = 0;
    while (ti < r->n_tasks && strcmp(r->tasks[ti].name, task) != 0) ti++;
    if (ti == r->n_tasks) return fv_err("%s:%zu: task '%s' not registered", file, line, task);
    if (r->limit && counts[ti] >= r->limit) return 0;
    counts[ti]++;
    fv_eval_item it = {.task = (char *)task, .gold = tg->valuestring, .gold_index = -1, .extract = FV_EX_ANSWER};
    char *choices[64];
    if (ch) {
        int n = cJSON_GetArraySize(ch);
        if (!cJSON_IsArray(ch) || n < 2 || n > 64) return fv_err("%s:%zu: \"choices\" must list 2..64 strings", file, line);
        for (int i = 0; i < n; i++) {
            const cJSON *c = cJSON_GetArrayItem(ch, i);
            if (!cJSON_IsString(c)) return fv_err("%s:%zu: choice %d is not a string", file, line, i);
            choices[i] = c->valuestring;
            if (it.gold_index < 0 && fv_answer_match(c->valuestring, tg->valuestring)) it.gold_index = i;
        }
        if (it.gold_index < 0) return fv_err("%s:%zu: the target is not one of the choices", file, line);
        if (!r->cot) {
            it.choices = choices;
            it.n_choices = (uint32_t)n;
        }
    }
    fv_sb b = {0};
    fv_sb_adds(&b, in->valuestring);
    if (r->cot) fv_sb_adds(&b, " Let's think step by step.");
    it.prompt = fv_sb_take(&b);
    if (!it.prompt) return fv_err("out of host memory");
    int rc = fv_eval_add_item(r, &it);
    free(it.prompt);
    return rc;
}

static int file_items(fv_eval_run *r, const char *path, const char *stem) {
    char *text;
    size_t size;
    FV_TRY(fv_read_file(path, &text, &size));
    uint32_t *counts = calloc(4096, sizeof *counts);
    int rc = counts ? 0 : fv_err("out of host memory");
    size_t line = 0;
    for (char *p = text; !rc && p < text + size;) {
        char *e = memchr(p, '\n', (size_t)(text + size - p));
        if (!e) e = text + size;
        *e = 0;
        line++;
        char *s = p;
        while (*s == ' ' || *s == '\t' || *s == '\r') s++;
        if (*s) {
            cJSON *d = cJSON_Parse(s);
            if (!d || !cJSON_IsObject(d)) rc = fv_err("%s:%zu: not a JSON object", path, line);
            else if (r->n_tasks >= 4096) rc = fv_err("%s: more than 4096 tasks", path);
            else rc = line_item(r, d, path, line, stem, counts);
            cJSON_Delete(d);
        }
        p = e + 1;
    }
    free(counts);
    free(text);
    return rc;
}

int fv_eval_build_jsonl(fv_eval_run *r, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return fv_err("%s: no such file or directory", path);
    int rc = 0;
    if (S_ISDIR(st.st_mode)) {
        char **names = NULL, full[1024], file[512];
        size_t n = 0;
        FV_TRY(fv_eval_list_dir(path, ".jsonl", &names, &n));
        for (size_t i = 0; !rc && i < n; i++) {
            snprintf(file, sizeof file, "%s.jsonl", names[i]);
            rc = fv_path_join(full, sizeof full, path, file) ? fv_err("%s: path too long", path)
                                                             : file_items(r, full, names[i]);
        }
        fv_eval_names_free(names, n);
    } else {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        char stem[256];
        snprintf(stem, sizeof stem, "%s", base);
        size_t l = strlen(stem);
        if (l > 6 && !strcmp(stem + l - 6, ".jsonl")) stem[l - 6] = 0;
        rc = file_items(r, path, stem);
    }
    if (!rc && !r->n) rc = fv_err("%s: no JSONL items selected", path);
    return rc;
}
