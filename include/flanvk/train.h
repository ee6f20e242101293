/* flanvk training: finetune a T5 (from a checkpoint or a fresh config) on packed data, on the
 * device, writing Hugging Face-format checkpoints that flanvk and transformers both load. */
#ifndef FLANVK_TRAIN_H
#define FLANVK_TRAIN_H

#include <stdint.h>

#include "flanvk/flanvk.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flanvk_train_progress {
    uint32_t step, steps;
    double loss, lr, grad_norm, tokens_per_s, seconds_left;
    int skipped;               /* this step was skipped (non-finite loss or gradient norm) */
    int evaluated;             /* this step ran an evaluation of eval_data (after its update): */
    double eval_loss;          /*   mean loss over its target tokens, dropout off */
    double best_eval_loss;     /*   the lowest so far, this one included */
    uint32_t best_step;        /*   and its step */
    int stopped_early;         /* early_stop evaluations without improvement: the run ends at this step */
} flanvk_train_progress;

typedef struct flanvk_train_params {
    const char *model;         /* checkpoint directory to start from, or NULL */
    const char *config;        /* without model: "tiny", "small", "base", "large" or a config.json path */
    const char *tokenizer;     /* directory with spiece.model / tokenizer.json (NULL: the model's) */
    const char *data;          /* a .pack file from flanvk mix, or .jsonl ({"inputs","targets"} / ids) */
    const char *out;           /* checkpoint directory */
    const char *resume;        /* continue from this checkpoint (its model and training state) */
    const char *log_csv;       /* step,loss,lr,grad_norm,tokens_per_s per step */
    uint32_t steps;            /* total steps (a resumed run continues up to it) */
    uint32_t batch_size;       /* 8 packed rows */
    uint32_t seq_len_in, seq_len_out; /* 0: from the data */
    const char *optimizer;     /* "adamw" (default) or "adafactor" */
    double lr;                 /* 1e-3 */
    double weight_decay;       /* < 0: the optimizer's default (AdamW 0.01, Adafactor 0) */
    double beta1, beta2, eps;  /* AdamW: 0.9, 0.999, 1e-8; Adafactor: beta1 < 0 = None */
    int scale_parameter, relative_step, warmup_init; /* Adafactor, all off unless asked */
    uint32_t warmup;           /* linear warmup steps, 0 */
    const char *schedule;      /* "constant" (default), "linear", "cosine", "inverse-sqrt" */
    uint32_t accum;            /* micro-batches per step, 1 */
    double dropout;            /* < 0: the config's dropout_rate (0.1 for T5) */
    double clip;               /* global gradient-norm clipping, 0 = off */
    int grad_checkpointing;    /* recompute each block's activations in the backward (less memory, ~1/3 more compute) */
    int mixed_precision;       /* fp16 copies of the attention / wi projection weights for the matmuls; fp32 master
                                  weights, gradients, optimizer state, activations and wo (the feed-forward output,
                                  which overflows fp16); needs 16-bit storage, else fp32 with a warning */
    uint64_t seed;
    uint32_t save_every;       /* 0: only at the end */
    const char *eval_data;     /* held-out .pack / .jsonl (as data): its mean target-token loss is logged */
    uint32_t eval_every;       /* evaluate every N steps and at the end; 0: save_every if set, else steps / 10 */
    uint32_t eval_batches;     /* evaluate only the first K batches of eval_data (0: all) */
    int keep_best;             /* also keep the checkpoint of the lowest eval loss, as OUT/best */
    uint32_t early_stop;       /* stop after this many evaluations without a lower eval loss (0: never) */
    /* LoRA (Hu et al. 2021, with Hugging Face PEFT's semantics; README "LoRA training"): train
     * adapters y = W x + (lora_alpha / r) B A dropout(x) on a frozen base; `out` (and each
     * checkpoint) is then a PEFT adapter directory. On when lora_rank > 0, adapter is set, or
     * resume is such a directory (its base: model, else its base_model_name_or_path). */
    int lora_rank;             /* r; 0: full finetuning */
    double lora_alpha;         /* 0: PEFT's default, 8 */
    double lora_dropout;       /* < 0: 0 (PEFT's default); with adapter: that adapter's */
    const char *lora_targets;  /* "q,v" (NULL: PEFT's T5 default), any of q,k,v,o,wi,wi_0,wi_1,wo, or "all" */
    const char *adapter;       /* start from this PEFT adapter directory (its r, alpha, targets) */
    const char *weights;       /* the frozen base's storage: "f32", "f16", "bf16", "q8"; NULL: bf16 where the
                                  device has 16-bit storage, else f32 */
    void (*progress)(const flanvk_train_progress *p, void *user);
    void *user;
} flanvk_train_params;

typedef struct flanvk_train_result {
    uint32_t steps_done, skipped;
    double first_loss, last_loss;
    uint64_t peak_device_bytes;
    uint32_t evals;            /* evaluations of eval_data in this run */
    double last_eval_loss;     /* NaN without any */
    double best_eval_loss;     /* the lowest of the whole run (a resumed one: since its start); NaN without */
    uint32_t best_step;        /* its step (the checkpoint OUT/best with keep_best) */
    int stopped_early;         /* ended by early_stop before steps */
    int adapter;               /* the run trained a LoRA adapter (out is a PEFT adapter directory) */
} flanvk_train_result;

void flanvk_train_params_default(flanvk_train_params *p);
int flanvk_train(flanvk_ctx *ctx, const flanvk_train_params *p, flanvk_train_result *out);

/* Draw the loss plot of one or more training logs (the CSV of flanvk_train_params.log_csv:
 * step,loss,lr,grad_norm,tokens_per_s[,eval_loss]) as a PNG at out_png (written to a temporary name,
 * then renamed). Several logs share the axes, each labelled with its file name. Needs no device. */
int flanvk_plot_logs(const char *const *csv, uint32_t n, const char *out_png);

#ifdef __cplusplus
}
#endif

#endif
