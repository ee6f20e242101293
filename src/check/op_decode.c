/* Decode-loop ops vs references: KV append at a device-held position (replayed at several
 * positions without re-recording), argmax on the device and the host (ties, huge values), row
 * gather. All exact: these ops move or compare values without arithmetic, so the tolerance is 0. */
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "model/t5_decode.h"
#include "ops/decode.h"
#include "ref/decode.h"

/* per_row: fv_kv_append_rows, each row at its own position (row b at positions[k] + 2 b, some
 * past the end). */
static int kv_append(fv_check *c, int per_row) {
    const uint32_t batch = 3, width = 37, tmax = 9, src_stride = 41, row_stride = 40, batch_stride = 9 * 40 + 5;
    char shape[64];
    snprintf(shape, sizeof shape, "b%u w%u tmax%u%s", batch, width, tmax, per_row ? " per-row" : "");
    size_t ncache = (size_t)(batch - 1) * batch_stride + (tmax - 1) * row_stride + width;
    float *cache = fv_check_rand(c, ncache, -1, 1), *src = fv_check_rand(c, (size_t)batch * src_stride, -1, 1);
    uint32_t *step = fv_check_alloc_u32(c, batch);
    fv_buf *bc = fv_check_upload(c, cache, ncache), *bs = fv_check_upload(c, src, (size_t)batch * src_stride);
    fv_buf *bstep = fv_check_upload_u32(c, step, batch);
    if (!bc || !bs || !bstep || fv_check_begin(c) ||
        (per_row ? fv_kv_append_rows(c->g, fv_tensor(bs, 0), fv_tensor(bstep, 0), fv_tensor(bc, 0), batch, width, src_stride,
                                     row_stride, batch_stride, tmax, 0)
                 : fv_kv_append(c->g, fv_tensor(bs, 0), fv_tensor(bstep, 0), fv_tensor(bc, 0), batch, width, src_stride,
                                row_stride, batch_stride, tmax)) ||
        fv_graph_end(c->g))
        return fv_check_fail(c, "kv_append", shape, fv_last_error());
    /* replay the same recording at positions 0, 4, 8 and 9 (past the end: no write) with new rows */
    uint32_t positions[] = {0, 4, 8, 9};
    for (int k = 0; k < 4; k++) {
        for (uint32_t b = 0; b < batch; b++) step[b] = positions[k] + (per_row ? 2 * b : 0);
        for (size_t i = 0; i < (size_t)batch * src_stride; i++) src[i] = (float)(k * 1000 + i);
        if (fv_buf_write(c->d, bstep, 0, step, 4 * batch) || fv_buf_write(c->d, bs, 0, src, (size_t)batch * src_stride * 4) ||
            fv_graph_run(c->g))
            return fv_check_fail(c, "kv_append", shape, fv_last_error());
        for (uint32_t b = 0; b < batch; b++) /* one row at a time: the reference at that row's position */
            fv_ref_kv_append(src + (size_t)b * src_stride, step[b], cache + (size_t)b * batch_stride, 1, width, src_stride,
                             row_stride, batch_stride, tmax);
    }
    return fv_check_compare(c, per_row ? "kv_append rows (replayed at 4 positions)" : "kv_append (replayed at 4 positions)",
                            shape, fv_check_download(c, bc, ncache), cache, ncache, 0);
}

static int argmax(fv_check *c, uint32_t rows, uint32_t cols) {
    char shape[64];
    snprintf(shape, sizeof shape, "%ux%u", rows, cols);
    uint32_t stride = cols + 3;
    size_t n = (size_t)(rows - 1) * stride + cols;
    float *x = fv_check_rand(c, n, -1e4f, 1e4f);
    if (rows > 1) x[stride + cols / 2] = x[stride + cols - 1] = 2e4f;  /* a tie: the first index wins */
    uint32_t *ref = fv_check_alloc_u32(c, rows), *got = fv_check_alloc_u32(c, rows);
    fv_buf *bx = fv_check_upload(c, x, n), *bo = fv_check_upload(c, NULL, rows);
    if (!bx || !bo || fv_check_begin(c) || fv_argmax(c->g, fv_tensor(bx, 0), fv_tensor(bo, 0), rows, cols, stride) ||
        fv_check_run(c) || fv_buf_read(c->d, bo, 0, got, rows * 4))
        return fv_check_fail(c, "argmax", shape, fv_last_error());
    fv_ref_argmax(x, ref, rows, cols, stride);
    for (uint32_t r = 0; r < rows; r++)
        if (got[r] != ref[r]) {
            char why[96];
            snprintf(why, sizeof why, "row %u: got %u, expected %u", r, got[r], ref[r]);
            return fv_check_fail(c, "argmax", shape, why);
        }
    for (uint32_t r = 0; r < rows; r++) /* the host pick of greedy decoding (vectorized, t5_decode.c) */
        if (fv_t5_argmax(x + (size_t)r * stride, cols) != ref[r]) {
            char why[96];
            snprintf(why, sizeof why, "host fv_t5_argmax row %u: got %u, expected %u", r,
                     fv_t5_argmax(x + (size_t)r * stride, cols), ref[r]);
            return fv_check_fail(c, "argmax", shape, why);
        }
    fv_check_pass(c, "argmax", shape, "indices identical (device and host)");
    return 0;
}

static int gather(fv_check *c) {
    const uint32_t rows = 7, width = 33, src_rows = 5;
    float *src = fv_check_rand(c, (size_t)src_rows * width, -1, 1), *ref = fv_check_alloc(c, (size_t)rows * width);
    uint32_t idx[7] = {4, 0, 0, 3, 9 /* out of range: zeros */, 1, 2};
    fv_buf *bs = fv_check_upload(c, src, (size_t)src_rows * width), *bi = fv_check_upload_u32(c, idx, rows);
    fv_buf *bd = fv_check_upload(c, NULL, (size_t)rows * width);
    if (!bs || !bi || !bd || fv_check_begin(c) ||
        fv_gather_rows(c->g, fv_tensor(bs, 0), fv_tensor(bi, 0), fv_tensor(bd, 0), rows, width, src_rows) || fv_check_run(c))
        return fv_check_fail(c, "gather_rows", "7x33", fv_last_error());
    fv_ref_gather_rows(src, idx, ref, rows, width, src_rows);
    return fv_check_compare(c, "gather_rows", "7x33", fv_check_download(c, bd, (size_t)rows * width), ref, (size_t)rows * width, 0);
}

static int bad_input(fv_check *c) {
    fv_buf *small = fv_check_upload(c, NULL, 8);
    if (!small || fv_check_begin(c)) return fv_check_fail(c, "decode ops", "bad input", fv_last_error());
    int accepted = fv_argmax(c->g, fv_tensor(small, 0), fv_tensor(small, 0), 2, 8, 8) == 0 ||
                   fv_gather_rows(c->g, fv_tensor(small, 0), fv_tensor(small, 0), fv_tensor(small, 0), 1, 4, 1) == 0 ||
                   fv_kv_append(c->g, fv_tensor(small, 0), fv_tensor(NULL, 0), fv_tensor(small, 0), 1, 4, 4, 4, 8, 2) == 0;
    fv_graph_end(c->g);
    if (accepted) return fv_check_fail(c, "decode ops", "bad input", "a wrong shape, alias or null buffer was accepted");
    fv_check_pass(c, "decode ops", "bad input", "wrong shapes, aliasing and null buffers rejected");
    return 0;
}

int fv_check_op_decode(fv_check *c) {
    int bad = kv_append(c, 0);
    bad |= kv_append(c, 1);
    bad |= argmax(c, 1, 1);
    bad |= argmax(c, 7, 33);
    bad |= argmax(c, 3, 32128);
    bad |= gather(c);
    bad |= bad_input(c);
    return bad;
}
