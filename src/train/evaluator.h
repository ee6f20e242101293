/* Held-out loss during training (`flanvk train --eval-data`): the mean loss over every target
 * token of an eval file (or of its first K batches), on the model's current weights, dropout off.
 *
 * It is a function of the weights alone: the teacher-forced forward (model/t5_forward.h, the one
 * `flanvk score` runs) is recorded once at creation for one batch shape and replayed for each eval
 * batch; it reads the parameter buffers the optimizer updates in place, so a replay after a step's
 * update sees exactly the weights a checkpoint of that step holds. Nothing here knows about the
 * optimizer, accumulation, gradient checkpointing or mixed precision (the forward reads the fp32
 * masters), so adapters only have to change what "the model" is; several ranks share the batches
 * (fv_evaluator_run). */
#ifndef FV_TRAIN_EVALUATOR_H
#define FV_TRAIN_EVALUATOR_H

#include <stdint.h>

#include "io/tokenizer.h"
#include "model/t5.h"

typedef struct fv_evaluator fv_evaluator;

/* Open the eval file (a .pack or .jsonl, as train --data) for model m, check every row it will use
 * (structure, ids within the vocabulary) and that they hold at least one target token, and record
 * the forward for batches of up to `batch` rows. max_batches 0: all of the file. tok may be NULL
 * (ids only). Every error names the file. */
int fv_evaluator_create(fv_t5 *m, const char *path, uint32_t batch, uint32_t max_batches, const fv_tokenizer *tok,
                        fv_evaluator **out);
/* The summed loss (natural log, summed in double in a fixed order: per batch, then the batches in
 * order) over the target tokens and their count, on m's weights as they are now; mean = sum /
 * count. Deterministic: the same weights give the same bits. Collective under mpirun: the ranks
 * share the batches and every rank returns the same bits as one rank alone would. */
int fv_evaluator_run(fv_evaluator *e, double *sum, uint64_t *count);
/* Rows, batches and target tokens one evaluation covers. */
void fv_evaluator_size(const fv_evaluator *e, uint64_t *rows, uint32_t *batches, uint64_t *targets);
void fv_evaluator_free(fv_evaluator *e);

#endif
