/* Softmax cross-entropy: fused loss+gradient shader vs reference (separate and in-place
 * gradient, loss-only variant), ignored rows (-100, -1 = 0xFFFFFFFF, the label >= vocab guard),
 * logits of magnitude 1e4, vocab % 4 == 0 (vec4 path) or not (scalar shader), the device count / scale / sum reductions, reference gradient vs
 * finite differences, bad input rejected; the gradient never holds a subnormal (the shaders flush
 * terms below 2^-60 of their row, which the 1e-5 tolerance against the exact reference covers). Tolerances: loss and gradient 1e-5 (fp32 sums of up to
 * 32128 exps in a fixed tree), reductions 1e-5, finite differences 1e-3 (step 1e-2). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check/check.h"
#include "ops/xent.h"
#include "ref/xent.h"

static int one(fv_check *c, uint32_t rows, uint32_t vocab, float mag) {
    char shape[64];
    snprintf(shape, sizeof shape, "%ux%u |x|<=%g", rows, vocab, mag);
    size_t n = (size_t)rows * vocab;
    float *x = fv_check_rand(c, n, -mag, mag);
    int32_t *lab = (int32_t *)fv_check_alloc_u32(c, rows);
    if (!x || !lab) return fv_check_fail(c, "xent", shape, "out of memory");
    for (uint32_t r = 0; r < rows; r++) lab[r] = fv_rng_below(&c->rng, 5) == 0 ? -100 : (int32_t)fv_rng_below(&c->rng, vocab);
    if (rows >= 7) {
        lab[1] = -1;             /* 0xFFFFFFFF */
        lab[2] = (int32_t)vocab; /* device guard */
        lab[3] = 0;
        lab[4] = (int32_t)vocab - 1;
    }
    fv_buf *bx = fv_check_upload(c, x, n), *bl = fv_check_upload_u32(c, (uint32_t *)lab, rows);
    fv_buf *bloss = fv_check_upload(c, NULL, rows), *bdl = fv_check_upload(c, NULL, n), *bcnt = fv_check_upload(c, NULL, 2);
    fv_buf *bip = fv_check_upload(c, x, n), *bloss2 = fv_check_upload(c, NULL, rows), *bloss3 = fv_check_upload(c, NULL, rows);
    fv_buf *bsum = fv_check_upload(c, NULL, 3);
    if (!bx || !bl || !bloss || !bdl || !bcnt || !bip || !bloss2 || !bloss3 || !bsum)
        return fv_check_fail(c, "xent", shape, fv_last_error());
    fv_t scale = fv_tensor(bcnt, 1);
    if (fv_check_begin(c) || fv_xent_count(c->g, fv_tensor(bl, 0), fv_tensor(bcnt, 0), rows, vocab) ||
        fv_xent(c->g, fv_tensor(bx, 0), fv_tensor(bl, 0), scale, fv_tensor(bloss, 0), fv_tensor(bdl, 0), rows, vocab) ||
        fv_xent(c->g, fv_tensor(bip, 0), fv_tensor(bl, 0), scale, fv_tensor(bloss2, 0), fv_tensor(bip, 0), rows, vocab) ||
        fv_xent_loss(c->g, fv_tensor(bx, 0), fv_tensor(bl, 0), fv_tensor(bloss3, 0), rows, vocab) ||
        fv_xent_sum(c->g, fv_tensor(bloss, 0), fv_tensor(bl, 0), fv_tensor(bsum, 0), rows, vocab) || fv_check_run(c))
        return fv_check_fail(c, "xent", shape, fv_last_error());

    size_t count = 0;
    float *loss = fv_check_alloc(c, rows), *dl = fv_check_alloc(c, n);
    fv_ref_xent(x, lab, loss, NULL, rows, vocab, 1.0f);
    double sum = fv_ref_xent_sum(loss, lab, rows, vocab, &count);
    float sc = (float)(1.0 / (double)(count ? count : 1));
    fv_ref_xent(x, lab, loss, dl, rows, vocab, sc);
    float cnt_ref[2] = {(float)count, sc}, sum_ref[3] = {(float)sum, (float)count, (float)(sum / (count ? count : 1))};
    int bad = 0;
    bad |= fv_check_compare(c, "xent count, scale", shape, fv_check_download(c, bcnt, 2), cnt_ref, 2, 1e-7);
    bad |= fv_check_compare(c, "xent loss", shape, fv_check_download(c, bloss, rows), loss, rows, 1e-5);
    const float *got = fv_check_download(c, bdl, n);
    bad |= fv_check_compare(c, "xent dlogits", shape, got, dl, n, 1e-5);
    size_t subnormal = 0;
    for (size_t i = 0; got && i < n; i++) subnormal += fpclassify(got[i]) == FP_SUBNORMAL;
    if (subnormal) { /* they would slow every product that reads the gradient (shaders/common/exp_ftz.glsl) */
        char why[96];
        snprintf(why, sizeof why, "%zu subnormal gradient values (terms below 2^-60 of a row must be 0)", subnormal);
        bad |= fv_check_fail(c, "xent dlogits subnormals", shape, why);
    } else if (got) {
        fv_check_pass(c, "xent dlogits subnormals", shape, "none");
    }
    bad |= fv_check_compare(c, "xent loss (in place)", shape, fv_check_download(c, bloss2, rows), loss, rows, 1e-5);
    bad |= fv_check_compare(c, "xent dlogits (in place)", shape, fv_check_download(c, bip, n), dl, n, 1e-5);
    bad |= fv_check_compare(c, "xent loss only", shape, fv_check_download(c, bloss3, rows), loss, rows, 1e-5);
    bad |= fv_check_compare(c, "xent sum, count, mean", shape, fv_check_download(c, bsum, 3), sum_ref, 3, 1e-5);
    return bad;
}

typedef struct {
    const int32_t *lab;
    size_t rows, vocab;
    float scale;
} fd_ctx;

static double fd_loss(void *vctx, const float *x) {
    fd_ctx *f = vctx;
    float loss[8];
    fv_ref_xent(x, f->lab, loss, NULL, f->rows, f->vocab, 1.0f);
    double s = 0;
    for (size_t r = 0; r < f->rows; r++) s += (double)loss[r] * f->scale;
    return s;
}

static int finite_differences(fv_check *c) {
    const size_t rows = 4, vocab = 17;
    int32_t lab[4] = {3, -100, 16, 0};
    float *x = fv_check_rand(c, rows * vocab, -3, 3), *dl = fv_check_alloc(c, rows * vocab);
    float loss[4];
    if (!x || !dl) return fv_check_fail(c, "xent", "fd", "out of memory");
    fv_ref_xent(x, lab, loss, dl, rows, vocab, 1.0f / 3);
    fd_ctx f = {lab, rows, vocab, 1.0f / 3};
    return fv_check_fd(c, "xent ref dlogits vs finite diff", "4x17", fd_loss, &f, x, rows * vocab, dl, 32, 1e-2, 1e-3);
}

static int bad_input(fv_check *c) {
    fv_buf *small = fv_check_upload(c, NULL, 10), *other = fv_check_upload(c, NULL, 10);
    if (!small || !other || fv_check_begin(c)) return fv_check_fail(c, "xent", "bad input", fv_last_error());
    fv_t s = fv_tensor(small, 0), o = fv_tensor(other, 0), z = {0};
    int ok = 1;
    ok &= fv_xent(c->g, s, o, o, o, s, 2, 6) != 0;                  /* logits too small */
    ok &= fv_xent(c->g, s, z, o, o, s, 1, 4) != 0;                  /* null labels */
    ok &= fv_xent(c->g, s, o, o, o, fv_tensor(small, 1), 1, 4) != 0; /* partial alias */
    ok &= fv_xent(c->g, s, o, o, fv_tensor(small, 8), s, 1, 4) != 0; /* loss inside logits */
    ok &= fv_xent_loss(c->g, s, o, o, 0, 4) != 0;                   /* empty */
    ok &= fv_xent_sum(c->g, o, o, z, 2, 4) != 0;                    /* null out */
    fv_graph_end(c->g);
    int32_t lab[3] = {-100, 4, 2};
    ok &= fv_xent_check_labels(lab, 3, 4) != 0 && fv_xent_check_labels(lab, 3, 5) == 0;
    if (!ok) return fv_check_fail(c, "xent", "bad input", "a wrong shape, bad alias, null buffer or bad label was accepted");
    fv_check_pass(c, "xent", "bad input", "short/null buffers, partial alias, empty shape, bad label rejected");
    return 0;
}

int fv_check_op_xent(fv_check *c) {
    int bad = 0;
    bad |= one(c, 1, 1, 4);
    bad |= one(c, 7, 33, 8);
    bad |= one(c, 33, 7, 8);
    bad |= one(c, 17, 4, 8);   /* vec4 path (vocab % 4 == 0): one vec4 per row, partial row block */
    bad |= one(c, 11, 36, 8);
    bad |= one(c, 9, 1000, 1e4f);
    bad |= one(c, 5, 32128, 1e4f);
    bad |= one(c, 6, 32128, 100);   /* wide softmax: most terms below 2^-60 of their row (flushed) */
    bad |= one(c, c->quick ? 40 : 130, 32128, 10);
    bad |= finite_differences(c);
    bad |= bad_input(c);
    return bad;
}
