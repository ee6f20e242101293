/* Training checkpoints. A checkpoint directory is a Hugging Face model directory (config.json,
 * model.safetensors with HF names, the tokenizer files) plus training_state.safetensors: the
 * optimizer's state tensors, the loss history, and in its metadata the step, the data position,
 * the RNG state and the optimizer's name.
 *
 * Saving is atomic as a whole: everything is written into a staging directory beside the target
 * and then swapped in with one renameat2(RENAME_EXCHANGE), so kill -9 at any moment leaves either
 * the previous checkpoint or the new one, whole. (Where the file system cannot exchange, files are
 * renamed one by one, model last, and a mismatch between the step recorded in the model's metadata
 * and in the training state is reported on resume.) */
#ifndef FV_TRAIN_CHECKPOINT_H
#define FV_TRAIN_CHECKPOINT_H

#include <stdint.h>

#include "base/rng.h"
#include "model/t5.h"
#include "train/optimizer.h"

typedef struct fv_train_state {
    uint32_t step;         /* updates done */
    uint64_t data_pos;     /* next example/row of the data */
    fv_rng rng;            /* dropout seeds etc. */
    uint32_t skipped;      /* steps skipped for a non-finite loss or gradient norm */
} fv_train_state;

/* Save model + optimizer + state into dir. tokenizer_dir (may be NULL) holds spiece.model and/or
 * tokenizer.json to copy; losses[0..nloss) is the loss history; png (may be NULL) is a picture of
 * it to store as loss.png. */
int fv_checkpoint_save(const char *dir, const fv_t5 *m, fv_optimizer *o, const fv_train_state *st,
                       const char *tokenizer_dir, const float *losses, uint32_t nloss, const void *png, size_t png_size);

/* Load the optimizer state and training state saved in dir (the weights are loaded with
 * fv_t5_load). *losses (malloc'd) receives the loss history. */
int fv_checkpoint_load_state(const char *dir, fv_optimizer *o, fv_train_state *st, float **losses, uint32_t *nloss);

#endif
