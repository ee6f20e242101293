/* Host side of dropout and the fused residual dropout-add; see dropout.h, shaders/dropout.comp
 * and shaders/dropout_add.comp. */
#include "ops/dropout.h"

/* Both kernels: bindings (input, seed, output), one invocation per element. */
static int dispatch(fv_graph *g, const char *shader, fv_t in, fv_t seed, fv_t out, uint32_t n, uint32_t salt,
                    float rate) {
    struct { uint32_t n, io, oo, salt; float rate, scale; uint32_t seed_index; } pc = {
        n, in.off, out.off, salt, rate, 1.0f / (1.0f - rate), seed.off};
    fv_pipe_desc desc;
    fv_op_desc(&desc, shader, 3, 1u << 2, sizeof pc);
    desc.nspec = 1;
    desc.spec[0] = 256;
    fv_pipeline *p;
    FV_TRY(fv_pipeline_get(fv_graph_dev(g), &desc, &p));
    fv_buf *b[] = {in.buf, seed.buf, out.buf};
    uint32_t gx, gy;
    fv_op_grid(fv_graph_dev(g), fv_div_up(n, 256), &gx, &gy);
    return fv_graph_dispatch(g, p, b, &pc, gx, gy, 1);
}

int fv_dropout(fv_graph *g, fv_t x, fv_t seed, fv_t y, uint32_t n, uint32_t salt, float rate) {
    const char *op = "dropout";
    if (!(rate >= 0.0f && rate < 1.0f)) return fv_err("%s: rate %g is outside [0, 1)", op, rate);
    FV_TRY(fv_op_check(op, "x", x, n, 4));
    FV_TRY(fv_op_check(op, "y", y, n, 4));
    FV_TRY(fv_op_check(op, "seed", seed, 1, 4));
    if (n == 0) return 0;
    return dispatch(g, "dropout", x, seed, y, n, salt, rate);
}

int fv_dropout_add(fv_graph *g, fv_t x, fv_t y, fv_t seed, uint32_t n, uint32_t salt, float rate) {
    const char *op = "dropout_add";
    if (!(rate >= 0.0f && rate < 1.0f)) return fv_err("%s: rate %g is outside [0, 1)", op, rate);
    FV_TRY(fv_op_check(op, "x", x, n, 4));
    FV_TRY(fv_op_check(op, "y", y, n, 4));
    FV_TRY(fv_op_check(op, "seed", seed, 1, 4));
    if (x.buf == y.buf) return fv_err("%s: x and y share buffer '%s'", op, x.buf->what);
    if (n == 0) return 0;
    return dispatch(g, "dropout_add", y, seed, x, n, salt, rate);
}
