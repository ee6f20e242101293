/* Training checkpoints. A checkpoint directory is a Hugging Face model directory (config.json,
 * model.safetensors with HF names, the tokenizer files) plus training_state.safetensors: the
 * optimizer's state tensors, the loss history, the eval-loss history, and in its metadata the
 * step, the data position, the RNG state, the optimizer's name and the eval bookkeeping (best eval
 * loss and its step, evaluations since it: what --keep-best and --early-stop continue from).
 *
 * Subdirectories of a checkpoint (OUT/best of --keep-best) and files of the user's beside ours (a
 * --log CSV kept in OUT) are carried into each new save by hard links made in the staging
 * directory before the swap, so they are never absent either. A staging directory left by a
 * killed save ("OUT.staging-<pid>", the process gone) is settled by the next save: what OUT lacks
 * is moved back, the rest dropped.
 *
 * Saving is atomic as a whole: everything is written into a staging directory beside the target
 * and then swapped in with one renameat2(RENAME_EXCHANGE), so kill -9 at any moment leaves either
 * the previous checkpoint or the new one, whole. (Where the file system cannot exchange, files are
 * renamed one by one, model last, and a mismatch between the step recorded in the model's metadata
 * ("flanvk_step") and in the training state is refused on resume.) */
#ifndef FV_TRAIN_CHECKPOINT_H
#define FV_TRAIN_CHECKPOINT_H

#include <stdint.h>

#include "model/t5.h"
#include "model/t5_lora_train.h"
#include "train/optimizer.h"
#include "train/train_state.h"

/* Save model + optimizer + state into dir. tokenizer_dir (may be NULL) holds spiece.model and/or
 * tokenizer.json to copy; png (may be NULL) is a picture of the histories to store as loss.png.
 * With lora (LoRA training, model/t5_lora_train.h) the directory is a PEFT adapter directory
 * instead of a model: adapter_config.json + adapter_model.safetensors beside the training state
 * (the adapters' optimizer state), no config.json or model weights (the base is frozen). */
int fv_checkpoint_save(const char *dir, const fv_t5 *m, const fv_t5_lora_train *lora, fv_optimizer *o,
                       const fv_train_state *st, const char *tokenizer_dir, const fv_train_history *hist, const void *png,
                       size_t png_size);

/* Copy the checkpoint directory `from` (its files) to `to`, which must not exist yet, through a
 * staging directory renamed into place (a run resumed from A into B takes A/best along). */
int fv_checkpoint_copy(const char *from, const char *to);

/* Load the optimizer state and training state saved in dir (the weights are loaded with
 * fv_t5_load). hist receives the histories (checkpoints from before eval-loss keeping have none:
 * no best, no evaluations). */
int fv_checkpoint_load_state(const char *dir, fv_optimizer *o, fv_train_state *st, fv_train_history *hist);

#endif
