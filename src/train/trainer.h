/* The training loop behind `flanvk train`: a T5 from a checkpoint or a fresh config, rows from a
 * pack file or JSONL, the recorded training step (model/t5_train_step.h) replayed every step, the
 * gradient norm read back with the loss (the only host round trip of a step), steps with a
 * non-finite loss or norm skipped (several in a row stop the run, the last checkpoint untouched),
 * clipping, the optimizer, checkpoints every save_every steps and at the end, exact resume.
 * With eval_data: the held-out loss every eval_every steps and at the end (train/evaluator.h),
 * after that step's update; keep_best saves OUT/best at each new lowest eval loss; early_stop
 * ends the run after that many evaluations without a new lowest. */
#ifndef FV_TRAIN_TRAINER_H
#define FV_TRAIN_TRAINER_H

#include <stdint.h>

#include "io/t5_config.h"
#include "train/optimizer.h"
#include "train/schedule.h"
#include "vk/device.h"

typedef struct fv_train_progress {
    uint32_t step, steps;
    double loss, lr, grad_norm, tokens_per_s, seconds_left;
    int skipped;
    int evaluated;             /* this step ran an evaluation: */
    double eval_loss, best_eval_loss; /* its loss, the lowest so far (this one included) */
    uint32_t best_step;        /* and the step of that lowest */
    int stopped_early;         /* the run ends here: early_stop evaluations without improvement */
} fv_train_progress;

typedef struct fv_train_cfg {
    const char *model_dir;     /* start from this checkpoint, or NULL: a fresh model of `config` */
    fv_t5_config config;
    const char *tokenizer_dir; /* for text JSONL and to copy into checkpoints (NULL: the model's) */
    const char *data, *out, *resume, *log_csv;
    uint32_t steps, batch_size, seq_in, seq_out, accum, save_every;
    fv_optimizer_cfg opt;
    fv_schedule sched;         /* kind, lr, warmup; total is set from steps */
    float dropout;             /* < 0: the config's dropout_rate */
    float clip;                /* 0: off */
    int grad_checkpointing;    /* keep only block inputs, recompute blocks in the backward (model/t5_train_step.h) */
    int mixed_precision;       /* fp16 shadows of the projection weights for the GEMMs, fp32 masters and
                                  optimizer state (model/t5_train_step.h); fp32 with a warning without fp16 */
    uint64_t seed;
    const char *eval_data;     /* held-out .pack / .jsonl, or NULL */
    uint32_t eval_every;       /* 0: save_every if set, else a tenth of steps (at least 1) */
    uint32_t eval_batches;     /* 0: all of eval_data */
    int keep_best;             /* keep the checkpoint of the lowest eval loss as OUT/best */
    uint32_t early_stop;       /* stop after this many evaluations without improvement (0: never) */
    const char *model_name;    /* for the plot's title (NULL: from model_dir / resume) */
    /* LoRA (issue #13, train/lora_run.h): adapters on a frozen base when lora_rank > 0, adapter_dir
     * is set, or resume is an adapter checkpoint; checkpoints are then PEFT adapter directories */
    int lora_rank;
    double lora_alpha;         /* 0: PEFT's default, 8 */
    double lora_dropout;       /* < 0: 0 (PEFT's default), or the adapter's own with adapter_dir */
    const char *lora_targets;  /* NULL: "q,v" (PEFT's T5 default); "all": every linear layer */
    const char *adapter_dir;   /* start from this PEFT adapter (its r, alpha, targets) */
    int weights;               /* the frozen base's storage (enum fv_wtype); < 0: the default */
    void (*progress)(const fv_train_progress *p, void *user);
    void *user;
} fv_train_cfg;

typedef struct fv_train_result {
    uint32_t steps_done, skipped;
    double first_loss, last_loss; /* of the first and last step of this run */
    uint64_t peak_device_bytes;
    uint32_t evals;            /* evaluations in this run */
    double last_eval_loss, best_eval_loss; /* NaN without any */
    uint32_t best_step;        /* step of best_eval_loss (resumed runs: possibly before this run) */
    int stopped_early;
    int adapter;               /* LoRA: the run trained adapters */
} fv_train_result;

int fv_train(fv_dev *d, const fv_train_cfg *cfg, fv_train_result *res);

#endif
