/* Row-split weights and the ops over their pieces; see ops/rowsplit.h. */
#include "ops/rowsplit.h"

#include <stdio.h>
#include <stdlib.h>

#include "ops/embedding.h"
#include "ops/gemm.h"

uint32_t fv_rowsplit_piece_rows(const fv_dev *d, uint32_t rows, uint32_t cols) {
    uint64_t limit = d->props.limits.maxStorageBufferRange;
    uint64_t texel = (uint64_t)d->props.limits.maxTexelBufferElements * 4; /* an R32F view of the piece */
    if (texel < limit) limit = texel;
    /* a piece is one allocation too (memory.c refuses more than maxMemoryAllocationSize) */
    if (d->info.max_allocation_size && d->info.max_allocation_size < limit) limit = d->info.max_allocation_size;
    uint64_t row_bytes = (uint64_t)(cols ? cols : 1) * 4, fit = limit / row_bytes;
    if (fit >= rows) return rows;
    return (uint32_t)(fit >= 64 ? fit / 64 * 64 : fit);
}

uint32_t fv_rowsplit_first(const fv_rowsplit *s, uint32_t i) { return i * s->piece_rows; }

uint32_t fv_rowsplit_count(const fv_rowsplit *s, uint32_t i) {
    uint32_t first = i * s->piece_rows;
    return s->rows - first < s->piece_rows ? s->rows - first : s->piece_rows;
}

int fv_rowsplit_alloc(fv_dev *d, uint32_t rows, uint32_t cols, const char *what, fv_rowsplit *out) {
    *out = (fv_rowsplit){.rows = rows, .cols = cols};
    if (!rows || !cols) return fv_err("%s: empty matrix %ux%u", what, rows, cols);
    uint32_t pr = fv_rowsplit_piece_rows(d, rows, cols);
    if (!pr)
        return fv_err("%s: one row of %u 32-bit words (%llu bytes) exceeds the device's storage buffer range of %u "
                      "bytes (or its allocation or texel limit): this tensor cannot be split into row pieces that fit",
                      what, cols, (unsigned long long)cols * 4, d->props.limits.maxStorageBufferRange);
    uint32_t n = (rows + pr - 1) / pr;
    fv_buf **piece = calloc(n, sizeof *piece);
    if (!piece) return fv_err("out of host memory");
    *out = (fv_rowsplit){.rows = rows, .cols = cols, .piece_rows = pr, .n = n, .piece = piece};
    for (uint32_t i = 0; i < n; i++) {
        char name[96];
        if (n == 1) snprintf(name, sizeof name, "%s", what);
        else snprintf(name, sizeof name, "%s[%u/%u]", what, i, n);
        int rc = fv_buf_alloc(d, (uint64_t)fv_rowsplit_count(out, i) * cols * 4, FV_MEM_DEVICE, name, &piece[i]);
        if (rc) {
            fv_rowsplit_free(d, out);
            return rc;
        }
    }
    return 0;
}

void fv_rowsplit_free(fv_dev *d, fv_rowsplit *s) {
    for (uint32_t i = 0; s->piece && i < s->n; i++) fv_buf_free(d, s->piece[i]);
    free(s->piece);
    *s = (fv_rowsplit){0};
}

/* Copy elements [off, off + n) between host and the pieces, one piece's span at a time. */
static int each_span(fv_dev *d, const fv_rowsplit *s, uint64_t off, float *host, uint64_t n, int write) {
    uint64_t total = (uint64_t)s->rows * s->cols, per = (uint64_t)s->piece_rows * s->cols;
    if (off > total || n > total - off)
        return fv_err("%s: access of %llu elements at %llu is outside its %ux%u", s->n ? s->piece[0]->what : "matrix",
                      (unsigned long long)n, (unsigned long long)off, s->rows, s->cols);
    for (uint64_t done = 0; done < n;) {
        uint64_t at = off + done, i = at / per, in = at - i * per, k = per - in;
        if (k > n - done) k = n - done;
        int rc = write ? fv_buf_write(d, s->piece[i], in * 4, host + done, k * 4)
                       : fv_buf_read(d, s->piece[i], in * 4, host + done, k * 4);
        if (rc) return rc;
        done += k;
    }
    return 0;
}

int fv_rowsplit_write(fv_dev *d, const fv_rowsplit *s, uint64_t off, const float *src, uint64_t n) {
    return each_span(d, s, off, (float *)src, n, 1);
}

int fv_rowsplit_read(fv_dev *d, const fv_rowsplit *s, uint64_t off, float *dst, uint64_t n) {
    return each_span(d, s, off, dst, n, 0);
}

int fv_rowsplit_fill(fv_graph *g, const fv_rowsplit *s, uint32_t pattern) {
    for (uint32_t i = 0; i < s->n; i++) FV_TRY(fv_graph_fill(g, s->piece[i], pattern));
    return 0;
}

int fv_rowsplit_embedding(fv_graph *g, const fv_rowsplit *table, fv_t ids, fv_t out, uint32_t ntok) {
    /* the first piece also zeroes rows of ids outside the table; later ones keep other rows */
    for (uint32_t i = 0; i < table->n; i++)
        FV_TRY(fv_embedding_rows(g, fv_tensor(table->piece[i], 0), fv_rowsplit_first(table, i), fv_rowsplit_count(table, i),
                                 i > 0, ids, out, ntok, table->cols));
    return 0;
}

int fv_rowsplit_embedding_back(fv_graph *g, fv_t ids, fv_t dout, const fv_rowsplit *dtable, uint32_t ntok) {
    for (uint32_t i = 0; i < dtable->n; i++)
        FV_TRY(fv_embedding_back_rows(g, ids, dout, fv_tensor(dtable->piece[i], 0), fv_rowsplit_first(dtable, i),
                                      fv_rowsplit_count(dtable, i), ntok, dtable->cols));
    return 0;
}

/* Total rows and pieces of a parts list. */
static void parts_size(const fv_rowsplit *parts, uint32_t nparts, uint32_t *rows, uint32_t *pieces) {
    *rows = *pieces = 0;
    for (uint32_t k = 0; k < nparts; k++) *rows += parts[k].rows, *pieces += parts[k].n;
}

int fv_rowsplit_linear_parts(fv_graph *g, fv_t x, const fv_rowsplit *parts, uint32_t nparts, fv_t y, uint32_t rows,
                             float alpha, float beta) {
    uint32_t N, np;
    parts_size(parts, nparts, &N, &np);
    for (uint32_t k = 0, row0 = 0; k < nparts; row0 += parts[k].rows, k++) {
        const fv_rowsplit *w = &parts[k];
        for (uint32_t i = 0; i < w->n; i++) {
            fv_gemm_desc p = {.M = rows, .N = fv_rowsplit_count(w, i), .K = w->cols, .trans_b = 1,
                              .ldc = np > 1 ? N : 0, .alpha = alpha, .beta = beta};
            if (fv_gemm(g, &p, x, fv_tensor(w->piece[i], 0), fv_tensor(y.buf, y.off + row0 + fv_rowsplit_first(w, i))))
                return fv_err_wrap("linear over %s (%u x %u, piece %u of %u)", w->piece[i]->what, w->rows, w->cols, i,
                                   w->n);
        }
    }
    return 0;
}

int fv_rowsplit_linear(fv_graph *g, fv_t x, const fv_rowsplit *w, fv_t y, uint32_t rows, float alpha) {
    return fv_rowsplit_linear_parts(g, x, w, 1, y, rows, alpha, 0.0f);
}

int fv_rowsplit_linear_back_parts(fv_graph *g, fv_t x, const fv_rowsplit *parts, uint32_t nparts, fv_t dy, fv_t dx,
                                  const fv_rowsplit *dparts, uint32_t rows, float alpha, int acc) {
    uint32_t N, np;
    parts_size(parts, nparts, &N, &np);
    int first = 1;
    for (uint32_t k = 0, row0 = 0; k < nparts; row0 += parts[k].rows, k++) {
        const fv_rowsplit *w = &parts[k], *dw = dparts ? &dparts[k] : NULL;
        if (dw && (dw->rows != w->rows || dw->cols != w->cols || dw->n != w->n || dw->piece_rows != w->piece_rows))
            return fv_err("linear backward: the gradient of %s is not split like the weight", w->n ? w->piece[0]->what : "?");
        for (uint32_t i = 0; i < w->n; i++) {
            uint32_t n = fv_rowsplit_count(w, i), lddy = np > 1 ? N : 0;
            fv_t dyi = fv_tensor(dy.buf, dy.off + row0 + fv_rowsplit_first(w, i));
            if (dx.buf) { /* K runs along the split rows: later pieces accumulate */
                fv_gemm_desc p = {.M = rows, .N = w->cols, .K = n, .lda = lddy, .alpha = alpha,
                                  .beta = first && !acc ? 0.0f : 1.0f};
                if (fv_gemm(g, &p, dyi, fv_tensor(w->piece[i], 0), dx))
                    return fv_err_wrap("linear backward dx over %s (piece %u of %u)", w->piece[i]->what, i, w->n);
            }
            first = 0;
            if (dw) {
                fv_gemm_desc p = {.M = n, .N = w->cols, .K = rows, .trans_a = 1, .lda = lddy, .alpha = alpha, .beta = 1.0f};
                if (fv_gemm(g, &p, dyi, x, fv_tensor(dw->piece[i], 0)))
                    return fv_err_wrap("linear backward dW of %s (piece %u of %u)", dw->piece[i]->what, i, dw->n);
            }
        }
    }
    return 0;
}

int fv_rowsplit_linear_back(fv_graph *g, fv_t x, const fv_rowsplit *w, fv_t dy, fv_t dx, const fv_rowsplit *dw,
                            uint32_t rows, float alpha) {
    return fv_rowsplit_linear_back_parts(g, x, w, 1, dy, dx, dw, rows, alpha, 0);
}
