/* Embedding: lookup and backward shaders vs reference (ids repeated many times, out-of-range ids
 * giving zero rows / skipped, backward accumulating twice, slices at offsets: odd ones for the
 * scalar backward, multiples of 4 with dim for the vec4 / texel one), reference backward
 * vs finite differences, host id validation, bad input rejected. Tolerances: fwd exact (a copy),
 * bwd 1e-5 (in-order fp32 sums of up to a few hundred terms vs a double sum), finite
 * differences 1e-3. Row pieces of a split table (fv_embedding_rows): forward exact against the
 * whole-table reference, backward per piece 1e-5. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "ops/embedding.h"
#include "ref/embedding.h"

/* off: every tensor at that offset into its buffer (3: the scalar backward; a multiple of 4 with
 * dim too: the vec4 / texel backward, embedding_back4.comp) */
static int one(fv_check *c, uint32_t ntok, uint32_t vocab, uint32_t dim, uint32_t off) {
    char shape[64];
    snprintf(shape, sizeof shape, "%u tok, %ux%u, offset %u", ntok, vocab, dim, off);
    size_t nt = (size_t)vocab * dim, no = (size_t)ntok * dim;
    uint32_t *ids = fv_check_alloc_u32(c, ntok + off);
    float *table = fv_check_rand(c, nt + off, -1, 1), *g = fv_check_rand(c, no + off, -1, 1);
    float *dt0 = fv_check_rand(c, nt + off, -1, 1);
    if (!ids || !table || !g || !dt0) return fv_check_fail(c, "embedding", shape, "out of memory");
    for (uint32_t t = 0; t < ntok; t++) ids[off + t] = (uint32_t)fv_rng_below(&c->rng, vocab);
    if (ntok > 3) {
        ids[off + 1] = vocab;        /* guard: zero row, skipped in backward */
        ids[off + 2] = 0xFFFFFFFFu;
    }
    fv_buf *bt = fv_check_upload(c, table, nt + off), *bi = fv_check_upload_u32(c, ids, ntok + off);
    fv_buf *bo = fv_check_upload(c, NULL, no + off), *bg = fv_check_upload(c, g, no + off);
    fv_buf *bd = fv_check_upload(c, dt0, nt + off);
    if (!bt || !bi || !bo || !bg || !bd) return fv_check_fail(c, "embedding", shape, fv_last_error());
    if (fv_check_begin(c) || fv_embedding(c->g, fv_tensor(bt, off), fv_tensor(bi, off), fv_tensor(bo, off), ntok, vocab, dim) ||
        fv_embedding_back(c->g, fv_tensor(bi, off), fv_tensor(bg, off), fv_tensor(bd, off), ntok, vocab, dim) ||
        fv_embedding_back(c->g, fv_tensor(bi, off), fv_tensor(bg, off), fv_tensor(bd, off), ntok, vocab, dim) ||
        fv_check_run(c))
        return fv_check_fail(c, "embedding", shape, fv_last_error());
    float *out = fv_check_alloc(c, no), *dt = fv_check_copy(c, dt0 + off, nt);
    fv_ref_embedding(table + off, ids + off, out, ntok, vocab, dim);
    fv_ref_embedding_back(ids + off, g + off, dt, ntok, vocab, dim);
    fv_ref_embedding_back(ids + off, g + off, dt, ntok, vocab, dim);
    float *gout = fv_check_download(c, bo, no + off), *gdt = fv_check_download(c, bd, nt + off);
    int bad = fv_check_compare(c, "embedding fwd", shape, gout ? gout + off : NULL, out, no, 0);
    bad |= fv_check_compare(c, "embedding bwd (+= twice)", shape, gdt ? gdt + off : NULL, dt, nt, 1e-5);
    return bad;
}

/* A table split into row pieces of piece_rows (ops/embedding.h's *_rows): the forward over every
 * piece (keep = 0 on the first) against the whole-table reference, exact; the backward of each
 * piece against its reference. Ids include out-of-table ones (zero rows, skipped). */
static int pieces(fv_check *c, uint32_t ntok, uint32_t vocab, uint32_t dim, uint32_t piece_rows) {
    char shape[80];
    snprintf(shape, sizeof shape, "%u tok, %ux%u in pieces of %u rows", ntok, vocab, dim, piece_rows);
    uint32_t np = (vocab + piece_rows - 1) / piece_rows;
    size_t nt = (size_t)vocab * dim, no = (size_t)ntok * dim;
    uint32_t *ids = fv_check_alloc_u32(c, ntok);
    float *table = fv_check_rand(c, nt, -1, 1), *g = fv_check_rand(c, no, -1, 1), *dt0 = fv_check_rand(c, nt, -1, 1);
    fv_buf *bp[8] = {0}, *bd[8] = {0};
    if (!ids || !table || !g || !dt0 || np > 8) return fv_check_fail(c, "embedding rows", shape, "out of memory");
    for (uint32_t t = 0; t < ntok; t++) ids[t] = (uint32_t)fv_rng_below(&c->rng, vocab);
    if (ntok > 3) ids[1] = vocab, ids[2] = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < np; i++) {
        uint32_t n = vocab - i * piece_rows < piece_rows ? vocab - i * piece_rows : piece_rows;
        bp[i] = fv_check_upload(c, table + (size_t)i * piece_rows * dim, (size_t)n * dim);
        bd[i] = fv_check_upload(c, dt0 + (size_t)i * piece_rows * dim, (size_t)n * dim);
        if (!bp[i] || !bd[i]) return fv_check_fail(c, "embedding rows", shape, fv_last_error());
    }
    fv_buf *bi = fv_check_upload_u32(c, ids, ntok), *bo = fv_check_upload(c, NULL, no), *bg = fv_check_upload(c, g, no);
    if (!bi || !bo || !bg || fv_check_begin(c)) return fv_check_fail(c, "embedding rows", shape, fv_last_error());
    for (uint32_t i = 0; i < np; i++) {
        uint32_t first = i * piece_rows, n = vocab - first < piece_rows ? vocab - first : piece_rows;
        if (fv_embedding_rows(c->g, fv_tensor(bp[i], 0), first, n, i > 0, fv_tensor(bi, 0), fv_tensor(bo, 0), ntok, dim) ||
            fv_embedding_back_rows(c->g, fv_tensor(bi, 0), fv_tensor(bg, 0), fv_tensor(bd[i], 0), first, n, ntok, dim))
            return fv_check_fail(c, "embedding rows", shape, fv_last_error());
    }
    if (fv_check_run(c)) return fv_check_fail(c, "embedding rows", shape, fv_last_error());
    float *out = fv_check_alloc(c, no), *dt = fv_check_copy(c, dt0, nt);
    if (!out || !dt) return fv_check_fail(c, "embedding rows", shape, "out of memory");
    fv_ref_embedding(table, ids, out, ntok, vocab, dim);
    float *gout = fv_check_download(c, bo, no);
    int bad = fv_check_compare(c, "embedding fwd over row pieces", shape, gout, out, no, 0);
    for (uint32_t i = 0; i < np; i++) {
        uint32_t first = i * piece_rows, n = vocab - first < piece_rows ? vocab - first : piece_rows;
        fv_ref_embedding_back_rows(ids, g, dt + (size_t)first * dim, first, n, ntok, dim);
        float *gdt = fv_check_download(c, bd[i], (size_t)n * dim);
        char what[64];
        snprintf(what, sizeof what, "embedding bwd, row piece %u", i);
        bad |= fv_check_compare(c, what, shape, gdt, dt + (size_t)first * dim, (size_t)n * dim, 1e-5);
    }
    return bad;
}

typedef struct {
    const uint32_t *ids;
    const float *r;
    size_t ntok, vocab, dim;
} fd_ctx;

static double fd_loss(void *vctx, const float *table) {
    fd_ctx *f = vctx;
    float *out = malloc(f->ntok * f->dim * sizeof *out);
    if (!out) return NAN;
    fv_ref_embedding(table, f->ids, out, f->ntok, f->vocab, f->dim);
    double s = 0;
    for (size_t i = 0; i < f->ntok * f->dim; i++) s += (double)f->r[i] * out[i];
    free(out);
    return s;
}

static int finite_differences(fv_check *c) {
    const size_t ntok = 40, vocab = 9, dim = 5;
    uint32_t *ids = fv_check_alloc_u32(c, ntok);
    float *table = fv_check_rand(c, vocab * dim, -1, 1), *r = fv_check_rand(c, ntok * dim, -1, 1);
    float *dt = fv_check_alloc(c, vocab * dim);
    if (!ids || !table || !r || !dt) return fv_check_fail(c, "embedding", "fd", "out of memory");
    for (size_t t = 0; t < ntok; t++) ids[t] = (uint32_t)fv_rng_below(&c->rng, vocab);
    fv_ref_embedding_back(ids, r, dt, ntok, vocab, dim);
    fd_ctx f = {ids, r, ntok, vocab, dim};
    return fv_check_fd(c, "embedding ref bwd vs finite diff", "40 tok, 9x5", fd_loss, &f, table, vocab * dim, dt, 24,
                       1e-2, 1e-3);
}

static int bad_input(fv_check *c) {
    fv_buf *small = fv_check_upload(c, NULL, 10);
    if (!small || fv_check_begin(c)) return fv_check_fail(c, "embedding", "bad input", fv_last_error());
    fv_t s = fv_tensor(small, 0), z = {0};
    int ok = 1;
    ok &= fv_embedding(c->g, s, s, s, 2, 4, 4) != 0;        /* table too small */
    ok &= fv_embedding(c->g, s, s, s, 11, 1, 1) != 0;       /* ids too small */
    ok &= fv_embedding(c->g, s, z, s, 1, 1, 1) != 0;        /* null ids */
    ok &= fv_embedding_back(c->g, s, s, z, 1, 1, 1) != 0;   /* null dtable */
    ok &= fv_embedding_back(c->g, s, s, s, 1, 0, 1) != 0;   /* empty vocab */
    fv_graph_end(c->g);
    uint32_t ids[3] = {0, 5, 2};
    ok &= fv_embedding_check_ids(ids, 3, 5) != 0 && fv_embedding_check_ids(ids, 3, 6) == 0;
    if (!ok) return fv_check_fail(c, "embedding", "bad input", "a wrong shape, null buffer or bad id was accepted");
    fv_check_pass(c, "embedding", "bad input", "short/null buffers, empty vocab, out-of-range id rejected");
    return 0;
}

int fv_check_op_embedding(fv_check *c) {
    static const uint32_t shapes[][4] = {{1, 1, 1, 3},       {7, 33, 5, 3},        {33, 7, 33, 3},   {1000, 500, 64, 3},
                                         {7, 33, 4, 4},      {1000, 500, 64, 8},   {130, 32128, 64, 3},
                                         {1031, 1000, 512, 3}, {1031, 1000, 512, 4}, {130, 32128, 68, 12}};
    int bad = 0, count = c->quick ? 6 : 10;
    for (int i = 0; i < count; i++) bad |= one(c, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3]);
    bad |= pieces(c, 130, 1000, 64, 384);
    bad |= pieces(c, 57, 33, 5, 8);
    bad |= finite_differences(c);
    bad |= bad_input(c);
    return bad;
}
