/* The training loop behind `flanvk train`: a T5 from a checkpoint or a fresh config, rows from a
 * pack file or JSONL, the recorded training step (model/t5_train_step.h) replayed every step, the
 * gradient norm read back with the loss (the only host round trip of a step), steps with a
 * non-finite loss or norm skipped (several in a row stop the run, the last checkpoint untouched),
 * clipping, the optimizer, checkpoints every save_every steps and at the end, exact resume. */
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
    void (*progress)(const fv_train_progress *p, void *user);
    void *user;
} fv_train_cfg;

typedef struct fv_train_result {
    uint32_t steps_done, skipped;
    double first_loss, last_loss; /* of the first and last step of this run */
    uint64_t peak_device_bytes;
} fv_train_result;

int fv_train(fv_dev *d, const fv_train_cfg *cfg, fv_train_result *res);

#endif
