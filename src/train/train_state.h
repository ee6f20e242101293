/* The training state a checkpoint keeps beside the model (training_state.safetensors): the step,
 * data position, RNG, skipped-step count and eval bookkeeping in "__metadata__", the loss and
 * eval-loss histories as tensors (the optimizer's state tensors are restored by checkpoint.c).
 * Reading it needs no device, so the fuzz harness (tests/fuzz/fuzz_train_state.c) runs the same
 * reader the trainer resumes with. */
#ifndef FV_TRAIN_TRAIN_STATE_H
#define FV_TRAIN_TRAIN_STATE_H

#include <stdint.h>

#include "base/rng.h"
#include "io/safetensors.h"

typedef struct fv_train_state {
    uint32_t step;         /* updates done */
    uint64_t data_pos;     /* next example/row of the data */
    fv_rng rng;            /* dropout seeds etc. */
    uint32_t skipped;      /* steps skipped for a non-finite loss or gradient norm */
    /* --eval-data: the lowest eval loss so far and its step (0: none yet), and how many
     * evaluations since then did not improve on it (--early-stop's count) */
    double best_eval;
    uint32_t best_step, since_best;
} fv_train_state;

/* Histories saved with the state: the training loss of steps 1..nloss, and the eval losses as
 * neval (step, loss) pairs. The arrays are malloc'd by the reader. */
typedef struct fv_train_history {
    float *loss;
    uint32_t nloss;
    float *eval; /* [2 * neval]: step, loss */
    uint32_t neval;
} fv_train_history;

/* Read the metadata and histories of an opened training_state.safetensors. optimizer (may be NULL:
 * not checked) is the name the run resumes with; a state saved by another optimizer is an error.
 * On error st and hist are zeroed (nothing left allocated); messages name the file and the key. */
int fv_train_state_read(const fv_safetensors *sf, const char *optimizer, fv_train_state *st, fv_train_history *hist);
void fv_train_history_free(fv_train_history *h);

#endif
