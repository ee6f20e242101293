/* Host side of the softmax cross-entropy; see ops/xent.h and shaders/xent*.comp. */
#include "ops/xent.h"
#include "ops/elem_vec4.h"

static int common(const char *op, fv_t logits, fv_t labels, fv_t loss, uint32_t rows, uint32_t vocab) {
    if (!rows || !vocab) return fv_err("%s: empty shape %ux%u", op, rows, vocab);
    if ((uint64_t)rows * vocab > UINT32_MAX) return fv_err("%s: %ux%u has more than 2^32 elements", op, rows, vocab);
    if (vocab > INT32_MAX) return fv_err("%s: vocab %u too large for int32 labels", op, vocab);
    FV_TRY(fv_op_check(op, "logits", logits, (uint64_t)rows * vocab, 4));
    FV_TRY(fv_op_check(op, "labels", labels, rows, 4));
    return fv_op_check(op, "loss", loss, rows, 4);
}

/* The slowest cross-entropy rate flanvk expects on any device, logits per ms: the shaders read a
 * row two or three times with an exp per element and write its gradient; a fifth of what lavapipe
 * ran on the project's loaded 2-core build machine. Rows (or blocks of rpw rows) are independent
 * workgroups found by gl_WorkGroupID, so the LM head's rows x vocabulary is cut into row ranges
 * (fv_op_dispatch_bounded) that compute exactly what one dispatch does. */
#define XENT_FLOOR_PER_MS 1e4

static int record(fv_graph *g, fv_t logits, fv_t labels, fv_t scale, fv_t loss, fv_t dl, uint32_t rows, uint32_t vocab,
                  int grad) {
    fv_dev *d = fv_graph_dev(g);
    struct { uint32_t rows, vocab, xo, lo, so, losso, dlo; } pc = {
        rows, vocab, logits.off, labels.off, grad ? scale.off : 0, loss.off, grad ? dl.off : 0};
    /* Without a gradient the unused bindings get buffers already bound (never accessed). */
    fv_buf *b[] = {logits.buf, labels.buf, grad ? scale.buf : labels.buf, loss.buf, grad ? dl.buf : loss.buf};
    fv_pipe_desc desc;
    fv_pipeline *p;
    if (vocab % 4 == 0 && fv_elem_vec4_ok(d, vocab, 2, (uint32_t[]){logits.off, grad ? dl.off : 0})) {
        /* shaders/xent4.comp; on CPU devices 8 rows per workgroup, one subgroup each */
        int texel = d->use_texel && fv_elem_texel_ok(d, logits.buf);
        uint32_t rpw = d->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? 8 : 1;
        pc.xo /= 4, pc.dlo /= 4;
        fv_op_desc(&desc, texel ? "xent4_texel" : "xent4", 5, (1u << 3) | (grad ? 1u << 4 : 0), sizeof pc);
        if (texel) {
            desc.bind_kind[0] = FV_BIND_TEXEL;
            desc.bind_fmt[0] = FV_TEXEL_RGBA32F;
        }
        desc.nspec = 3;
        desc.spec[0] = fv_op_row_threads(d, vocab / 4) * rpw;
        desc.spec[1] = grad != 0;
        desc.spec[2] = rpw;
        FV_TRY(fv_pipeline_get(d, &desc, &p));
        return fv_op_dispatch_bounded(g, p, b, &pc, fv_div_up(rows, rpw), (double)rpw * vocab, XENT_FLOOR_PER_MS);
    }
    fv_op_desc(&desc, "xent", 5, (1u << 3) | (grad ? 1u << 4 : 0), sizeof pc);
    desc.nspec = 2;
    desc.spec[0] = fv_op_row_threads(d, vocab);
    desc.spec[1] = grad != 0;
    FV_TRY(fv_pipeline_get(d, &desc, &p));
    return fv_op_dispatch_bounded(g, p, b, &pc, rows, vocab, XENT_FLOOR_PER_MS);
}

int fv_xent(fv_graph *g, fv_t logits, fv_t labels, fv_t scale, fv_t loss, fv_t dlogits, uint32_t rows, uint32_t vocab) {
    const char *op = "xent";
    FV_TRY(common(op, logits, labels, loss, rows, vocab));
    FV_TRY(fv_op_check(op, "scale", scale, 1, 4));
    FV_TRY(fv_op_check(op, "dlogits", dlogits, (uint64_t)rows * vocab, 4));
    if (dlogits.buf == logits.buf && dlogits.off != logits.off)
        return fv_err("%s: dlogits shares a buffer with logits at a different offset (only exact aliasing is allowed)", op);
    if (loss.buf == logits.buf || loss.buf == dlogits.buf)
        return fv_err("%s: loss must not share a buffer with logits or dlogits", op);
    return record(g, logits, labels, scale, loss, dlogits, rows, vocab, 1);
}

int fv_xent_loss(fv_graph *g, fv_t logits, fv_t labels, fv_t loss, uint32_t rows, uint32_t vocab) {
    const char *op = "xent_loss";
    FV_TRY(common(op, logits, labels, loss, rows, vocab));
    if (loss.buf == logits.buf) return fv_err("%s: loss must not share a buffer with logits", op);
    return record(g, logits, labels, (fv_t){0}, loss, (fv_t){0}, rows, vocab, 0);
}

static int reduce(fv_graph *g, const char *op, uint32_t mode, fv_t loss, fv_t labels, fv_t out, uint32_t rows,
                  uint32_t vocab) {
    if (!rows || !vocab) return fv_err("%s: empty shape %ux%u", op, rows, vocab);
    FV_TRY(fv_op_check(op, "labels", labels, rows, 4));
    if (mode == 1) FV_TRY(fv_op_check(op, "loss", loss, rows, 4));
    FV_TRY(fv_op_check(op, "out", out, mode == 1 ? 3 : 2, 4));
    if (out.buf == labels.buf || (mode == 1 && out.buf == loss.buf))
        return fv_err("%s: out must not share a buffer with its inputs", op);
    fv_dev *d = fv_graph_dev(g);
    struct { uint32_t rows, vocab, losso, lo, oo; } pc = {rows, vocab, mode == 1 ? loss.off : 0, labels.off, out.off};
    fv_pipe_desc desc;
    fv_op_desc(&desc, "xent_sum", 3, 1u << 2, sizeof pc);
    desc.nspec = 2;
    desc.spec[0] = fv_op_row_threads(d, rows);
    desc.spec[1] = mode;
    fv_pipeline *p;
    FV_TRY(fv_pipeline_get(d, &desc, &p));
    fv_buf *b[] = {mode == 1 ? loss.buf : labels.buf, labels.buf, out.buf};
    return fv_graph_dispatch(g, p, b, &pc, 1, 1, 1);
}

int fv_xent_count(fv_graph *g, fv_t labels, fv_t out, uint32_t rows, uint32_t vocab) {
    return reduce(g, "xent_count", 0, (fv_t){0}, labels, out, rows, vocab);
}

int fv_xent_sum(fv_graph *g, fv_t loss, fv_t labels, fv_t out, uint32_t rows, uint32_t vocab) {
    return reduce(g, "xent_sum", 1, loss, labels, out, rows, vocab);
}

int fv_xent_check_labels(const int32_t *labels, uint32_t rows, uint32_t vocab) {
    for (uint32_t r = 0; r < rows; r++)
        if (labels[r] >= 0 && (uint32_t)labels[r] >= vocab)
            return fv_err("xent: row %u has label %d, outside the vocabulary of %u", r, labels[r], vocab);
    return 0;
}
