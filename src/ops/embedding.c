/* Host side of the embedding lookup; see ops/embedding.h and shaders/embedding*.comp. */
#include "ops/embedding.h"

#include <string.h>

#include "ops/elem_vec4.h"

static int check_args(const char *op, fv_t ids, uint32_t ntok, uint32_t vocab, uint32_t dim) {
    if (!ntok || !vocab || !dim) return fv_err("%s: empty shape (ntok %u, vocab %u, dim %u)", op, ntok, vocab, dim);
    if ((uint64_t)vocab * dim > UINT32_MAX || (uint64_t)ntok * dim > UINT32_MAX)
        return fv_err("%s: more than 2^32 elements", op);
    return fv_op_check(op, "ids", ids, ntok, 4);
}

int fv_embedding(fv_graph *g, fv_t table, fv_t ids, fv_t out, uint32_t ntok, uint32_t vocab, uint32_t dim) {
    return fv_embedding_rows(g, table, 0, vocab, 0, ids, out, ntok, dim);
}

int fv_embedding_rows(fv_graph *g, fv_t table, uint32_t first, uint32_t nrows, int keep, fv_t ids, fv_t out,
                      uint32_t ntok, uint32_t dim) {
    const char *op = "embedding";
    FV_TRY(check_args(op, ids, ntok, nrows, dim));
    FV_TRY(fv_op_check(op, "table", table, (uint64_t)nrows * dim, 4));
    FV_TRY(fv_op_check(op, "out", out, (uint64_t)ntok * dim, 4));
    fv_dev *d = fv_graph_dev(g);
    fv_pipe_desc desc;
    struct { uint32_t ntok, dim, vocab, to, io, oo, first, keep; } pc = {ntok, dim, nrows, table.off, ids.off, out.off,
                                                                         first, keep != 0};
    fv_op_desc(&desc, "embedding", 3, 1u << 2, sizeof pc);
    desc.nspec = 1;
    desc.spec[0] = fv_op_row_threads(d, dim);
    fv_pipeline *p;
    FV_TRY(fv_pipeline_get(d, &desc, &p));
    uint32_t gx, gy;
    fv_op_grid(d, ntok, &gx, &gy);
    fv_buf *b[] = {table.buf, ids.buf, out.buf};
    return fv_graph_dispatch(g, p, b, &pc, gx, gy, 1);
}

int fv_embedding_back(fv_graph *g, fv_t ids, fv_t dout, fv_t dtable, uint32_t ntok, uint32_t vocab, uint32_t dim) {
    return fv_embedding_back_rows(g, ids, dout, dtable, 0, vocab, ntok, dim);
}

int fv_embedding_back_rows(fv_graph *g, fv_t ids, fv_t dout, fv_t dtable, uint32_t first, uint32_t vocab, uint32_t ntok,
                           uint32_t dim) {
    const char *op = "embedding_back";
    FV_TRY(check_args(op, ids, ntok, vocab, dim));
    FV_TRY(fv_op_check(op, "dout", dout, (uint64_t)ntok * dim, 4));
    FV_TRY(fv_op_check(op, "dtable", dtable, (uint64_t)vocab * dim, 4));
    fv_dev *d = fv_graph_dev(g);
    fv_pipe_desc desc;
    /* vec4 path (embedding_back4.comp): 4 columns per invocation, dout as texels on texel devices */
    int v4 = dim % 4 == 0 && fv_elem_vec4_ok(d, dim, 2, (uint32_t[]){dout.off, dtable.off});
    int texel = v4 && d->use_texel && fv_elem_texel_ok(d, dout.buf);
    uint32_t cols = v4 ? dim / 4 : dim;
    /* Vocabulary slices: one on a CPU (threads are few, extra id scans cost), otherwise enough
     * slices to give ~64k invocations. */
    uint32_t slices = 1;
    if (strcmp(d->info.type, "cpu") != 0) {
        slices = 65536 / cols;
        if (slices < 1) slices = 1;
        if (slices > 256) slices = 256;
        if (slices > vocab) slices = vocab;
    }
    uint32_t vslice = fv_div_up(vocab, slices);
    struct { uint32_t ntok, dim, vocab, io, go, dto, vslice, first; } pc = {ntok, dim, vocab, ids.off, dout.off, dtable.off,
                                                                          vslice, first};
    if (v4) pc.dim /= 4, pc.go /= 4, pc.dto /= 4;
    fv_op_desc(&desc, texel ? "embedding_back4_texel" : v4 ? "embedding_back4" : "embedding_back", 3, 1u << 2, sizeof pc);
    if (texel) {
        desc.bind_kind[1] = FV_BIND_TEXEL;
        desc.bind_fmt[1] = FV_TEXEL_RGBA32F;
    }
    desc.nspec = 1;
    desc.spec[0] = fv_op_row_threads(d, cols < 64 ? cols : 64);
    fv_pipeline *p;
    FV_TRY(fv_pipeline_get(d, &desc, &p));
    fv_buf *b[] = {ids.buf, dout.buf, dtable.buf};
    return fv_graph_dispatch(g, p, b, &pc, fv_div_up(cols, desc.spec[0]), fv_div_up(vocab, vslice), 1);
}

int fv_embedding_check_ids(const uint32_t *ids, uint32_t ntok, uint32_t vocab) {
    for (uint32_t t = 0; t < ntok; t++)
        if (ids[t] >= vocab) return fv_err("embedding: token %u has id %u, outside the vocabulary of %u", t, ids[t], vocab);
    return 0;
}
