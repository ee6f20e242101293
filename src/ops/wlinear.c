/* Host side of the low-bit linear layer: validation, path and variant choice, push constants and
 * workgroups for shaders/wgemv.comp and shaders/wgemm.comp (ops/wlinear.h). */
#include "ops/wlinear.h"

#include <stdio.h>
#include <string.h>

#include "ops/gemm.h"

typedef struct {
    uint32_t M, N, K, xo, ldx, yo, ldy, wo, rw, so, nb;
    float beta;
} wl_push;

/* Columns per workgroup of the few-rows kernel. */
enum { ROWS_NC = 4 };

uint64_t fv_weight_bytes(enum fv_wtype t, uint32_t rows, uint32_t cols) {
    return 4 * (fv_wpack_data_words(t, rows, cols) + fv_wpack_scale_words(t, rows, cols));
}

static int overlaps(fv_t a, uint64_t an, uint32_t ab, fv_t b, uint64_t bn, uint32_t bb) {
    if (a.buf != b.buf) return 0;
    uint64_t a0 = (uint64_t)a.off * ab, a1 = a0 + an * ab, b0 = (uint64_t)b.off * bb, b1 = b0 + bn * bb;
    return a0 < b1 && b0 < a1;
}

static int validate(fv_graph *g, fv_t x, const fv_weight *w, fv_t y, uint32_t rows) {
    if (!g || !w) return fv_err("linear_w: null graph or weight");
    if ((unsigned)w->type > FV_WT_Q8) return fv_err("linear_w: unknown weight type %d", (int)w->type);
    if (!x.buf || !y.buf || !w->data.buf)
        return fv_err("linear_w: %s is a null buffer", !x.buf ? "x" : !y.buf ? "y" : "the weight's data");
    if (w->type == FV_WT_Q8 && !w->scales.buf) return fv_err("linear_w: q8 weight without its scales buffer");
    if (rows == 0 || w->rows == 0 || w->cols == 0)
        return fv_err("linear_w: empty product %ux%u -> %u", rows, w->cols, w->rows);
    uint64_t dw = fv_wpack_data_words(w->type, w->rows, w->cols), sw = fv_wpack_scale_words(w->type, w->rows, w->cols);
    FV_TRY(fv_op_check("linear_w", "x", x, (uint64_t)rows * w->cols, 4));
    FV_TRY(fv_op_check("linear_w", "y", y, (uint64_t)rows * w->rows, 4));
    FV_TRY(fv_op_check("linear_w", "weight data", w->data, dw, 4));
    if (sw) FV_TRY(fv_op_check("linear_w", "weight scales", w->scales, sw, 4));
    uint64_t yn = (uint64_t)rows * w->rows;
    if (overlaps(y, yn, 4, x, (uint64_t)rows * w->cols, 4) || overlaps(y, yn, 4, w->data, dw, 4) ||
        (sw && overlaps(y, yn, 4, w->scales, sw, 4)))
        return fv_err("linear_w: y overlaps an input in buffer '%s'", y.buf->what);
    if ((uint64_t)w->data.off + dw > UINT32_MAX || 2ull * w->scales.off + 2 * sw > UINT32_MAX ||
        (uint64_t)x.off + (uint64_t)rows * w->cols > UINT32_MAX || (uint64_t)y.off + yn > UINT32_MAX)
        return fv_err("linear_w: an operand spans more than 2^32 elements");
    return 0;
}

/* Texel views are usable when every buffer's words fit the device's texel-buffer limit. */
static int use_texel(const fv_dev *d, fv_t x, const fv_weight *w) {
    uint64_t lim = d->info.max_texel_buffer_elements;
    fv_buf *b[3] = {x.buf, w->data.buf, w->type == FV_WT_Q8 ? w->scales.buf : w->data.buf};
    if (!d->use_texel) return 0;
    for (int i = 0; i < 3; i++)
        if (b[i]->size / 4 > lim) return 0;
    return 1;
}

static void shader_name(char *out, size_t n, const char *base, enum fv_wtype t, int texel) {
    snprintf(out, n, "%s%s%s", base, t == FV_WT_BF16 ? "_bf16" : t == FV_WT_Q8 ? "_q8" : "", texel ? "_texel" : "");
}

static void bind_desc(fv_pipe_desc *desc, const char *name, int texel) {
    fv_op_desc(desc, name, 4, 1u << 3, sizeof(wl_push));
    if (texel) {
        desc->bind_kind[0] = desc->bind_kind[1] = desc->bind_kind[2] = FV_BIND_TEXEL;
        desc->bind_fmt[0] = FV_TEXEL_R32F;
        desc->bind_fmt[1] = desc->bind_fmt[2] = FV_TEXEL_R32UI;
    }
}

static int record_rows(fv_graph *g, fv_dev *d, const wl_push *pc, fv_buf **bufs, enum fv_wtype t, int texel) {
    char name[48];
    shader_name(name, sizeof name, "wgemv", t, texel);
    uint32_t mr = pc->M < FV_WL_ROWS_MAX ? pc->M : FV_WL_ROWS_MAX;
    fv_pipe_desc desc;
    bind_desc(&desc, name, texel);
    desc.nspec = 3;
    desc.spec[0] = fv_op_row_threads(d, (pc->K + 3) / 4);
    desc.spec[1] = mr;
    desc.spec[2] = ROWS_NC;
    fv_pipeline *pipe;
    FV_TRY(fv_pipeline_get(d, &desc, &pipe));
    uint32_t gx, gy;
    fv_op_grid(d, fv_div_up(pc->N, ROWS_NC), &gx, &gy);
    return fv_graph_dispatch(g, pipe, bufs, pc, gx, gy, fv_div_up(pc->M, mr));
}

static int record_tiled(fv_graph *g, fv_dev *d, const wl_push *pc, fv_buf **bufs, enum fv_wtype t, int texel) {
    char name[48];
    shader_name(name, sizeof name, "wgemm", t, texel);
    /* 64 x 64 tiles, 4 x 4 per invocation (256 invocations) where the limits allow, else 32 x 32
     * with 64; BK = 32 (one q8 block) makes the shared use 16.6 KB / 8.4 KB. */
    uint32_t BM = 64, TM = 4, BK = 32;
    if (d->info.max_workgroup_invocations < 256 || d->max_shared < BK * (2 * BM + 2) * 4) BM = 32;
    fv_pipe_desc desc;
    bind_desc(&desc, name, texel);
    desc.nspec = 5;
    uint32_t spec[5] = {(BM / TM) * (BM / TM), BM, BM, TM, TM};
    memcpy(desc.spec, spec, sizeof spec);
    fv_pipeline *pipe;
    FV_TRY(fv_pipeline_get(d, &desc, &pipe));
    return fv_graph_dispatch(g, pipe, bufs, pc, fv_div_up(pc->N, BM), fv_div_up(pc->M, BM), 1);
}

int fv_linear_w_path(fv_graph *g, fv_t x, const fv_weight *w, fv_t y, uint32_t rows, float beta,
                     enum fv_wlinear_path path) {
    if (validate(g, x, w, y, rows)) return fv_err_wrap("linear_w %s %ux%u -> %u", w ? fv_wtype_name(w->type) : "?", rows,
                                                       w ? w->cols : 0, w ? w->rows : 0);
    if (w->type == FV_WT_F32) return fv_linear(g, x, w->data, y, rows, w->cols, w->rows, beta);
    fv_dev *d = fv_graph_dev(g);
    wl_push pc = {rows, w->rows, w->cols, x.off, w->cols, y.off, w->rows, w->data.off,
                  fv_wpack_row_words(w->type, w->cols), 2 * w->scales.off, fv_q8_blocks(w->cols), beta};
    if (w->type != FV_WT_Q8) pc.so = pc.nb = 0;
    int texel = use_texel(d, x, w);
    fv_buf *bufs[4] = {x.buf, w->data.buf, w->type == FV_WT_Q8 ? w->scales.buf : w->data.buf, y.buf};
    if (path == FV_WL_AUTO) path = rows <= FV_WL_ROWS_MAX ? FV_WL_ROWS : FV_WL_TILED;
    int rc = path == FV_WL_ROWS ? record_rows(g, d, &pc, bufs, w->type, texel)
                                : record_tiled(g, d, &pc, bufs, w->type, texel);
    if (rc) return fv_err_wrap("linear_w %s %ux%u -> %u", fv_wtype_name(w->type), rows, w->cols, w->rows);
    return 0;
}

int fv_linear_w(fv_graph *g, fv_t x, const fv_weight *w, fv_t y, uint32_t rows, float beta) {
    return fv_linear_w_path(g, x, w, y, rows, beta, FV_WL_AUTO);
}
