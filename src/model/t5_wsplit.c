/* Block linears stored as row splits of their HF tensors; see model/t5_wsplit.h. */
#include "model/t5_wsplit.h"

#include <stdio.h>
#include <string.h>

#include "ops/wlinear.h"

int fv_t5_wsplit_needed(const fv_dev *d, enum fv_wtype t, uint32_t rows, uint32_t cols) {
    uint32_t rw = fv_wpack_row_words(t, cols);
    return fv_rowsplit_piece_rows(d, rows, rw) < rows;
}

uint32_t fv_t5_wsplit_parts(const fv_t5_block *b, enum fv_t5_lin which) {
    uint32_t n = 0;
    while (n < 3 && b->part[which][n].n) n++;
    return n;
}

int fv_t5_wsplit_alloc(fv_dev *d, fv_t5_block *b, enum fv_t5_lin which, uint32_t k, enum fv_wtype t, uint32_t rows,
                       uint32_t cols, const char *name) {
    if (k >= 3 || (k && !b->part[which][k - 1].n)) return fv_err("%s: split part %u out of order", name, k);
    return fv_rowsplit_alloc(d, rows, fv_wpack_row_words(t, cols), name, &b->part[which][k]);
}

int fv_t5_wsplit_alloc_like(fv_dev *d, const fv_t5_block *model, fv_t5_block *grad) {
    for (int w = 0; w < FV_T5_NLIN; w++)
        for (uint32_t k = 0; k < fv_t5_wsplit_parts(model, (enum fv_t5_lin)w); k++) {
            const fv_rowsplit *s = &model->part[w][k];
            char name[112];
            snprintf(name, sizeof name, "grad %.100s", s->piece[0]->what);
            char *bracket = strchr(name, '[');
            if (bracket) *bracket = 0; /* the piece's suffix */
            FV_TRY(fv_rowsplit_alloc(d, s->rows, s->cols, name, &grad->part[w][k]));
            if (grad->part[w][k].n != s->n) return fv_err("%s: gradient split differently from its weight", name);
        }
    return 0;
}

void fv_t5_wsplit_free(fv_dev *d, fv_t5_block *b) {
    for (int w = 0; w < FV_T5_NLIN; w++)
        for (int k = 0; k < 3; k++) fv_rowsplit_free(d, &b->part[w][k]);
}

const fv_rowsplit *fv_t5_wsplit_twin(const fv_t5_block *model, const fv_t5_block *grad, const fv_rowsplit *s) {
    for (int w = 0; w < FV_T5_NLIN; w++)
        for (int k = 0; k < 3; k++)
            if (s == &model->part[w][k]) return &grad->part[w][k];
    return NULL;
}

/* Piece i of part k of a typed split linear as a weight; row0 = the part's first row in the group.
 * q8 scales stay one buffer for the group (rows * blocks fp16, small): the piece's start there. */
static int typed_piece(const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which, const fv_rowsplit *s, uint32_t i,
                       uint32_t row0, uint32_t cols, fv_weight *out) {
    uint32_t r = row0 + fv_rowsplit_first(s, i), soff = 0;
    if (m->wtype == FV_WT_Q8) {
        uint64_t h = (uint64_t)r * fv_q8_blocks(cols);
        if (h % 2) return fv_err("%s: a q8 piece starts at an odd scale (%u blocks per row)", s->piece[i]->what, fv_q8_blocks(cols));
        soff = (uint32_t)(h / 2);
    }
    *out = (fv_weight){.type = m->wtype, .rows = fv_rowsplit_count(s, i), .cols = cols,
                       .data = fv_tensor(s->piece[i], 0), .scales = fv_tensor(b->scales[which], soff)};
    return 0;
}

int fv_t5_wsplit_linear(fv_graph *g, const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which, fv_t x, fv_t y,
                        uint32_t rows, float beta) {
    uint32_t np = fv_t5_wsplit_parts(b, which);
    if (m->wtype == FV_WT_F32) return fv_rowsplit_linear_parts(g, x, b->part[which], np, y, rows, 1.0f, beta);
    fv_weight whole = fv_t5_block_weight(m, b, which);
    fv_wlinear_opts o = {.scratch = fv_tensor(m->wscratch, 0), .scratch_floats = m->wscratch_floats, .ldy = whole.rows};
    for (uint32_t k = 0, row0 = 0; k < np; row0 += b->part[which][k].rows, k++) {
        const fv_rowsplit *s = &b->part[which][k];
        for (uint32_t i = 0; i < s->n; i++) {
            fv_weight w;
            FV_TRY(typed_piece(m, b, which, s, i, row0, whole.cols, &w));
            if (fv_linear_w(g, x, &w, fv_tensor(y.buf, y.off + row0 + fv_rowsplit_first(s, i)), rows, 1.0f, beta, &o))
                return fv_err_wrap("linear over %s (piece %u of %u)", s->piece[i]->what, i, s->n);
        }
    }
    return 0;
}

int fv_t5_wsplit_linear_back(fv_graph *g, const fv_t5 *m, const fv_t5_block *b, enum fv_t5_lin which, fv_t x, fv_t dy,
                             fv_t dx, const fv_t5_block *gb, uint32_t rows, int acc, fv_t scratch,
                             uint32_t scratch_floats) {
    uint32_t np = fv_t5_wsplit_parts(b, which);
    if (m->wtype == FV_WT_F32)
        return fv_rowsplit_linear_back_parts(g, x, b->part[which], np, dy, dx, gb ? gb->part[which] : NULL, rows, 1.0f,
                                             acc);
    if (gb) return fv_err("linear backward: a %s weight has no gradient (typed weights are frozen)", fv_wtype_name(m->wtype));
    if (!dx.buf) return 0;
    fv_weight whole = fv_t5_block_weight(m, b, which);
    int first = 1;
    for (uint32_t k = 0, row0 = 0; k < np; row0 += b->part[which][k].rows, k++) {
        const fv_rowsplit *s = &b->part[which][k];
        for (uint32_t i = 0; i < s->n; i++, first = 0) {
            fv_weight w;
            FV_TRY(typed_piece(m, b, which, s, i, row0, whole.cols, &w));
            fv_t dyi = fv_tensor(dy.buf, dy.off + row0 + fv_rowsplit_first(s, i));
            if (fv_linear_w_dx(g, dyi, whole.rows, &w, dx, rows, 1.0f, first && !acc ? 0.0f : 1.0f, scratch,
                               scratch_floats))
                return fv_err_wrap("input gradient over %s (piece %u of %u)", s->piece[i]->what, i, s->n);
        }
    }
    return 0;
}
