/* Global gradient norm and clipping, all on the device (no host round trip in a training step).
 *
 * A plan, made once per parameter layout, lists the gradient tensors (fv_t + length, possibly in
 * several buffers) and cuts them into fixed chunks; its chunk table lives in a small device
 * buffer. fv_gradnorm then records one dispatch per distinct buffer (sum of squares per chunk into
 * `scratch`) and one final ordered reduction writing norm[0] = ||g||_2: deterministic, and with
 * no barrier between the tensors of one buffer. fv_gradnorm_clip scales every tensor by
 * min(1, max_norm / (norm[0] + 1e-6)) (torch.nn.utils.clip_grad_norm_), reading the norm on the
 * device. fv_scale_by scales one tensor by a factor read from a device buffer. */
#ifndef FV_OPS_GRADNORM_H
#define FV_OPS_GRADNORM_H

#include "ops/op.h"

typedef struct fv_gradnorm_plan fv_gradnorm_plan;

/* Tensors must not overlap (that would count them twice); zero lengths are skipped. */
int fv_gradnorm_plan_create(fv_dev *d, const fv_t *tensors, const uint32_t *lens, uint32_t n, fv_gradnorm_plan **out);
void fv_gradnorm_plan_destroy(fv_dev *d, fv_gradnorm_plan *p);
/* Floats of scratch fv_gradnorm needs (one per chunk). */
uint32_t fv_gradnorm_scratch_size(const fv_gradnorm_plan *p);

int fv_gradnorm(fv_graph *g, const fv_gradnorm_plan *p, fv_t scratch, fv_t norm);
int fv_gradnorm_clip(fv_graph *g, const fv_gradnorm_plan *p, fv_t norm, float max_norm);
/* x[0..n) *= factor[0]. */
int fv_scale_by(fv_graph *g, fv_t x, uint32_t n, fv_t factor);

#endif
