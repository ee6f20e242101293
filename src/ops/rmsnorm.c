/* Host side of RMSNorm: shapes to push constants and workgroups; see shaders/rmsnorm*.comp. */
#include "ops/rmsnorm.h"

#include <stdio.h>
#include <string.h>

#include "ops/elem_vec4.h"

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

/* The vec4 path (shaders/rmsnorm4.comp, rmsnorm_back_weight4.comp) when dim and every offset are
 * multiples of 4: a pipeline over nbind bindings whose inputs (bits of tex_mask) become RGBA32F
 * texel views on texel devices, where the texel variant has `extra` more bindings (the texel view
 * of an output that is read and written); spec 0 the threads per row (or per column block). */
static int vec4_ok(fv_dev *d, uint32_t dim, const uint32_t *offs, uint32_t n) {
    return dim % 4 == 0 && fv_elem_vec4_ok(d, dim, n, offs);
}

/* Rows per workgroup of rmsnorm4.comp: on CPU devices a block of rows, one subgroup each;
 * elsewhere one workgroup per row. Sets *threads and *groups too. */
static uint32_t row_blocks(fv_dev *d, uint32_t rows, uint32_t dim4, uint32_t *threads, uint32_t *groups) {
    uint32_t rpw = 1;
    *threads = fv_op_row_threads(d, dim4);
    if (d->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU) {
        rpw = 8;
        *threads *= rpw;
    }
    *groups = fv_div_up(rows, rpw);
    return rpw;
}

static int vec4_pipeline(fv_dev *d, const char *shader, uint32_t nbind, uint32_t extra, uint32_t write_mask,
                         uint32_t tex_mask, uint32_t push, uint32_t threads, uint32_t rpw, fv_buf **bufs, fv_pipeline **p) {
    int texel = d->use_texel;
    for (uint32_t i = 0; i < nbind + extra; i++)
        if ((tex_mask >> i) & 1) texel = texel && fv_elem_texel_ok(d, bufs[i]);
    char name[64];
    snprintf(name, sizeof name, "%s%s", shader, texel ? "_texel" : "");
    fv_pipe_desc desc;
    fv_op_desc(&desc, name, texel ? nbind + extra : nbind, write_mask, push);
    for (uint32_t i = 0; texel && i < nbind + extra; i++)
        if ((tex_mask >> i) & 1) {
            desc.bind_kind[i] = FV_BIND_TEXEL;
            desc.bind_fmt[i] = FV_TEXEL_RGBA32F;
        }
    desc.nspec = 1;
    desc.spec[0] = threads;
    if (rpw) {
        desc.nspec = 2;
        desc.spec[1] = rpw;
    }
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
    if (vec4_ok(d, dim, (uint32_t[]){x.off, w.off, y.off}, 3)) {
        fv_buf *b4[] = {x.buf, w.buf, y.buf};
        pc.dim /= 4, pc.xo /= 4, pc.wo /= 4, pc.yo /= 4;
        uint32_t threads, groups, rpw = row_blocks(d, rows, dim / 4, &threads, &groups), gx, gy;
        FV_TRY(vec4_pipeline(d, "rmsnorm4", 3, 0, 1u << 2, 0x3, sizeof pc, threads, rpw, b4, &p));
        fv_op_grid(d, groups, &gx, &gy);
        return fv_graph_dispatch(g, p, b4, &pc, gx, gy, 1);
    }
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
    if (vec4_ok(d, dim, (uint32_t[]){x.off, w.off, dy.off, dx.off, dw.off}, 5)) {
        /* dx and r per row in one pass, then the column sums for dw */
        fv_buf *b4[] = {x.buf, w.buf, dy.buf, dx.buf, scratch.buf, dx.buf};
        pc.dim /= 4, pc.xo /= 4, pc.wo /= 4, pc.dyo /= 4, pc.dxo /= 4;
        uint32_t threads, groups, rpw = row_blocks(d, rows, dim / 4, &threads, &groups), bx, by;
        FV_TRY(vec4_pipeline(d, "rmsnorm4_back", 5, 1, (1u << 3) | (1u << 4), 0x27, sizeof pc, threads, rpw, b4, &p));
        fv_op_grid(d, groups, &bx, &by);
        FV_TRY(fv_graph_dispatch(g, p, b4, &pc, bx, by, 1));
        struct { uint32_t rows, dim, xo, dyo, dwo; float eps; } pw = {rows, dim / 4, x.off / 4, dy.off / 4, dw.off / 4, eps};
        fv_buf *bw[] = {x.buf, dy.buf, scratch.buf, dw.buf, dw.buf};
        FV_TRY(vec4_pipeline(d, "rmsnorm_back_weight4", 4, 1, 1u << 3, 0x13, sizeof pw, fv_op_row_threads(d, dim / 4), 0, bw, &p));
        return fv_graph_dispatch(g, p, bw, &pw, fv_div_up(dim / 4, p->desc.spec[0]), 1, 1);
    }
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
