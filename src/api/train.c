/* Public training API (include/flanvk/train.h) over src/train/. */
#include <string.h>

#include "api/context.h"
#include "base/file.h"
#include "flanvk/train.h"
#include "train/plot_log.h"
#include "train/lora_run.h"
#include "train/trainer.h"

void flanvk_train_params_default(flanvk_train_params *p) {
    memset(p, 0, sizeof *p);
    p->batch_size = 8;
    p->optimizer = "adamw";
    p->lr = 1e-3;
    p->weight_decay = -1;
    p->beta1 = -2; /* unset: each optimizer's own default */
    p->beta2 = 0.999;
    p->eps = 1e-8;
    p->schedule = "constant";
    p->accum = 1;
    p->dropout = -1;
    p->lora_dropout = -1;
}

static void forward_progress(const fv_train_progress *p, void *user) {
    const flanvk_train_params *params = user;
    flanvk_train_progress q = {p->step, p->steps, p->loss, p->lr, p->grad_norm, p->tokens_per_s, p->seconds_left, p->skipped,
                               p->evaluated, p->eval_loss, p->best_eval_loss, p->best_step, p->stopped_early};
    params->progress(&q, params->user);
}

int flanvk_train(flanvk_ctx *ctx, const flanvk_train_params *p, flanvk_train_result *out) {
    fv_train_cfg c;
    memset(&c, 0, sizeof c);
    memset(out, 0, sizeof *out);
    c.model_dir = p->model; /* resuming a full finetune loads the checkpoint's model instead; a LoRA run
                               resumed keeps it as its frozen base */
    if (!p->model && !p->resume) {
        if (!p->config) return fv_err("train: give --model DIR or --config tiny|small|base|large|FILE.json");
        if (fv_t5_config_preset(&c.config, p->config) != 0) {
            if (!fv_file_exists(p->config))
                return fv_err("train: --config '%s' is neither tiny, small, base, large nor a config file", p->config);
            FV_TRY(fv_t5_config_load(&c.config, p->config));
        }
    }
    c.tokenizer_dir = p->tokenizer;
    c.data = p->data;
    c.out = p->out;
    c.resume = p->resume;
    c.log_csv = p->log_csv;
    c.steps = p->steps;
    c.batch_size = p->batch_size;
    c.seq_in = p->seq_len_in;
    c.seq_out = p->seq_len_out;
    c.accum = p->accum ? p->accum : 1;
    c.save_every = p->save_every;
    c.dropout = (float)p->dropout;
    c.clip = (float)p->clip;
    c.grad_checkpointing = p->grad_checkpointing;
    c.mixed_precision = p->mixed_precision;
    c.seed = p->seed;
    c.eval_data = p->eval_data;
    c.eval_every = p->eval_every;
    c.eval_batches = p->eval_batches;
    c.keep_best = p->keep_best;
    c.early_stop = p->early_stop;
    if (!p->model && !p->resume && p->config) c.model_name = p->config;
    c.lora_rank = p->lora_rank;
    c.lora_alpha = p->lora_alpha;
    c.lora_dropout = p->lora_dropout;
    c.lora_targets = p->lora_targets;
    c.adapter_dir = p->adapter;
    c.weights = -1;
    if (p->lora_rank < 0) return fv_err("train: --lora-rank %d: must be > 0", p->lora_rank);
    if (p->lora_alpha < 0)
        return fv_err("train: --lora-alpha %g: must be > 0", p->lora_alpha);
    if (!(p->lora_dropout < 1)) return fv_err("train: --lora-dropout %g: must be in [0, 1)", p->lora_dropout);
    if (p->weights) {
        enum fv_wtype wt;
        if (fv_wtype_parse(p->weights, &wt)) return fv_err("train: --weights '%s': f32, f16, bf16 or q8", p->weights);
        c.weights = (int)wt;
    }
    int lora = fv_train_lora_wanted(&c);
    if (!lora && (p->weights && c.weights != FV_WT_F32))
        return fv_err("train: --weights %s holds a frozen base: it needs LoRA (--lora-rank or --adapter)", p->weights);
    if (!lora && (p->lora_targets || p->lora_alpha > 0 || p->lora_dropout >= 0))
        return fv_err("train: --lora-alpha, --lora-dropout and --lora-targets need --lora-rank R (or --adapter DIR)");
    if (p->adapter && (p->lora_rank > 0 || p->lora_alpha > 0 || p->lora_targets))
        return fv_err("train: --adapter %s brings its own rank, alpha and targets: --lora-rank, --lora-alpha and "
                      "--lora-targets go without it", p->adapter);
    if (lora && !p->model && !p->resume && !p->adapter)
        return fv_err("train: LoRA trains adapters on a base model: give --model DIR");
    if (!p->optimizer || !strcmp(p->optimizer, "adamw")) {
        c.opt.kind = FV_OPT_ADAMW;
        c.opt.adamw = fv_adamw_defaults();
        c.opt.adamw.lr = p->lr;
        if (p->weight_decay >= 0) c.opt.adamw.weight_decay = p->weight_decay;
        if (p->beta1 > -2) c.opt.adamw.beta1 = p->beta1;
        c.opt.adamw.beta2 = p->beta2;
        c.opt.adamw.eps = p->eps;
    } else if (!strcmp(p->optimizer, "adafactor")) {
        c.opt.kind = FV_OPT_ADAFACTOR;
        c.opt.adafactor = fv_adafactor_defaults();
        c.opt.adafactor.lr = p->lr;
        c.opt.adafactor.scale_parameter = p->scale_parameter;
        c.opt.adafactor.relative_step = p->relative_step;
        c.opt.adafactor.warmup_init = p->warmup_init;
        if (p->weight_decay >= 0) c.opt.adafactor.weight_decay = p->weight_decay;
        if (p->beta1 >= 0) {
            c.opt.adafactor.use_beta1 = 1;
            c.opt.adafactor.beta1 = p->beta1;
        }
    } else {
        return fv_err("train: unknown optimizer '%s' (adamw, adafactor)", p->optimizer);
    }
    c.sched.lr = p->lr;
    c.sched.warmup = p->warmup;
    FV_TRY(fv_schedule_parse(p->schedule ? p->schedule : "constant", &c.sched.kind));
    if (p->progress) {
        c.progress = forward_progress;
        c.user = (void *)p;
    }
    fv_train_result r;
    int rc = fv_train(ctx->dev, &c, &r);
    out->steps_done = r.steps_done;
    out->skipped = r.skipped;
    out->first_loss = r.first_loss;
    out->last_loss = r.last_loss;
    out->peak_device_bytes = r.peak_device_bytes;
    out->evals = r.evals;
    out->last_eval_loss = r.last_eval_loss;
    out->best_eval_loss = r.best_eval_loss;
    out->best_step = r.best_step;
    out->stopped_early = r.stopped_early;
    out->adapter = r.adapter;
    return rc;
}

int flanvk_plot_logs(const char *const *csv, uint32_t n, const char *out_png) { return fv_plot_logs(csv, n, out_png); }
