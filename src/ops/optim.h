/* Optimizer steps on the GPU: AdamW (torch.optim.AdamW) and Adafactor (transformers' Adafactor).
 *
 * Hyperparameters are read from `hyper`, a fv_adamw_hyper / fv_adafactor_hyper (16 words, see
 * ops/optim_hyper.h) in a device buffer at word offset hyper.off; rewrite it between replays of
 * a recorded step (fv_*_hyper_fill) to change lr and step count without re-recording. The
 * gradient is only read (clip it beforehand if wanted). */
#ifndef FV_OPS_OPTIM_H
#define FV_OPS_OPTIM_H

#include "ops/op.h"
#include "ops/optim_hyper.h"

/* One AdamW step on n elements: p, m, v updated in place (m, v start at zero). Elementwise, so a
 * trainer whose parameters, gradients and states are laid out in parallel can update any number
 * of tensors with one call (one call per parameter group, e.g. with and without weight decay). */
int fv_adamw(fv_graph *g, fv_t hyper, fv_t p, fv_t grad, fv_t m, fv_t v, uint32_t n);

/* One Adafactor step on a rows x cols row-major tensor (a Linear weight [out, in]; a vector is
 * rows = 1, cols = n, factored = 0). factored (HF: tensors with >= 2 dims): `state` holds the row
 * second moment [rows] then the column one [cols]; else the full second moment [rows*cols].
 * m [rows*cols] is the momentum: give it exactly when the settings have use_beta1 (HF beta1 set),
 * else m.buf == NULL. State starts at zero.
 * `scratch` holds fv_adafactor_scratch_size(rows, cols, factored) floats; it may be shared by all
 * tensors (the graph then serializes their passes). 5 dispatches factored, 3 otherwise; every
 * reduction is an ordered tree, so results are deterministic on a device. */
int fv_adafactor(fv_graph *g, fv_t hyper, fv_t p, fv_t grad, fv_t state, fv_t m, fv_t scratch, uint32_t rows,
                 uint32_t cols, int factored);

/* A factored matrix stored as consecutive row pieces (ops/rowsplit.h): piece i holds `rows` rows
 * of p, grad and m (m.buf NULL in every piece without momentum). */
typedef struct fv_adafactor_piece {
    fv_t p, grad, m;
    uint32_t rows;
} fv_adafactor_piece;

/* Floats of carry space a split update needs after fv_adafactor_scratch_size (chunk partials cut by
 * a piece boundary, two areas of 4 per invocation of the device's largest workgroup). */
uint32_t fv_adafactor_carry_size(const fv_dev *d);

/* fv_adafactor of a rows x cols factored matrix given as row pieces, with the whole matrix's state
 * and chunks: the row moments and the apply pass run per piece, the column sums, RMS(u) and RMS(p)
 * over all rows in the same order as the unsplit update (a chunk cut by a piece boundary hands its
 * partial sums on through the carry space), so the result is bit-identical to fv_adafactor on the
 * whole matrix. scratch: fv_adafactor_scratch_size + fv_adafactor_carry_size floats when
 * npieces > 1. One piece records exactly what fv_adafactor records. */
int fv_adafactor_split(fv_graph *g, fv_t hyper, const fv_adafactor_piece *pieces, uint32_t npieces, fv_t state,
                       fv_t scratch, uint32_t rows, uint32_t cols);

#endif
