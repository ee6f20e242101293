/* Host side of the fp32 -> fp16 cast; see cast.h and shaders/cast_f16.comp. */
#include "ops/cast.h"

int fv_cast_f16(fv_graph *g, fv_t x, fv_t y, uint32_t n) {
    const char *op = "cast_f16";
    if (!g) return fv_err("%s: null graph", op);
    FV_TRY(fv_op_check(op, "x", x, n, 4));
    FV_TRY(fv_op_check(op, "y", y, n, 2));
    if (x.buf == y.buf) return fv_err("%s: x and y share buffer '%s'", op, x.buf->what);
    fv_dev *d = fv_graph_dev(g);
    if (!d->fp16) return fv_err("%s: device '%s' lacks 16-bit storage or has it disabled", op, d->info.name);
    if (n == 0) return 0;
    /* one element per invocation: a memory-bound kernel, so only the group count matters; 64
     * invocations is a whole number of subgroups for every subgroup size from 4 to 64 */
    uint32_t wg = 64;
    if (wg > d->info.max_workgroup_invocations) wg = d->info.max_workgroup_invocations;
    struct { uint32_t n, xo, yo; } pc = {n, x.off, y.off};
    fv_pipe_desc desc;
    fv_op_desc(&desc, "cast_f16", 2, 1u << 1, sizeof pc);
    desc.nspec = 1;
    desc.spec[0] = wg;
    fv_pipeline *p;
    FV_TRY(fv_pipeline_get(d, &desc, &p));
    uint32_t gx, gy;
    fv_op_grid(d, fv_div_up(n, wg), &gx, &gy);
    fv_buf *b[] = {x.buf, y.buf};
    return fv_graph_dispatch(g, p, b, &pc, gx, gy, 1);
}
