/* Host side of the decode-loop ops; see decode.h and shaders/{kv_append,argmax,gather_rows}.comp. */
#include "ops/decode.h"

static int pipe(fv_graph *g, const char *shader, uint32_t nbind, uint32_t write_mask, uint32_t push, uint32_t wg,
                fv_pipeline **p) {
    fv_pipe_desc desc;
    fv_op_desc(&desc, shader, nbind, write_mask, push);
    desc.nspec = 1;
    desc.spec[0] = wg;
    return fv_pipeline_get(fv_graph_dev(g), &desc, p);
}

static int kv_append(fv_graph *g, fv_t src, fv_t step, fv_t cache, uint32_t batch, uint32_t width, uint32_t src_stride,
                     uint32_t row_stride, uint32_t batch_stride, uint32_t tmax, int f16, int per_row) {
    const char *op = f16 ? "kv_append_f16" : "kv_append";
    if (batch == 0 || width == 0) return 0;
    fv_dev *d = fv_graph_dev(g);
    if (f16 && !d->fp16)
        return fv_err("%s: an fp16 cache needs 16-bit storage, which device '%s' lacks or has disabled", op, d->info.name);
    if (src_stride < width || row_stride < width || batch_stride < (uint64_t)row_stride * (tmax ? tmax - 1 : 0) + width)
        return fv_err("%s: strides (src %u, row %u, batch %u) too small for width %u x %u rows", op, src_stride, row_stride,
                      batch_stride, width, tmax);
    FV_TRY(fv_op_check(op, "src", src, (uint64_t)(batch - 1) * src_stride + width, 4));
    FV_TRY(fv_op_check(op, "step", step, per_row ? batch : 1, 4));
    FV_TRY(fv_op_check(op, "cache", cache, (uint64_t)(batch - 1) * batch_stride + (uint64_t)(tmax - 1) * row_stride + width,
                       f16 ? 2 : 4));
    if (step.off) return fv_err("%s: the step buffer must start at element 0", op);
    struct { uint32_t batch, width, src_stride, row_stride, batch_stride, so, co, tmax, steps; } pc = {
        batch, width, src_stride, row_stride, batch_stride, src.off, cache.off, tmax, (uint32_t)(per_row != 0)};
    fv_pipeline *p;
    FV_TRY(pipe(g, f16 ? "kv_append_f16" : "kv_append", 3, 1u << 2, sizeof pc, 64, &p));
    fv_buf *b[] = {src.buf, step.buf, cache.buf};
    return fv_graph_dispatch(g, p, b, &pc, fv_div_up(width, 64), batch, 1);
}

int fv_kv_append(fv_graph *g, fv_t src, fv_t step, fv_t cache, uint32_t batch, uint32_t width, uint32_t src_stride,
                 uint32_t row_stride, uint32_t batch_stride, uint32_t tmax) {
    return kv_append(g, src, step, cache, batch, width, src_stride, row_stride, batch_stride, tmax, 0, 0);
}

int fv_kv_append_f16(fv_graph *g, fv_t src, fv_t step, fv_t cache, uint32_t batch, uint32_t width,
                     uint32_t src_stride, uint32_t row_stride, uint32_t batch_stride, uint32_t tmax) {
    return kv_append(g, src, step, cache, batch, width, src_stride, row_stride, batch_stride, tmax, 1, 0);
}

int fv_kv_append_rows(fv_graph *g, fv_t src, fv_t steps, fv_t cache, uint32_t batch, uint32_t width, uint32_t src_stride,
                      uint32_t row_stride, uint32_t batch_stride, uint32_t tmax, int f16) {
    return kv_append(g, src, steps, cache, batch, width, src_stride, row_stride, batch_stride, tmax, f16, 1);
}

/* The slowest argmax rate flanvk expects on any device, values per ms (a tenth of cross-entropy's
 * floor's work per value, so that floor serves). A row per workgroup found by gl_WorkGroupID.x: a
 * big vocabulary over many rows is cut into row ranges that compute what one dispatch does. */
#define ARGMAX_FLOOR_PER_MS 1e4

int fv_argmax(fv_graph *g, fv_t x, fv_t out, uint32_t rows, uint32_t cols, uint32_t stride) {
    const char *op = "argmax";
    if (rows == 0) return 0;
    if (cols == 0 || stride < cols) return fv_err("%s: %u columns with row stride %u", op, cols, stride);
    FV_TRY(fv_op_check(op, "x", x, (uint64_t)(rows - 1) * stride + cols, 4));
    FV_TRY(fv_op_check(op, "out", out, rows, 4));
    struct { uint32_t rows, cols, stride, xo, oo; } pc = {rows, cols, stride, x.off, out.off};
    fv_pipeline *p;
    FV_TRY(pipe(g, "argmax", 2, 1u << 1, sizeof pc, fv_op_row_threads(fv_graph_dev(g), cols), &p));
    fv_buf *b[] = {x.buf, out.buf};
    if (rows > fv_graph_dev(g)->props.limits.maxComputeWorkGroupCount[0])
        return fv_err("%s: %u rows exceed the device's workgroup count limit", op, rows);
    return fv_op_dispatch_bounded(g, p, b, &pc, rows, cols, ARGMAX_FLOOR_PER_MS);
}

int fv_gather_rows(fv_graph *g, fv_t src, fv_t idx, fv_t dst, uint32_t rows, uint32_t width, uint32_t src_rows) {
    const char *op = "gather_rows";
    if (rows == 0 || width == 0) return 0;
    if (src.buf == dst.buf) return fv_err("%s: src and dst must be different buffers", op);
    FV_TRY(fv_op_check(op, "src", src, (uint64_t)src_rows * width, 4));
    FV_TRY(fv_op_check(op, "idx", idx, rows, 4));
    FV_TRY(fv_op_check(op, "dst", dst, (uint64_t)rows * width, 4));
    struct { uint32_t rows, width, src_rows, so, io, dof; } pc = {rows, width, src_rows, src.off, idx.off, dst.off};
    fv_pipeline *p;
    FV_TRY(pipe(g, "gather_rows", 3, 1u << 2, sizeof pc, 64, &p));
    fv_buf *b[] = {src.buf, idx.buf, dst.buf};
    uint32_t gy, gz;
    fv_op_grid(fv_graph_dev(g), rows, &gy, &gz);
    return fv_graph_dispatch(g, p, b, &pc, fv_div_up(width, 64), gy, gz);
}
