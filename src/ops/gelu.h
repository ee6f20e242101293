/* Feed-forward activations of T5, forward and backward: gated GELU (T5 v1.1 / Flan-T5
 * "gated-gelu": out = gelu_tanh(a) * b), plain ReLU (original T5 "relu": out = relu(a)), and the
 * other activations T5Config accepts (gelu with erf, silu), gated or not.
 *
 * Every tensor is a [rows, cols] matrix given by its fv_t and a row stride in elements (0 means
 * cols), so a and b may be the two halves of one fused [rows, 2*d_ff] GEMM output
 * (a = {buf, 0}, b = {buf, d_ff}, lda = ldb = 2*d_ff), and likewise da/db of one fused gradient.
 * Outputs are overwritten. An output may coincide element for element with an input (same
 * buffer, offset and stride: in place); partial overlaps are not detected and give garbage. */
#ifndef FV_OPS_GELU_H
#define FV_OPS_GELU_H

#include "ops/op.h"

/* Numbered as io/t5_config.h's fv_t5_act, so a config's activation converts by a cast. */
enum fv_ff_act { FV_FF_RELU = 0, FV_FF_GELU = 1 /* erf */, FV_FF_GELU_TANH = 2, FV_FF_SILU = 3 };

/* out = act(a) * b, or act(a) when b.buf is NULL (not gated). */
int fv_ff_act_fwd(fv_graph *g, enum fv_ff_act act, fv_t a, uint32_t lda, fv_t b, uint32_t ldb, fv_t out, uint32_t ldo,
               uint32_t rows, uint32_t cols);
/* da = dout * b * act'(a), db = dout * act(a); ungated (b.buf and db.buf NULL): da = dout * act'(a). */
int fv_ff_act_back(fv_graph *g, enum fv_ff_act act, fv_t a, uint32_t lda, fv_t b, uint32_t ldb, fv_t dout, uint32_t ldg,
                fv_t da, uint32_t ldda, fv_t db, uint32_t lddb, uint32_t rows, uint32_t cols);

/* Inverted dropout fused into the activation, with fv_dropout's mask (ops/dropout.h: the hash of
 * seed.buf[seed.off], salt and the element index) over the packed [rows, cols] output, element
 * index row * cols + col whatever the strides. Forward: out = dropout(act(a) (* b)), bit for bit
 * what the activation followed by fv_dropout on a packed out gives. Backward: dout goes through
 * the same mask first (da = dropout(dout) (* b) * act'(a), ...), bit for bit fv_dropout on a
 * packed dout followed by the activation's backward. rate 0 runs the plain kernels (no seed read;
 * seed may then be null). */
typedef struct {
    fv_t seed;
    uint32_t salt;
    float rate;
} fv_ff_drop;

int fv_ff_act_fwd_drop(fv_graph *g, enum fv_ff_act act, fv_t a, uint32_t lda, fv_t b, uint32_t ldb, fv_t out, uint32_t ldo,
                       uint32_t rows, uint32_t cols, fv_ff_drop drop);
int fv_ff_act_back_drop(fv_graph *g, enum fv_ff_act act, fv_t a, uint32_t lda, fv_t b, uint32_t ldb, fv_t dout,
                        uint32_t ldg, fv_t da, uint32_t ldda, fv_t db, uint32_t lddb, uint32_t rows, uint32_t cols,
                        fv_ff_drop drop);

/* The two T5 cases, all strides packed except a/b (fused GEMM output) and da/db. */
int fv_gelu_gated(fv_graph *g, fv_t a, fv_t b, uint32_t ld_ab, fv_t out, uint32_t rows, uint32_t cols);
int fv_gelu_gated_back(fv_graph *g, fv_t a, fv_t b, uint32_t ld_ab, fv_t dout, fv_t da, fv_t db, uint32_t ld_dab,
                       uint32_t rows, uint32_t cols);
/* The gated GELU with the feed-forward dropout fused (see fv_ff_drop); rate 0 = fv_gelu_gated(_back). */
int fv_gelu_gated_drop(fv_graph *g, fv_t a, fv_t b, uint32_t ld_ab, fv_t out, uint32_t rows, uint32_t cols, fv_t seed,
                       uint32_t salt, float rate);
int fv_gelu_gated_back_drop(fv_graph *g, fv_t a, fv_t b, uint32_t ld_ab, fv_t dout, fv_t da, fv_t db, uint32_t ld_dab,
                            uint32_t rows, uint32_t cols, fv_t seed, uint32_t salt, float rate);
int fv_relu(fv_graph *g, fv_t a, fv_t out, uint32_t rows, uint32_t cols);
int fv_relu_back(fv_graph *g, fv_t a, fv_t dout, fv_t da, uint32_t rows, uint32_t cols);

#endif
