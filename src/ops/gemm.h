/* GEMM: C = alpha * op(A) * op(B) + beta * C, row-major, fp32 accumulation, batched.
 *
 * op(A) is M x K: A is stored M x K (row stride lda) or, with trans_a, K x M.
 * op(B) is K x N: B is stored K x N (row stride ldb) or, with trans_b, N x K.
 * C is M x N with row stride ldc, always fp32. A and B may be stored as fp16 (FV_F16) where the
 * device has 16-bit storage (fv_dev.fp16).
 *
 * Batches: `batch` products; product z uses base offsets
 *   a.off + (z / batch_inner) * stride_a_outer + (z % batch_inner) * stride_a_inner   (same for b, c)
 * so one call covers [batch x heads] attention products laid out as [b, t, h, d]. batch_inner = 0
 * means 1. With beta == 0, C is not read (NaN in it is fine).
 *
 * A linear layer y = x W^T (HF weights are [out, in]) is trans_b = 1; its backward is
 * dx = dy W (no transposes) and dW += dy^T x (trans_a = 1, beta = 1). */
#ifndef FV_OPS_GEMM_H
#define FV_OPS_GEMM_H

#include "io/wpack.h"
#include "ops/op.h"

enum fv_dtype { FV_F32 = 0, FV_F16 = 1 };

typedef struct fv_gemm_desc {
    uint32_t M, N, K;
    int trans_a, trans_b;
    uint32_t lda, ldb, ldc;           /* elements; 0 means packed (K or M for A, N or K for B, N for C) */
    uint32_t batch, batch_inner;      /* 0 means 1 */
    uint32_t stride_a_outer, stride_a_inner;
    uint32_t stride_b_outer, stride_b_inner;
    uint32_t stride_c_outer, stride_c_inner;
    float alpha, beta;                /* used as given: set alpha = 1 for a plain product */
    enum fv_dtype dtype_a, dtype_b;
    /* Optional K ranges (krange.buf NULL: none): uint32 pairs [lo, hi), hi <= K, one per (outer
     * batch index z / batch_inner, block of FV_GEMM_KRANGE_ROWS rows of op(A)), pair
     * (zo * ceil(M / 16) + m / 16) at krange.off. Contract: op(A)(m, k) == 0 for every k outside
     * the pair of m's block (an empty pair lo == hi: the whole block row is 0), so those terms may
     * be skipped. With finite B the result is bit-identical to the unranged one: the kernel skips
     * whole K steps, a skipped term adds an exact +-0 to an accumulator that starts at +0. Only
     * the texel path's 16-row kernel ("gemm") uses them, and only when K <= 2048 (one pass); the
     * M <= 4 kernels, the K-split passes and the tiled path ignore them (correct anyway). */
    fv_t krange;
    /* Low-bit B (wtype_b != FV_WT_F32; 0 = off, dtype_b then applies): B is the 32-bit words of
     * a weight W [N, K] of that type in the io/wpack.h layout, op(B) = W^T, so trans_b must be
     * set; b.off and ldb count 32-bit words (ldb 0: fv_wpack_row_words(wtype_b, K)). q8 reads
     * its fp16 scales [N, ceil(K / 32)] from scales_b (offset in words, its rows packed). The
     * values are exactly io/wpack.c fv_wunpack's. Texel path only (fv_gemm_wb_supported), one
     * batch; elsewhere fv_gemm rejects it with a message. */
    enum fv_wtype wtype_b;
    fv_t scales_b;
    /* Low-bit B in the tiled layout of io/wtile.h with tile_b rows per group (0: row-major);
     * b.off is then the first word of the whole tiled weight of N rows. */
    uint32_t tile_b;
} fv_gemm_desc;

#define FV_GEMM_KRANGE_ROWS 16u

/* Whether fv_gemm on device d honours p's K ranges (skips the terms outside them) for this shape,
 * rather than ignoring them: callers that leave op(A) unwritten outside the ranges need it. */
int fv_gemm_krange_used(const fv_dev *d, const fv_gemm_desc *p);

/* Whether fv_gemm on device d takes a low-bit B (fv_gemm_desc.wtype_b): the texel path. */
int fv_gemm_wb_supported(const fv_dev *d);

/* Record one batched GEMM. M, N, K >= 1; ld >= the contiguous dimension; C must not overlap A or B.
 * Rejects (with a message naming the argument) null buffers, operands that do not fit their
 * buffers, fp16 on a device without it, a low-bit B off the texel path or not trans_b or batched. Path: texel buffers when dev->use_texel and the device
 * has subgroup shuffles (shaders/gemm.comp), else the shared-memory tiled kernel
 * (shaders/gemm_tiled.comp); both give the same results up to fp32 summation order. */
int fv_gemm(fv_graph *g, const fv_gemm_desc *p, fv_t a, fv_t b, fv_t c);

/* Linear layer without bias, HF weight layout W[out, in], all fp32 and packed:
 *   y[rows, out] = x[rows, in] W^T + beta * y       (beta = 0: y is not read)  */
int fv_linear(fv_graph *g, fv_t x, fv_t w, fv_t y, uint32_t rows, uint32_t in, uint32_t out, float beta);

/* Its backward:  dx[rows, in] = dy W  (+ dx if accumulate_dx)   and   dW[out, in] += dy^T x.
 * dx.buf == NULL skips dx (an input that needs no gradient); dw.buf == NULL skips dW (a frozen
 * weight). Per ops/op.h, the weight gradient always accumulates: zero it once per step. */
int fv_linear_back(fv_graph *g, fv_t x, fv_t w, fv_t dy, fv_t dx, fv_t dw, uint32_t rows, uint32_t in, uint32_t out,
                   int accumulate_dx);

#endif
