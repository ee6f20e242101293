/* Plain-C references of the optimizer steps: torch.optim.AdamW and transformers' Adafactor.
 * Arithmetic in double, state stored in float between steps (as PyTorch keeps fp32 state). They
 * take the settings and the step count, not the GPU's hyper struct, so the host fill is checked too. */
#ifndef FV_REF_OPTIM_H
#define FV_REF_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "ops/optim_hyper.h"

/* One AdamW step t (>= 1) on n elements: p, m, v updated in place. */
void fv_ref_adamw(float *p, const float *g, float *m, float *v, size_t n, const fv_adamw_cfg *c, uint32_t t);

/* One Adafactor step t on a rows x cols tensor. factored: state = row [rows] then col [cols];
 * else state = v [rows*cols]. m [rows*cols] when c->use_beta1, else unused (may be NULL).
 * Returns 0, or -1 if memory ran out. */
int fv_ref_adafactor(float *p, const float *g, float *state, float *m, size_t rows, size_t cols, int factored,
                     const fv_adafactor_cfg *c, uint32_t t);

/* The same step on a factored matrix stored as npieces consecutive row pieces (piece k: piece_rows[k]
 * rows of p, g and m, m unused without use_beta1); state is the whole matrix's row then col.
 * Identical to fv_ref_adafactor on the joined matrix (same loops, same order). */
int fv_ref_adafactor_split(float *const *p, const float *const *g, float *state, float *const *m,
                           const size_t *piece_rows, size_t npieces, size_t cols, const fv_adafactor_cfg *c, uint32_t t);

#endif
