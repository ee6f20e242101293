/* Pieces of the T5 forward shared by the teacher-forced pass (t5_forward.c) and the decode
 * step (t5_decode.c). */
#ifndef FV_MODEL_T5_LAYERS_H
#define FV_MODEL_T5_LAYERS_H

#include "model/t5.h"

/* x += FF(RMSNorm(x)) over rows tokens; h, ff, ffo are scratch ([rows, d], [rows, 2*d_ff], [rows, d_ff]). */
int fv_t5_ffn(fv_graph *g, const fv_t5 *m, const fv_t5_block *b, fv_buf *x, fv_buf *h, fv_buf *ff, fv_buf *ffo,
              uint32_t rows);
/* logits[rows, vocab] = h W^T with lm_head, or the shared embedding scaled by d_model^-0.5 when tied. */
int fv_t5_logits(fv_graph *g, const fv_t5 *m, fv_t h, fv_t logits, uint32_t rows);

#endif
