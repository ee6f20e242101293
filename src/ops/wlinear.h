/* Linear layers over a weight of any storage type: y = x W^T with W [out, in] stored f32, f16,
 * bf16 or q8 (io/wpack.h layouts). The model asks for "a linear layer over this weight"
 * (fv_linear_w); which kernel serves it is decided here from the weight's type, the number of
 * rows and the device:
 *   f32                 the fp32 GEMM (ops/gemm.h fv_linear), unchanged;
 *   f16 / bf16 / q8     shaders/wgemv.comp for few rows (decoding: W streamed once, dequantized
 *                       in registers); for many, on CPU devices the texel GEMM reading W's words
 *                       (shaders/gemm.comp -DBW_*), elsewhere shaders/wgemm.comp (shared-memory
 *                       tiles) or dequantize + fp32 GEMM.
 * x and y are fp32 and every sum accumulates in fp32; the dequantizing kernels read the weight as
 * 32-bit words, so they run on devices without 8- or 16-bit storage or arithmetic (FLANVK_DISABLE_F16
 * does not affect them).
 *
 * Placement: on CPU devices the few-rows kernel reads W and x as 16-byte texels when W's data
 * offset, x's offset and K are multiples of 4 (and a row is a multiple of 4 words: always for q8,
 * K % 8 == 0 for f16/bf16), as T5's widths are; the model should keep weight offsets 4-word
 * aligned. Other placements are correct but take the slower general layout. */
#ifndef FV_OPS_WLINEAR_H
#define FV_OPS_WLINEAR_H

#include "io/wpack.h"
#include "ops/op.h"

typedef struct fv_weight {
    enum fv_wtype type;
    uint32_t rows, cols; /* N = out features, K = in features */
    fv_t data;           /* f32: floats (offset in floats); else the words of io/wpack.h (offset in words) */
    fv_t scales;         /* q8: the fp16 scale pairs (offset in 32-bit words); ignored otherwise */
    uint32_t tile;       /* low-bit data in the tiled layout of io/wtile.h with this many rows per
                          * group (FV_WTILE_ROWS is what the CPU decode kernel streams best); 0:
                          * row-major. Every kernel reading a weight takes either. */
} fv_weight;

/* The tiled layout's rows per group (io/wtile.h) in which device d's kernels read a weight of type
 * t with K columns best: FV_WTILE_ROWS on CPU devices (texel views: the decode kernel gives each
 * invocation its own columns and streams a tile per workgroup), 0 (row-major) on GPUs, for f32, for
 * a K that is not whole chunks, and under FLANVK_WTILE=0. */
uint32_t fv_wlinear_tile(const fv_dev *d, enum fv_wtype t, uint32_t K);

/* Bytes of device memory a weight of this type and shape takes (data + scales). */
uint64_t fv_weight_bytes(enum fv_wtype t, uint32_t rows, uint32_t cols);

/* Which kernel serves a product. AUTO is what the model gets; the others exist for checks and
 * `bench ops`, which compare the paths on one device.
 *   ROWS     wgemv.comp: W streamed once per block of up to 16 rows (decoding);
 *   TILED    wgemm.comp: shared-memory tiles (GPUs, many rows, no scratch);
 *   DEQUANT  wdequant.comp into fp32 scratch, chunk of W rows by chunk, then the fp32 GEMM
 *            writing the chunk's columns of y: many rows, where the extra pass (N K against
 *            2 M N K) buys the tuned GEMM. Needs the scratch.
 *   GEMM     the texel GEMM reading W's words directly (ops/gemm.h fv_gemm_desc.wtype_b,
 *            shaders/gemm.comp -DBW_*): one pass, no scratch. Texel (CPU) devices only; an
 *            explicit request elsewhere is an error (fv_gemm_wb_supported says where it runs).
 * AUTO: ROWS for at most 16 rows; else GEMM on texel devices (W's buffers within the texel
 * limit); else DEQUANT when a scratch is given; else ROWS on texel devices, TILED elsewhere. */
enum fv_wlinear_path { FV_WL_AUTO = 0, FV_WL_ROWS, FV_WL_TILED, FV_WL_DEQUANT, FV_WL_GEMM };

/* The largest row count the few-rows kernel takes in one workgroup (larger M runs in blocks). */
#define FV_WL_ROWS_MAX 16u

typedef struct fv_wlinear_opts {
    enum fv_wlinear_path path;
    fv_t scratch;            /* fp32 scratch for DEQUANT (buf NULL: none); must not overlap x, y, W */
    uint32_t scratch_floats; /* its size: at least one row of W (K floats); more rows, fewer GEMMs */
    uint32_t ldy;            /* y's row stride in floats (0: N, packed); a row-split LM head writes
                              * its piece's columns of the [rows, vocab] logits */
    fv_t norm_w;             /* buf non-NULL: x is first RMS-normalised per row as ops/rmsnorm.h does
                              * (x / sqrt(mean(x^2) + norm_eps) * norm_w, norm_w K floats), in the
                              * same dispatch: a decode step's norm + product. Few-rows path only
                              * (at most FV_WL_ROWS_MAX rows; another path is an error), low-bit W. */
    float norm_eps;
} fv_wlinear_opts;

/* y[rows, N] = alpha * x[rows, K] W^T + beta * y   (x packed, y with stride opts->ldy; fp32;
 * beta = 0: y is not read; alpha scales the tied LM head by d_model^-0.5).
 * Rejects, naming the argument: a null graph, weight or buffer; q8 without scales; an empty or
 * unknown weight; operands that do not fit their buffers; y overlapping x or the weight; a
 * DEQUANT path without a scratch that holds a row; a fused norm on an f32 weight, off the few-rows
 * path, with a negative epsilon, a norm weight short of K floats or under y. opts NULL: AUTO
 * without scratch. */
int fv_linear_w(fv_graph *g, fv_t x, const fv_weight *w, fv_t y, uint32_t rows, float alpha, float beta,
                const fv_wlinear_opts *opts);

/* The input gradient of that layer: dx[rows, K] = alpha * dy[rows, N] W + beta * dx, dy with row
 * stride ldy (0: N), dx packed (beta = 0: dx is not read). f32: one fp32 NN GEMM. Typed: W is
 * dequantized chunk of rows by chunk into `scratch` (wdequant.comp, as the DEQUANT path) and each
 * chunk's share dy[:, chunk] W[chunk, :] added by the fp32 GEMM: a frozen low-bit base passes
 * gradients through (LoRA training, model/t5_lora_train.h). scratch holds scratch_floats >= K
 * floats (more: fewer, larger GEMMs) and must not overlap dy, dx or W. */
int fv_linear_w_dx(fv_graph *g, fv_t dy, uint32_t ldy, const fv_weight *w, fv_t dx, uint32_t rows, float alpha,
                   float beta, fv_t scratch, uint32_t scratch_floats);

#endif
