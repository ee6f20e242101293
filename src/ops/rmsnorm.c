/* Host side of RMSNorm: shapes to push constants and workgroups; see shaders/rmsnorm*.comp. */
#include "ops/rmsnorm.h"

#include <string.h>

static int row_pipeline(fv_dev *d, const char *shader, uint32_t nbind, uint32_t write_mask, uint32_t push, uint32_t dim,
                        uint32_t pass, fv_pipeline **p) {
    fv_pipe_desc desc;
    fv_op_desc(&desc, shader, nbind, write_mask, push);
    if (!strcmp(shader, "rmsnorm")) fv_op_texel_inputs(d, &desc, "rmsnorm_texel", 0x3);
    desc.nspec = pass == UINT32_MAX ? 1 : 2;
    desc.spec[0] = fv_op_row_threads(d, dim);
    desc.spec[1] = pass;
    return fv_pipeline_get(d, &desc, p);
}

int fv_rmsnorm(fv_graph *g, fv_t x, fv_t w, fv_t y, uint32_t rows, uint32_t dim, float eps) {
    const char *op = "rmsnorm";
    uint64_t n = (uint64_t)rows * dim;
    FV_TRY(fv_op_check(op, "x", x, n, 4));
    FV_TRY(fv_op_check(op, "weight", w, dim, 4));
    FV_TRY(fv_op_check(op, "y", y, n, 4));
    if (!(eps >= 0.0f)) return fv_err("%s: eps must be >= 0", op);
    fv_dev *d = fv_graph_dev(g);
    struct { uint32_t rows, dim, xo, wo, yo; float eps; } pc = {rows, dim, x.off, w.off, y.off, eps};
    fv_pipeline *p;
    FV_TRY(row_pipeline(d, "rmsnorm", 3, 1u << 2, sizeof pc, dim, UINT32_MAX, &p));
    uint32_t gx, gy;
    fv_op_grid(d, rows, &gx, &gy);
    fv_buf *b[] = {x.buf, w.buf, y.buf};
    return fv_graph_dispatch(g, p, b, &pc, gx, gy, 1);
}

int fv_rmsnorm_back(fv_graph *g, fv_t x, fv_t w, fv_t dy, fv_t dx, fv_t dw, fv_t scratch, uint32_t rows,
                    uint32_t dim, float eps, int accumulate) {
    const char *op = "rmsnorm_back";
    uint64_t n = (uint64_t)rows * dim;
    FV_TRY(fv_op_check(op, "x", x, n, 4));
    FV_TRY(fv_op_check(op, "weight", w, dim, 4));
    FV_TRY(fv_op_check(op, "dy", dy, n, 4));
    FV_TRY(fv_op_check(op, "dx", dx, n, 4));
    FV_TRY(fv_op_check(op, "dw", dw, dim, 4));
    FV_TRY(fv_op_check(op, "scratch", scratch, rows, 4));
    if (scratch.off != 0) return fv_err("%s: scratch must start at element 0", op);
    fv_dev *d = fv_graph_dev(g);
    uint32_t gx, gy;
    fv_op_grid(d, rows, &gx, &gy);

    struct { uint32_t rows, dim, xo, wo, dyo, dxo; float eps; uint32_t acc; } pc = {
        rows, dim, x.off, w.off, dy.off, dx.off, eps, accumulate != 0};
    fv_pipeline *p;
    FV_TRY(row_pipeline(d, "rmsnorm_back", 4, 1u << 3, sizeof pc, dim, UINT32_MAX, &p));
    fv_buf *b[] = {x.buf, w.buf, dy.buf, dx.buf};
    FV_TRY(fv_graph_dispatch(g, p, b, &pc, gx, gy, 1));

    struct { uint32_t rows, dim, xo, dyo, dwo; float eps; } pw = {rows, dim, x.off, dy.off, dw.off, eps};
    fv_buf *bw[] = {x.buf, dy.buf, scratch.buf, dw.buf};
    FV_TRY(row_pipeline(d, "rmsnorm_back_weight", 4, (1u << 2) | (1u << 3), sizeof pw, dim, 0, &p));
    FV_TRY(fv_graph_dispatch(g, p, bw, &pw, gx, gy, 1));
    FV_TRY(row_pipeline(d, "rmsnorm_back_weight", 4, 1u << 3, sizeof pw, dim, 1, &p));
    uint32_t wg = p->desc.spec[0];
    return fv_graph_dispatch(g, p, bw, &pw, fv_div_up(dim, wg), 1, 1);
}
