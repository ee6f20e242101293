/* Host side of the low-bit embedding lookup; see ops/wembedding.h and shaders/wembedding.comp. */
#include "ops/wembedding.h"

#include <stdio.h>

#include "io/wtile.h"
#include "ops/embedding.h"

int fv_embedding_w(fv_graph *g, const fv_weight *w, uint32_t first, int keep, fv_t ids, fv_t out, uint32_t ntok) {
    const char *op = "embedding_w";
    if (!g || !w) return fv_err("%s: null graph or table", op);
    if ((unsigned)w->type > FV_WT_Q8) return fv_err("%s: unknown table type %d", op, (int)w->type);
    if (w->type == FV_WT_F32) return fv_embedding_rows(g, w->data, first, w->rows, keep, ids, out, ntok, w->cols);
    if (!ntok || !w->rows || !w->cols) return fv_err("%s: empty shape (ntok %u, table %ux%u)", op, ntok, w->rows, w->cols);
    if (!w->data.buf || (w->type == FV_WT_Q8 && !w->scales.buf))
        return fv_err("%s: %s table without its %s buffer", op, fv_wtype_name(w->type), w->data.buf ? "scales" : "data");
    uint64_t dw = fv_wpack_data_words(w->type, w->rows, w->cols), sw = fv_wpack_scale_words(w->type, w->rows, w->cols);
    if ((uint64_t)ntok * w->cols > UINT32_MAX || (uint64_t)w->data.off + dw > UINT32_MAX)
        return fv_err("%s: more than 2^32 elements", op);
    FV_TRY(fv_op_check(op, "ids", ids, ntok, 4));
    FV_TRY(fv_op_check(op, "table", w->data, dw, 4));
    if (sw) FV_TRY(fv_op_check(op, "table scales", w->scales, sw, 4));
    FV_TRY(fv_op_check(op, "out", out, (uint64_t)ntok * w->cols, 4));
    fv_dev *d = fv_graph_dev(g);
    if (w->tile && !fv_wtile_fits(w->type, w->cols))
        return fv_err("%s: a %s table of %u columns has no tiled layout", op, fv_wtype_name(w->type), w->cols);
    struct { uint32_t ntok, dim, vocab, wo, rw, so, nb, io, oo, first, keep, tile; } pc = {
        ntok, w->cols, w->rows, w->data.off, fv_wpack_row_words(w->type, w->cols),
        w->type == FV_WT_Q8 ? 2 * w->scales.off : 0, w->type == FV_WT_Q8 ? fv_q8_blocks(w->cols) : 0,
        ids.off, out.off, first, keep != 0, w->tile};
    char name[32];
    snprintf(name, sizeof name, "wembedding%s", w->type == FV_WT_BF16 ? "_bf16" : w->type == FV_WT_Q8 ? "_q8" : "");
    fv_pipe_desc desc;
    fv_op_desc(&desc, name, 4, 1u << 3, sizeof pc);
    desc.nspec = 1;
    desc.spec[0] = fv_op_row_threads(d, (w->cols + 3) / 4);
    fv_pipeline *p;
    FV_TRY(fv_pipeline_get(d, &desc, &p));
    uint32_t gx, gy;
    fv_op_grid(d, ntok, &gx, &gy);
    fv_buf *b[] = {ids.buf, w->data.buf, w->type == FV_WT_Q8 ? w->scales.buf : w->data.buf, out.buf};
    return fv_graph_dispatch(g, p, b, &pc, gx, gy, 1);
}
