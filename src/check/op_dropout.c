/* Dropout vs reference (bit-identical masks: tolerance 0), the kept fraction near 1 - rate, a new
 * mask when the seed buffer changes between replays, and the backward identity (the same call on
 * dy gives the masked gradient). */
#include <math.h>
#include <stdio.h>

#include "check/check.h"
#include "ops/dropout.h"
#include "ref/decode.h"

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

int fv_check_op_dropout(fv_check *c) {
    int bad = one(c, 1, 0.1f);
    bad |= one(c, 1031, 0.5f);
    bad |= one(c, 100003, 0.1f);
    bad |= one(c, 33, 0.0f);
    return bad;
}
