/* Global gradient norm: many tensors of odd sizes interleaved over three buffers with gaps,
 * norm vs reference and bitwise repeatable, clipping that scales (max_norm below the norm) and
 * one that does not, the norm after clipping, the gaps left untouched, the plain scale-by-device-
 * factor kernel, bad input rejected. Tolerances: norm 1e-5 (fp32 chunk sums over up to a few
 * million squares, fixed tree), scaled tensors 1e-6 (one fp32 multiply). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "ops/gradnorm.h"
#include "ref/gradnorm.h"

#define NB 3
#define GAP 5

static int many(fv_check *c, uint32_t ntens) {
    static const uint32_t sizes[] = {1, 7, 33, 1000, 16385, 512, 3, 40000, 1031};
    char shape[64];
    uint32_t *lens = (uint32_t *)fv_check_alloc_u32(c, ntens), *offs = fv_check_alloc_u32(c, ntens);
    size_t total[NB] = {0}, all = 0;
    if (!lens || !offs) return fv_check_fail(c, "gradnorm", "", "out of memory");
    for (uint32_t i = 0; i < ntens; i++) {
        lens[i] = sizes[fv_rng_below(&c->rng, sizeof sizes / sizeof *sizes)];
        offs[i] = (uint32_t)total[i % NB] + GAP;
        total[i % NB] = offs[i] + lens[i];
        all += lens[i];
    }
    snprintf(shape, sizeof shape, "%u tensors, %zu elements", ntens, all);
    float *host[NB], *ref[NB];
    fv_buf *dev[NB];
    for (int b = 0; b < NB; b++) {
        host[b] = fv_check_rand(c, total[b], -1, 1);
        ref[b] = fv_check_copy(c, host[b], total[b]);
        dev[b] = fv_check_upload(c, host[b], total[b]);
        if (!dev[b] || !ref[b]) return fv_check_fail(c, "gradnorm", shape, fv_last_error());
    }
    fv_t *ts = calloc(ntens, sizeof *ts);
    float **tp = calloc(ntens, sizeof *tp);
    size_t *sl = calloc(ntens, sizeof *sl);
    fv_gradnorm_plan *plan = NULL;
    int bad = 0;
    if (!ts || !tp || !sl) {
        bad = fv_check_fail(c, "gradnorm", shape, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < ntens; i++) {
        ts[i] = fv_tensor(dev[i % NB], offs[i]);
        tp[i] = ref[i % NB] + offs[i];
        sl[i] = lens[i];
    }
    double norm = fv_ref_gradnorm(tp, sl, ntens);
    float max_norm = (float)(0.5 * norm);
    if (fv_gradnorm_plan_create(c->d, ts, lens, ntens, &plan)) {
        bad = fv_check_fail(c, "gradnorm", shape, fv_last_error());
        goto done;
    }
    uint32_t ns = fv_gradnorm_scratch_size(plan);
    fv_buf *scr = fv_check_upload(c, NULL, ns + 2), *bn = fv_check_upload(c, NULL, 4);
    if (!scr || !bn || fv_check_begin(c) || fv_gradnorm(c->g, plan, fv_tensor(scr, 2), fv_tensor(bn, 0)) ||
        fv_gradnorm(c->g, plan, fv_tensor(scr, 2), fv_tensor(bn, 1)) ||
        fv_gradnorm_clip(c->g, plan, fv_tensor(bn, 0), 10 * max_norm) || /* factor 1: unchanged */
        fv_gradnorm_clip(c->g, plan, fv_tensor(bn, 0), max_norm) ||
        fv_gradnorm(c->g, plan, fv_tensor(scr, 2), fv_tensor(bn, 2)) || fv_check_run(c)) {
        bad = fv_check_fail(c, "gradnorm", shape, fv_last_error());
        goto done;
    }
    fv_ref_clip(tp, sl, ntens, norm, max_norm);
    double norm2 = fv_ref_gradnorm(tp, sl, ntens);
    float *got = fv_check_download(c, bn, 3);
    float want[3] = {(float)norm, (float)norm, (float)norm2};
    bad |= fv_check_compare(c, "gradnorm norm, again, after clip", shape, got, want, 3, 1e-5);
    if (got && memcmp(&got[0], &got[1], sizeof *got) == 0)
        fv_check_pass(c, "gradnorm repeat", shape, "bitwise identical");
    else
        bad |= fv_check_fail(c, "gradnorm repeat", shape, "two runs differ");
    for (int b = 0; b < NB; b++) {
        char what[64];
        snprintf(what, sizeof what, "gradnorm clip buffer %d (with gaps)", b);
        bad |= fv_check_compare(c, what, shape, fv_check_download(c, dev[b], total[b]), ref[b], total[b], 1e-6);
    }
done:
    fv_gradnorm_plan_destroy(c->d, plan);
    free(ts);
    free(tp);
    free(sl);
    return bad;
}

static int scale_by(fv_check *c, uint32_t n) {
    char shape[32];
    snprintf(shape, sizeof shape, "%u", n);
    float *x = fv_check_rand(c, n + 8, -1, 1), f[2] = {NAN, -0.75f};
    fv_buf *bx = fv_check_upload(c, x, n + 8), *bf = fv_check_upload(c, f, 2);
    if (!bx || !bf || fv_check_begin(c) || fv_scale_by(c->g, fv_tensor(bx, 3), n, fv_tensor(bf, 1)) || fv_check_run(c))
        return fv_check_fail(c, "scale_by", shape, fv_last_error());
    float *ref = fv_check_copy(c, x, n + 8);
    for (uint32_t i = 0; i < n; i++) ref[3 + i] = x[3 + i] * -0.75f;
    return fv_check_compare(c, "scale_by device factor", shape, fv_check_download(c, bx, n + 8), ref, n + 8, 1e-6);
}

static int bad_input(fv_check *c) {
    fv_buf *a = fv_check_upload(c, NULL, 100), *s = fv_check_upload(c, NULL, 4);
    if (!a || !s) return fv_check_fail(c, "gradnorm", "bad input", fv_last_error());
    fv_t ov[2] = {fv_tensor(a, 0), fv_tensor(a, 10)}, nul[1] = {{0}}, big[1] = {fv_tensor(a, 50)};
    uint32_t lov[2] = {20, 20}, l1[1] = {60};
    fv_gradnorm_plan *p = NULL;
    int ok = 1;
    ok &= fv_gradnorm_plan_create(c->d, ov, lov, 2, &p) != 0 && !p; /* overlap */
    ok &= fv_gradnorm_plan_create(c->d, nul, l1, 1, &p) != 0;       /* null buffer */
    ok &= fv_gradnorm_plan_create(c->d, big, l1, 1, &p) != 0;       /* past the end */
    if (fv_gradnorm_plan_create(c->d, ov, lov, 1, &p)) return fv_check_fail(c, "gradnorm", "bad input", fv_last_error());
    if (fv_check_begin(c)) ok = 0;
    ok &= fv_gradnorm(c->g, p, fv_tensor(s, 4), fv_tensor(s, 0)) != 0;  /* scratch too small */
    ok &= fv_gradnorm(c->g, p, fv_tensor(a, 50), fv_tensor(s, 0)) != 0; /* scratch in the gradients */
    ok &= fv_gradnorm_clip(c->g, p, fv_tensor(s, 0), 0.0f) != 0;        /* max_norm 0 */
    ok &= fv_scale_by(c->g, fv_tensor(a, 0), 10, fv_tensor(a, 20)) != 0; /* factor inside x's buffer */
    ok &= fv_scale_by(c->g, fv_tensor(a, 0), 101, fv_tensor(s, 0)) != 0; /* too long */
    fv_graph_end(c->g);
    fv_gradnorm_plan_destroy(c->d, p);
    if (!ok) return fv_check_fail(c, "gradnorm", "bad input", "overlap, null, short or aliased buffer was accepted");
    fv_check_pass(c, "gradnorm", "bad input", "overlap, null, short and aliased buffers, max_norm 0 rejected");
    return 0;
}

int fv_check_op_gradnorm(fv_check *c) {
    int bad = 0;
    bad |= many(c, 1);
    bad |= many(c, 7);
    bad |= many(c, c->quick ? 60 : 200);
    bad |= scale_by(c, 1);
    bad |= scale_by(c, 40001);
    bad |= bad_input(c);
    return bad;
}
