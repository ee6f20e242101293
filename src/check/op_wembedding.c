/* Embedding lookup from f16 / bf16 / q8 tables (ops/wembedding.h) against the C unpacker
 * (io/wpack.c fv_wunpack, the values every low-bit kernel must reproduce) followed by the fp32
 * reference lookup (ref/embedding.h): exact (a copy of dequantized values), on odd widths (dim
 * not a multiple of 4 or 32), tables and outputs at offsets, ids outside the table (zero rows),
 * and a table in row pieces (first / keep) against the whole-table reference, row-major and in the
 * tiled layout of io/wtile.h. Bad input. */
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "io/wtile.h"
#include "ops/wembedding.h"
#include "ref/embedding.h"

static int one(fv_check *c, enum fv_wtype t, uint32_t ntok, uint32_t vocab, uint32_t dim, uint32_t piece_rows,
               uint32_t off, uint32_t tile) {
    char what[40], shape[112];
    snprintf(what, sizeof what, "embedding_w %s", fv_wtype_name(t));
    snprintf(shape, sizeof shape, "%u tok, %ux%u, pieces of %u rows, offset %u, tile %u", ntok, vocab, dim, piece_rows, off,
             tile);
    float *table = fv_check_rand(c, (size_t)vocab * dim, -2, 2), *deq = fv_check_alloc(c, (size_t)vocab * dim);
    float *ref = fv_check_alloc(c, (size_t)ntok * dim);
    uint32_t *ids = fv_check_alloc_u32(c, off + ntok);
    if (!table || !deq || !ref || !ids) return fv_check_fail(c, what, shape, "out of host memory");
    for (uint32_t i = 0; i < ntok; i++) ids[off + i] = (uint32_t)fv_rng_below(&c->rng, vocab);
    if (ntok > 3) ids[off + 1] = vocab, ids[off + 2] = 0xFFFFFFFFu; /* zero rows */
    fv_buf *bi = fv_check_upload_u32(c, ids, off + ntok), *bo = fv_check_upload(c, NULL, off + (size_t)ntok * dim);
    if (!bi || !bo || fv_check_begin(c)) return fv_check_fail(c, what, shape, fv_last_error());
    for (uint32_t first = 0; first < vocab; first += piece_rows) {
        uint32_t rows = vocab - first < piece_rows ? vocab - first : piece_rows;
        uint64_t dw = fv_wpack_data_words(t, rows, dim), sw = fv_wpack_scale_words(t, rows, dim);
        uint32_t *data = fv_check_alloc_u32(c, off + dw), *sc = fv_check_alloc_u32(c, off + sw + 1);
        if (!data || !sc) return fv_check_fail(c, what, shape, "out of host memory");
        if (fv_wpack(t, table + (size_t)first * dim, rows, dim, data + off, t == FV_WT_Q8 ? sc + off : NULL, "check table"))
            return fv_check_fail(c, what, shape, fv_last_error());
        fv_wunpack(t, data + off, sc + off, rows, dim, deq + (size_t)first * dim);
        uint32_t *dev = data;
        if (tile) { /* each piece tiled on its own, as the model holds a table's pieces */
            if (!(dev = fv_check_alloc_u32(c, off + dw))) return fv_check_fail(c, what, shape, "out of host memory");
            fv_wtile(data + off, dev + off, rows, fv_wpack_row_words(t, dim), tile);
        }
        fv_buf *bd = fv_check_upload_u32(c, dev, off + dw), *bs = t == FV_WT_Q8 ? fv_check_upload_u32(c, sc, off + sw) : NULL;
        if (!bd || (t == FV_WT_Q8 && !bs)) return fv_check_fail(c, what, shape, fv_last_error());
        fv_weight w = {.type = t, .rows = rows, .cols = dim, .data = fv_tensor(bd, off), .scales = fv_tensor(bs, off),
                       .tile = tile};
        if (fv_embedding_w(c->g, &w, first, first > 0, fv_tensor(bi, off), fv_tensor(bo, off), ntok))
            return fv_check_fail(c, what, shape, fv_last_error());
    }
    if (fv_check_run(c)) return fv_check_fail(c, what, shape, fv_last_error());
    fv_ref_embedding(deq, ids + off, ref, ntok, vocab, dim);
    float *out = fv_check_download(c, bo, off + (size_t)ntok * dim);
    return fv_check_compare(c, what, shape, out ? out + off : NULL, ref, (size_t)ntok * dim, 0);
}

static int bad_input(fv_check *c) {
    fv_buf *b = fv_check_upload(c, NULL, 256), *bi = fv_check_upload_u32(c, NULL, 8);
    if (!b || !bi || fv_check_begin(c)) return fv_check_fail(c, "embedding_w", "bad input", fv_last_error());
    fv_weight w = {.type = FV_WT_F16, .rows = 10, .cols = 40, .data = fv_tensor(b, 0)};
    fv_t ids = fv_tensor(bi, 0), out = fv_tensor(b, 0);
    int rcs[8], n = 0;
    fv_weight t = w;
    t.rows = 20; /* 20 x 40 halves = 400 words > 256 */
    rcs[n++] = fv_embedding_w(c->g, &t, 0, 0, ids, out, 4);
    t = w;
    t.type = FV_WT_Q8; /* no scales */
    rcs[n++] = fv_embedding_w(c->g, &t, 0, 0, ids, out, 4);
    rcs[n++] = fv_embedding_w(c->g, &w, 0, 0, ids, out, 9); /* more tokens than ids */
    rcs[n++] = fv_embedding_w(c->g, &w, 0, 0, ids, out, 0);
    rcs[n++] = fv_embedding_w(c->g, NULL, 0, 0, ids, out, 4);
    t = w;
    t.type = (enum fv_wtype)7;
    rcs[n++] = fv_embedding_w(c->g, &t, 0, 0, ids, out, 4);
    t = w;
    t.tile = 8; /* f16 rows of 40: not whole chunks */
    rcs[n++] = fv_embedding_w(c->g, &t, 0, 0, ids, out, 4);
    fv_graph_end(c->g);
    return fv_check_rejected(c, "embedding_w", rcs, n,
                             "table overrun, q8 without scales, short ids, no tokens, null table, unknown type, tiled "
                             "rows not whole chunks");
}

int fv_check_op_wembedding(fv_check *c) {
    static const enum fv_wtype types[3] = {FV_WT_F16, FV_WT_BF16, FV_WT_Q8};
    int bad = 0;
    for (int i = 0; i < 3; i++) {
        bad |= one(c, types[i], 37, 53, 45, 53, 0, 0);
        bad |= one(c, types[i], 16, 100, 64, 100, 3, 0);
        bad |= one(c, types[i], 29, 97, 130, 24, 1, 0); /* five pieces */
        bad |= one(c, types[i], 5, 7, 1, 7, 0, 0);
        /* the tiled layout (io/wtile.h): partial last groups, pieces tiled one by one */
        bad |= one(c, types[i], 37, 300, 64, 300, 0, 128);
        bad |= one(c, types[i], 29, 97, 64, 40, 1, 8);
    }
    bad |= bad_input(c);
    return bad;
}
