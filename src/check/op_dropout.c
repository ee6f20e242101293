/* Dropout vs reference (bit-identical masks: tolerance 0), the kept fraction near 1 - rate, a new
 * mask when the seed buffer changes between replays, and the backward identity (the same call on
 * dy gives the masked gradient).
 * The fused residual dropout-add x += dropout(y): shader vs reference on sizes 1, 33, 1031,
 * 100003 (tolerance 1e-6: a driver may contract the multiply-add into one fma, one rounding
 * fewer), a replay with a new seed, the reference's gradient d/dy = dropout(dL/dx) against
 * finite differences (1e-3, step 1e-2; the function is linear), bad input rejected. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "ops/dropout.h"
#include "ref/decode.h"
#include "ref/dropout.h"

static int one(fv_check *c, uint32_t n, float rate) {
    char shape[64];
    snprintf(shape, sizeof shape, "n%u rate %.2f", n, rate);
    float *x = fv_check_rand(c, n, -1, 1), *ref = fv_check_alloc(c, n);
    uint32_t seed[2] = {1234, 99};
    fv_buf *bx = fv_check_upload(c, x, n), *by = fv_check_upload(c, NULL, n), *bs = fv_check_upload_u32(c, seed, 2);
    if (!bx || !by || !bs || fv_check_begin(c) || fv_dropout(c->g, fv_tensor(bx, 0), fv_tensor(bs, 1), fv_tensor(by, 0), n, 7, rate) ||
        fv_check_run(c))
        return fv_check_fail(c, "dropout", shape, fv_last_error());
    fv_ref_dropout(x, seed[1], ref, n, 7, rate);
    float *got = fv_check_download(c, by, n);
    int bad = fv_check_compare(c, "dropout fwd", shape, got, ref, n, 0);
    if (n >= 10000 && got) {
        size_t kept = 0;
        for (uint32_t i = 0; i < n; i++) kept += got[i] != 0.0f;
        double frac = (double)kept / n, sd = sqrt(rate * (1 - rate) / n);
        if (fabs(frac - (1 - rate)) > 5 * sd + 1e-12) bad |= fv_check_fail(c, "dropout kept fraction", shape, "off by more than 5 sigma");
        else fv_check_pass(c, "dropout kept fraction", shape, "within 5 sigma of 1 - rate");
    }
    /* a replay with another seed draws another mask */
    seed[1] = 4321;
    if (fv_buf_write(c->d, bs, 0, seed, 8) || fv_graph_run(c->g)) return fv_check_fail(c, "dropout", shape, fv_last_error());
    fv_ref_dropout(x, seed[1], ref, n, 7, rate);
    bad |= fv_check_compare(c, "dropout fwd (replayed, new seed)", shape, fv_check_download(c, by, n), ref, n, 0);
    return bad;
}

typedef struct {
    const float *x0, *r;
    uint32_t seed, n;
    float rate;
} fd_ctx;

/* loss = sum(r * (x0 + dropout(y))) through the reference. */
static double fd_loss(void *vctx, const float *y) {
    const fd_ctx *f = vctx;
    float *x = malloc(f->n * sizeof *x);
    if (!x) return NAN;
    memcpy(x, f->x0, f->n * sizeof *x);
    fv_ref_dropout_add(x, y, f->seed, f->n, 11, f->rate);
    double s = 0;
    for (uint32_t i = 0; i < f->n; i++) s += (double)f->r[i] * x[i];
    free(x);
    return s;
}

static int add_one(fv_check *c, uint32_t n, float rate) {
    char shape[64];
    snprintf(shape, sizeof shape, "n%u rate %.2f", n, rate);
    float *x = fv_check_rand(c, n, -1, 1), *y = fv_check_rand(c, n, -1, 1), *ref = fv_check_copy(c, x, n);
    uint32_t seed[2] = {77, 5150};
    fv_buf *bx = fv_check_upload(c, x, n), *by = fv_check_upload(c, y, n), *bs = fv_check_upload_u32(c, seed, 2);
    if (!ref || !bx || !by || !bs || fv_check_begin(c) ||
        fv_dropout_add(c->g, fv_tensor(bx, 0), fv_tensor(by, 0), fv_tensor(bs, 1), n, 11, rate) || fv_check_run(c))
        return fv_check_fail(c, "dropout_add", shape, fv_last_error());
    fv_ref_dropout_add(ref, y, seed[1], n, 11, rate);
    int bad = fv_check_compare(c, "dropout_add fwd", shape, fv_check_download(c, bx, n), ref, n, 1e-6);
    /* replay with another seed from the original x */
    seed[1] = 9;
    memcpy(ref, x, n * sizeof *ref);
    if (fv_buf_write(c->d, bs, 0, seed, 8) || fv_buf_write(c->d, bx, 0, x, (uint64_t)n * 4) || fv_graph_run(c->g))
        return fv_check_fail(c, "dropout_add", shape, fv_last_error());
    fv_ref_dropout_add(ref, y, seed[1], n, 11, rate);
    bad |= fv_check_compare(c, "dropout_add fwd (replayed, new seed)", shape, fv_check_download(c, bx, n), ref, n, 1e-6);
    /* backward: d/dy sum(r * x_out) = dropout(r) with the same seed and salt */
    float *r = fv_check_rand(c, n, -1, 1), *gy = fv_check_alloc(c, n);
    if (!r || !gy) return fv_check_fail(c, "dropout_add", shape, "out of memory");
    fv_ref_dropout(r, seed[1], gy, n, 11, rate);
    fd_ctx f = {x, r, seed[1], n, rate};
    bad |= fv_check_fd(c, "dropout_add ref dy vs finite diff", shape, fd_loss, &f, y, n, gy, 16, 1e-2, 1e-3);
    return bad;
}

static int add_bad_input(fv_check *c) {
    fv_buf *b = fv_check_upload(c, NULL, 64), *s = fv_check_upload_u32(c, NULL, 1);
    if (!b || !s || fv_check_begin(c)) return fv_check_fail(c, "dropout_add", "bad input", fv_last_error());
    fv_t x = fv_tensor(b, 0), y = fv_tensor(b, 32), sd = fv_tensor(s, 0);
    fv_buf *b2 = fv_check_upload(c, NULL, 64);
    int rcs[4] = {
        fv_dropout_add(c->g, x, y, sd, 32, 1, 0.1f),                            /* x and y in one buffer */
        fv_dropout_add(c->g, x, fv_tensor(b2, 0), sd, 65, 1, 0.1f),             /* too long */
        fv_dropout_add(c->g, x, fv_tensor(NULL, 0), sd, 8, 1, 0.1f),            /* null y */
        fv_dropout_add(c->g, x, fv_tensor(b2, 0), sd, 8, 1, 1.0f),              /* rate 1 */
    };
    fv_graph_end(c->g);
    return fv_check_rejected(c, "dropout_add", rcs, 4, "aliased x/y, short buffer, null y, rate 1 rejected");
}

int fv_check_op_dropout(fv_check *c) {
    int bad = one(c, 1, 0.1f);
    bad |= add_one(c, 1, 0.1f);
    bad |= add_one(c, 33, 0.0f);
    bad |= add_one(c, 1031, 0.5f);
    bad |= add_one(c, 100003, 0.1f);
    bad |= add_bad_input(c);
    bad |= one(c, 1031, 0.5f);
    bad |= one(c, 100003, 0.1f);
    bad |= one(c, 33, 0.0f);
    return bad;
}
