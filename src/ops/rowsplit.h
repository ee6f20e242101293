/* A weight matrix too large for one descriptor binding, stored as row pieces, and the ops that
 * take the pieces: the embedding lookup and its backward, and a linear layer over the split
 * weight (the LM head over vocabulary pieces).
 *
 * Why: every storage-buffer binding must be <= maxStorageBufferRange (128 MiB on lavapipe and
 * Android's minimum, 1 GiB on Intel's Windows driver) and every texel view <= maxTexelBufferElements.
 * flan-t5-xxl's [32128, 4096] embedding is 526 MB in fp32, so the vocabulary tables are cut along
 * their rows into pieces that each fit. A matrix that fits is one piece, and then every op here
 * records exactly the dispatch the unsplit code did.
 *
 * Arithmetic: each output element is computed by the same kernel over the same K as with the whole
 * matrix, so the embedding (forward and backward) and the linear forward and weight gradient are
 * bit-identical to the unsplit run; only the linear input gradient dx = dy W, whose K runs along
 * the split rows, sums the pieces' partial products one after another (fp32 rounding differs).
 * The block weights (q|k|v, o, wi, wo, ...) larger than the range are split the same way, per HF
 * tensor, and their products run over the parts (fv_rowsplit_linear_parts; model/t5_wsplit.c). */
#ifndef FV_OPS_ROWSPLIT_H
#define FV_OPS_ROWSPLIT_H

#include "ops/op.h"

typedef struct fv_rowsplit {
    uint32_t rows, cols;  /* the logical [rows, cols] fp32 matrix */
    uint32_t piece_rows;  /* rows per piece; the last piece holds the rest */
    uint32_t n;           /* number of pieces; 0 = no matrix */
    fv_buf **piece;
} fv_rowsplit;

/* Rows per piece on device d: the most whose fp32 bytes fit both the storage-buffer range and the
 * texel-element limit (a multiple of 64 when it is at least 64, so column offsets stay aligned).
 * 0 when not even one row fits. */
uint32_t fv_rowsplit_piece_rows(const fv_dev *d, uint32_t rows, uint32_t cols);
/* Allocate [rows, cols] fp32 device memory in pieces; what names it in errors ("shared.weight[1]"). */
int fv_rowsplit_alloc(fv_dev *d, uint32_t rows, uint32_t cols, const char *what, fv_rowsplit *out);
void fv_rowsplit_free(fv_dev *d, fv_rowsplit *s);
/* First row and row count of piece i. */
uint32_t fv_rowsplit_first(const fv_rowsplit *s, uint32_t i);
uint32_t fv_rowsplit_count(const fv_rowsplit *s, uint32_t i);

/* Blocking copies of n elements at flat element offset off, across piece boundaries. */
int fv_rowsplit_write(fv_dev *d, const fv_rowsplit *s, uint64_t off, const float *src, uint64_t n);
int fv_rowsplit_read(fv_dev *d, const fv_rowsplit *s, uint64_t off, float *dst, uint64_t n);
/* Record a fill of every piece with a 32-bit pattern (0 clears a gradient). */
int fv_rowsplit_fill(fv_graph *g, const fv_rowsplit *s, uint32_t pattern);

/* out[t, :] = table[ids[t], :] (ops/embedding.h semantics over the pieces). */
int fv_rowsplit_embedding(fv_graph *g, const fv_rowsplit *table, fv_t ids, fv_t out, uint32_t ntok);
/* dtable[v, :] += sum of dout[t, :] over tokens with ids[t] = v. */
int fv_rowsplit_embedding_back(fv_graph *g, fv_t ids, fv_t dout, const fv_rowsplit *dtable, uint32_t ntok);

/* y[rows, w.rows] = alpha * x[rows, w.cols] W^T: one GEMM per piece writing its columns of y. */
int fv_rowsplit_linear(fv_graph *g, fv_t x, const fv_rowsplit *w, fv_t y, uint32_t rows, float alpha);
/* The same over a matrix stored as nparts consecutive row blocks, each a row split of the same
 * cols (a fused q|k|v too large for one buffer: q, k and v split each), plus beta * y:
 * y[rows, sum of the parts' rows] = alpha * x W^T + beta * y. */
int fv_rowsplit_linear_parts(fv_graph *g, fv_t x, const fv_rowsplit *parts, uint32_t nparts, fv_t y, uint32_t rows,
                             float alpha, float beta);
/* Its backward: dx[rows, w.cols] = alpha * dy W (overwritten; skipped when dx.buf is NULL) and
 * dW += alpha * dy^T x (dw NULL: skipped). dy is [rows, w.rows] packed. */
int fv_rowsplit_linear_back(fv_graph *g, fv_t x, const fv_rowsplit *w, fv_t dy, fv_t dx, const fv_rowsplit *dw,
                            uint32_t rows, float alpha);
/* Its backward over row parts: dx = alpha * dy W (+ dx when acc), dW += alpha * dy^T x per part
 * (dparts NULL: no weight gradient; else split like parts). */
int fv_rowsplit_linear_back_parts(fv_graph *g, fv_t x, const fv_rowsplit *parts, uint32_t nparts, fv_t dy, fv_t dx,
                                  const fv_rowsplit *dparts, uint32_t rows, float alpha, int acc);

#endif
