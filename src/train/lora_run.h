/* What a LoRA training run (issue #13) needs before its first step: whether the run trains
 * adapters, which base model it freezes, and the adapter it starts from: a fresh one (PEFT's
 * init, A from --seed, B = 0), an existing PEFT adapter directory (--adapter: its r, alpha and
 * targets), or the adapter of the checkpoint it resumes. Kept out of trainer.c so the loop reads
 * the same for full finetuning and adapters: it only sees a list of trainable tensors. */
#ifndef FV_TRAIN_LORA_RUN_H
#define FV_TRAIN_LORA_RUN_H

#include <stddef.h>

#include "model/t5_lora_train.h"
#include "train/trainer.h"

/* 1 if the run trains adapters: lora_rank > 0, adapter_dir, or a resumed checkpoint that is an
 * adapter directory (adapter_config.json). */
int fv_train_lora_wanted(const fv_train_cfg *c);
/* The base model directory of a LoRA run: model_dir, else (resuming) the adapter's
 * base_model_name_or_path. Errors when there is neither. */
int fv_train_lora_base(const fv_train_cfg *c, char *dir, size_t n);
/* Load the base model from dir with its linear weights stored as c->weights (< 0: bf16 where the
 * device has 16-bit storage, else f32). */
int fv_train_lora_load_base(fv_dev *d, const fv_train_cfg *c, const char *dir, fv_t5 **out);
/* The adapters to train on model m (loaded from base_dir, which names it in messages). */
int fv_train_lora_adapter(const fv_train_cfg *c, fv_t5 *m, const char *base_dir, fv_t5_lora_train **out);

#endif
