/* The optimizer of a training run: AdamW or Adafactor over every parameter of a T5, its state on the
 * device, and the recording of one update of all parameters into a graph. Hyperparameters (learning
 * rate, step) live in a small device buffer rewritten before each replay (fv_optimizer_set_step),
 * so a schedule never forces a re-record.
 *
 * AdamW updates each parameter buffer (a fused group such as q|k|v) in one dispatch, as
 * torch.optim.AdamW with one parameter group does; Adafactor updates each Hugging Face tensor on its
 * own (q, k and v are factored separately, as in transformers). A row-split vocabulary table
 * (ops/rowsplit.h) is updated piece by piece: AdamW one group per piece, Adafactor with
 * fv_adafactor_split (whole row+col moments, momentum split like the table), both bit-identical to
 * the update of the whole table; checkpoints hold the whole tensors either way. */
#ifndef FV_TRAIN_OPTIMIZER_H
#define FV_TRAIN_OPTIMIZER_H

#include "model/t5.h"
#include "ops/optim_hyper.h"

typedef enum { FV_OPT_ADAMW, FV_OPT_ADAFACTOR } fv_opt_kind;

typedef struct fv_optimizer_cfg {
    fv_opt_kind kind;
    fv_adamw_cfg adamw;
    fv_adafactor_cfg adafactor;
} fv_optimizer_cfg;

typedef struct fv_optimizer fv_optimizer;

/* params[i] and grads[i] describe the same tensor (grads mirror the parameter layout). */
int fv_optimizer_create(fv_dev *d, const fv_optimizer_cfg *cfg, const fv_t5_param *params, const fv_t5_param *grads,
                        size_t n, fv_optimizer **out);
void fv_optimizer_free(fv_optimizer *o);
/* Record one update of every parameter from its gradient. */
int fv_optimizer_record(fv_optimizer *o, fv_graph *g);
/* Write the hyperparameters of step t (t >= 1) with learning rate lr (ignored by Adafactor with
 * relative_step) before replaying the recorded update. */
int fv_optimizer_set_step(fv_optimizer *o, uint32_t t, double lr);

/* State as named tensors, for checkpoints: "<kind>.<name>.<param>" with kind m, v (AdamW) or
 * row, col, v, m (Adafactor). Visit each with its device location: n floats at buf + off, or,
 * for a row-split vocabulary table (ops/rowsplit.h), the whole of `split` (buf NULL). */
typedef int (*fv_opt_state_fn)(void *user, const char *name, fv_buf *buf, uint32_t off, uint32_t n,
                               const fv_rowsplit *split);
int fv_optimizer_each_state(fv_optimizer *o, fv_opt_state_fn fn, void *user);
const char *fv_optimizer_name(const fv_optimizer *o);
fv_dev *fv_optimizer_dev(const fv_optimizer *o);

#endif
