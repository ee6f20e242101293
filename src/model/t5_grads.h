/* Gradient buffers of a T5 model, mirroring its parameter layout exactly: the same fused groups
 * (self-attention q|k|v, cross k|v, gated wi_0|wi_1) with the same sizes (a group the model holds
 * as row splits, model/t5_wsplit.h, split alike), and a table parallel to
 * m->params (same order and names; grads->params[i].buf/off point into the gradient buffers), so
 * the optimizer and the gradient norm walk params[i] and grads->params[i] together.
 *
 * Backward ops accumulate into weight gradients (ops/op.h): record fv_t5_grads_zero once at the
 * start of a step (fv_graph_fill on every buffer, so a replayed step zeroes them on the device);
 * leave it out between micro-batches to accumulate. */
#ifndef FV_MODEL_T5_GRADS_H
#define FV_MODEL_T5_GRADS_H

#include "model/t5.h"
#include "ops/gradnorm.h"

typedef struct fv_t5_grads {
    const fv_t5 *m;
    fv_rowsplit shared, lm_head;       /* split as the model's tables; lm_head.n = 0 when tied */
    fv_buf *enc_rel, *dec_rel;
    fv_buf *enc_final, *dec_final;
    fv_t5_block *enc, *dec;            /* cross-attention fields NULL in the encoder */
    fv_t5_param *params;               /* parallel to m->params */
    size_t nparams;
    fv_buf **bufs;                     /* every gradient buffer once, for zeroing */
    size_t nbufs;
    size_t npieces;                    /* bufs[0 .. npieces): pieces of row splits (tables, split
                                        * block linears: enc/dec[l].part, model/t5_wsplit.h) */
} fv_t5_grads;

int fv_t5_grads_create(const fv_t5 *m, fv_t5_grads **out);
void fv_t5_grads_free(fv_t5_grads *g);
/* Record zeroing of every gradient buffer. */
int fv_t5_grads_zero(fv_graph *gr, const fv_t5_grads *g);
/* A gradient-norm plan (ops/gradnorm.h) over every gradient tensor of the table. */
int fv_t5_grads_norm_plan(const fv_t5_grads *g, fv_gradnorm_plan **out);
/* The gradient entry of HF tensor `name`, or NULL. */
const fv_t5_param *fv_t5_grads_find(const fv_t5_grads *g, const char *name);

#endif
