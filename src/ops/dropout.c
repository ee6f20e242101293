/* Host side of dropout; see dropout.h and shaders/dropout.comp. */
#include "ops/dropout.h"

int fv_dropout(fv_graph *g, fv_t x, fv_t seed, fv_t y, uint32_t n, uint32_t salt, float rate) {
    const char *op = "dropout";
    if (!(rate >= 0.0f && rate < 1.0f)) return fv_err("%s: rate %g is outside [0, 1)", op, rate);
    FV_TRY(fv_op_check(op, "x", x, n, 4));
    FV_TRY(fv_op_check(op, "y", y, n, 4));
    FV_TRY(fv_op_check(op, "seed", seed, 1, 4));
    if (n == 0) return 0;
    struct { uint32_t n, xo, yo, salt; float rate, scale; uint32_t seed_index; } pc = {
        n, x.off, y.off, salt, rate, 1.0f / (1.0f - rate), seed.off};
    fv_pipe_desc desc;
    fv_op_desc(&desc, "dropout", 3, 1u << 2, sizeof pc);
    desc.nspec = 1;
    desc.spec[0] = 256;
    fv_pipeline *p;
    FV_TRY(fv_pipeline_get(fv_graph_dev(g), &desc, &p));
    fv_buf *b[] = {x.buf, seed.buf, y.buf};
    uint32_t gx, gy;
    fv_op_grid(fv_graph_dev(g), fv_div_up(n, 256), &gx, &gy);
    return fv_graph_dispatch(g, p, b, &pc, gx, gy, 1);
}
