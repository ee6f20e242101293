/* The public evaluation entry point (include/flanvk/eval.h): load the model and tokenizer on the
 * context's device, build the suite's items, execute, aggregate, report. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/context.h"
#include "base/error.h"
#include "eval/suite.h"
#include "io/tokenizer.h"
#include "model/t5.h"
#include "model/t5_lora.h"

void flanvk_eval_params_default(flanvk_eval_params *p) {
    memset(p, 0, sizeof *p);
    p->shots = -1;
    p->temperature = 0.7f;
    p->batch_size = 16;
}

static double now(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int build(fv_eval_run *r, const char *suite, const char *data) {
    if (!strcmp(suite, "mmlu")) return fv_eval_build_mmlu(r, data);
    if (!strcmp(suite, "bbh")) return fv_eval_build_bbh(r, data);
    if (!strcmp(suite, "mgsm")) return fv_eval_build_mgsm(r, data);
    if (!strcmp(suite, "jsonl")) return fv_eval_build_jsonl(r, data);
    return fv_err("unknown suite '%s' (mmlu, bbh, mgsm, jsonl)", suite);
}

int flanvk_eval(flanvk_ctx *ctx, const flanvk_eval_params *p, flanvk_eval_result *out) {
    memset(out, 0, sizeof *out);
    if (!ctx || !p || !p->model_dir || !p->suite || !p->data_dir)
        return fv_err("eval: a context, model directory, suite and data directory are required");
    if (p->self_consistency > 1 && !(p->temperature >= 0.0f)) return fv_err("eval: bad temperature");
    double t0 = now();
    fv_t5 *m = NULL;
    fv_tokenizer *tok = NULL;
    fv_eval_run r;
    fv_eval_run_init(&r, p->suite, p->cot, p->shots);
    r.limit = p->limit;
    r.filter = p->tasks;
    int rc = fv_tokenizer_load(p->model_dir, &tok);
    int wt = FV_T5_WTYPE_FILE;
    if (p->weights && *p->weights) {
        enum fv_wtype t;
        if (!rc) rc = fv_wtype_parse(p->weights, &t);
        wt = (int)t;
    }
    if (!rc) rc = fv_t5_load_typed(ctx->dev, p->model_dir, &wt, &m, NULL, NULL);
    if (!rc) rc = fv_t5_set_kv_cache(m, p->kv_cache && *p->kv_cache ? p->kv_cache : NULL);
    if (!rc && p->adapter && *p->adapter) rc = fv_t5_lora_attach(m, p->adapter, p->model_dir);
    if (!rc) {
        r.tok = tok;
        /* the builder drops exemplars to the length one row can take (MMLU's 4 choice rows are
         * scored in groups that fit, model/t5_score.c) */
        r.max_prompt_tokens = fv_eval_max_prompt_tokens(m, 1);
        rc = build(&r, p->suite, p->data_dir);
    }
    if (!rc) {
        fv_eval_exec_opts o = {
            .batch_size = p->batch_size, .samples = p->self_consistency, .temperature = p->temperature,
            .seed = p->seed, .progress = p->progress, .user = p->user,
            .max_new_tokens = p->max_new_tokens ? p->max_new_tokens : (p->cot ? 256 : 32),
        };
        rc = fv_eval_execute(&r, m, &o);
    }
    if (!rc) rc = fv_eval_aggregate(&r, out);
    if (!rc) out->seconds = now() - t0;
    if (!rc && p->report_path) {
        flanvk_eval_params used = *p; /* the report names the storage the model ran with */
        used.weights = fv_wtype_name(m->wtype);
        used.kv_cache = m->kv_f16 ? "f16" : "f32";
        rc = fv_eval_report_write(&r, out, &used, p->report_path);
    }
    if (rc) flanvk_eval_result_free(out);
    fv_eval_run_free(&r);
    fv_t5_free(m);
    fv_tokenizer_free(tok);
    return rc;
}

void flanvk_eval_result_free(flanvk_eval_result *r) {
    if (!r) return;
    free(r->tasks);
    free(r->groups);
    memset(r, 0, sizeof *r);
}

void flanvk_eval_print_table(const flanvk_eval_result *r, FILE *out) { fv_eval_table_print(r, out); }
