/* Inverted dropout with a mask recomputed from (seed, salt, element index): the forward and the
 * backward (the same call applied to dy) agree without storing the mask. The seed lives in a
 * device buffer (seed.buf[seed_index]) so a replayed training step draws a new mask each step;
 * salt tells apart the dropout sites of one step. rate 0 is a copy (or nothing, in place).
 *
 * fv_dropout_add is the residual form used by the training step, x += dropout(y), in one pass
 * (no temporary for the dropped y). Its backward needs no op of its own: dL/dx passes through
 * and dL/dy = fv_dropout(dL/dx) with the same seed and salt. */
#ifndef FV_OPS_DROPOUT_H
#define FV_OPS_DROPOUT_H

#include "ops/op.h"

int fv_dropout(fv_graph *g, fv_t x, fv_t seed, fv_t y, uint32_t n, uint32_t salt, float rate);
/* x[0..n) += dropout(y[0..n)); x and y must be different buffers. */
int fv_dropout_add(fv_graph *g, fv_t x, fv_t y, fv_t seed, uint32_t n, uint32_t salt, float rate);

#endif
