/* Feed-forward activations: gated tanh-GELU and ReLU shaders (plus erf-GELU and SiLU, gated and
 * not) vs reference, forward and backward,
 * with a and b as the two halves of one fused [rows, 2*cols] buffer (strided slices), a strided
 * offset output, the in-place backward (da/db over a/b), reference backward vs finite
 * differences, bad input rejected. Tolerances: fwd/bwd 1e-5 (elementwise fp32, a few ulps of
 * exp), finite differences 1e-3 (central step 1e-3 in double of a float forward).
 * The fused feed-forward dropout (fv_ff_act_fwd_drop / _back_drop): bit-identical (tolerance 0)
 * to the activation followed by fv_dropout (forward) and fv_dropout followed by the activation's
 * backward, on the vec4 and the scalar paths, also after a replay with a new seed; the dropped
 * positions exactly fv_dropout's mask; vs the reference 1e-5; the reference backward through
 * the fixed mask vs finite differences (1e-3). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check/check.h"
#include "ops/dropout.h"
#include "ops/gelu.h"
#include "ref/dropout.h"
#include "ref/gelu.h"

/* Values spread over the interesting range, with a few large ones to exercise tanh saturation. */
static float *act_input(fv_check *c, size_t n, float lim) {
    float *x = fv_check_rand(c, n, -lim, lim);
    for (size_t i = 0; x && i < n; i += 97) x[i] = (i & 1) ? 40.0f : -40.0f;
    return x;
}

/* Pack [rows, cols] a and b into one [rows, 2*cols] buffer image. */
static float *fuse(fv_check *c, const float *a, const float *b, size_t rows, size_t cols) {
    float *f = fv_check_alloc(c, rows * cols * 2);
    for (size_t i = 0; f && i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            f[i * 2 * cols + j] = a[i * cols + j];
            f[i * 2 * cols + cols + j] = b[i * cols + j];
        }
    return f;
}

/* Column block [off, off+cols) of a [rows, ld] image. */
static float *slice(fv_check *c, const float *f, size_t rows, size_t cols, size_t ld, size_t off) {
    float *s = fv_check_alloc(c, rows * cols);
    for (size_t i = 0; s && f && i < rows; i++)
        for (size_t j = 0; j < cols; j++) s[i * cols + j] = f[off + i * ld + j];
    return s;
}

static const char *const names[] = {"relu", "gelu_erf", "gelu_tanh", "silu"};

static int gated(fv_check *c, enum fv_ff_act act, uint32_t rows, uint32_t cols) {
    char shape[64], what[96];
    snprintf(shape, sizeof shape, "%ux%u", rows, cols);
    size_t n = (size_t)rows * cols, ld = 2 * (size_t)cols, ldo = cols + 3;
    float *a = act_input(c, n, 6), *b = fv_check_rand(c, n, -2, 2), *g = fv_check_rand(c, n, -1, 1);
    if (!a || !b || !g) return fv_check_fail(c, names[act], shape, "out of memory");
    float *ab = fuse(c, a, b, rows, cols);
    fv_buf *bab = fv_check_upload(c, ab, 2 * n), *bout = fv_check_upload(c, NULL, 2 + rows * ldo);
    fv_buf *bg = fv_check_upload(c, g, n), *bd = fv_check_upload(c, NULL, 2 * n), *bip = fv_check_upload(c, ab, 2 * n);
    if (!ab || !bab || !bout || !bg || !bd || !bip) return fv_check_fail(c, names[act], shape, fv_last_error());
    if (fv_check_begin(c) ||
        fv_ff_act_fwd(c->g, act, fv_tensor(bab, 0), ld, fv_tensor(bab, cols), ld, fv_tensor(bout, 2), ldo, rows, cols) ||
        fv_ff_act_back(c->g, act, fv_tensor(bab, 0), ld, fv_tensor(bab, cols), ld, fv_tensor(bg, 0), 0,
                       fv_tensor(bd, 0), ld, fv_tensor(bd, cols), ld, rows, cols) ||
        fv_ff_act_back(c->g, act, fv_tensor(bip, 0), ld, fv_tensor(bip, cols), ld, fv_tensor(bg, 0), 0,
                       fv_tensor(bip, 0), ld, fv_tensor(bip, cols), ld, rows, cols) ||
        fv_check_run(c))
        return fv_check_fail(c, names[act], shape, fv_last_error());
    float *out = fv_check_alloc(c, n), *da = fv_check_alloc(c, n), *db = fv_check_alloc(c, n);
    fv_ref_act(act, a, b, out, n);
    fv_ref_act_back(act, a, b, g, da, db, n);
    float *gout = fv_check_download(c, bout, 2 + rows * ldo), *gd = fv_check_download(c, bd, 2 * n);
    float *gip = fv_check_download(c, bip, 2 * n);
    int bad = 0;
    const struct { const char *what; const float *got, *ref; } cmp[] = {
        {"fwd (fused in, strided out)", slice(c, gout, rows, cols, ldo, 2), out},
        {"bwd da", slice(c, gd, rows, cols, ld, 0), da},
        {"bwd db", slice(c, gd, rows, cols, ld, cols), db},
        {"bwd da (in place)", slice(c, gip, rows, cols, ld, 0), da},
        {"bwd db (in place)", slice(c, gip, rows, cols, ld, cols), db},
    };
    for (size_t k = 0; k < sizeof cmp / sizeof *cmp; k++) {
        snprintf(what, sizeof what, "%s gated %s", names[act], cmp[k].what);
        bad |= fv_check_compare(c, what, shape, cmp[k].got, cmp[k].ref, n, 1e-5);
    }
    return bad;
}

static int ungated(fv_check *c, enum fv_ff_act act, uint32_t rows, uint32_t cols) {
    char shape[64], what[64];
    snprintf(shape, sizeof shape, "%ux%u", rows, cols);
    size_t n = (size_t)rows * cols;
    float *a = act_input(c, n, 3), *g = fv_check_rand(c, n, -1, 1);
    if (!a || !g) return fv_check_fail(c, names[act], shape, "out of memory");
    a[0] = 0.0f; /* relu'(0) = 0, as torch */
    fv_buf *ba = fv_check_upload(c, a, n), *bo = fv_check_upload(c, NULL, n), *bg = fv_check_upload(c, g, n);
    fv_buf *bd = fv_check_upload(c, NULL, n);
    if (!ba || !bo || !bg || !bd) return fv_check_fail(c, names[act], shape, fv_last_error());
    fv_t z = {0};
    int rc = fv_check_begin(c) || (act == FV_FF_RELU ? fv_relu(c->g, fv_tensor(ba, 0), fv_tensor(bo, 0), rows, cols) ||
                                     fv_relu_back(c->g, fv_tensor(ba, 0), fv_tensor(bg, 0), fv_tensor(bd, 0), rows, cols)
                               : fv_ff_act_fwd(c->g, act, fv_tensor(ba, 0), 0, z, 0, fv_tensor(bo, 0), 0, rows, cols) ||
                                     fv_ff_act_back(c->g, act, fv_tensor(ba, 0), 0, z, 0, fv_tensor(bg, 0), 0,
                                                    fv_tensor(bd, 0), 0, z, 0, rows, cols));
    if (rc || fv_check_run(c))
        return fv_check_fail(c, names[act], shape, fv_last_error());
    float *out = fv_check_alloc(c, n), *da = fv_check_alloc(c, n);
    fv_ref_act(act, a, NULL, out, n);
    fv_ref_act_back(act, a, NULL, g, da, NULL, n);
    double tol = act == FV_FF_RELU ? 0 : 1e-5; /* relu is exact */
    snprintf(what, sizeof what, "%s fwd", names[act]);
    int bad = fv_check_compare(c, what, shape, fv_check_download(c, bo, n), out, n, tol);
    snprintf(what, sizeof what, "%s bwd", names[act]);
    bad |= fv_check_compare(c, what, shape, fv_check_download(c, bd, n), da, n, tol);
    return bad;
}

/* The fused dropout on [rows, cols] with a, b the halves of a fused buffer (gated) or a alone. */
static int dropped(fv_check *c, enum fv_ff_act act, int gate, uint32_t rows, uint32_t cols, float rate) {
    char shape[64], what[128];
    snprintf(shape, sizeof shape, "%ux%u rate %.2f", rows, cols, rate);
    size_t n = (size_t)rows * cols, ld = gate ? 2 * (size_t)cols : cols;
    uint32_t seed[2] = {77, 31337}, salt = 0x2a;
    float *a = act_input(c, n, 6), *b = gate ? fv_check_rand(c, n, -2, 2) : NULL, *g = fv_check_rand(c, n, -1, 1);
    float *ab = gate && a && b ? fuse(c, a, b, rows, cols) : a;
    if (!a || (gate && !b) || !g || !ab) return fv_check_fail(c, names[act], shape, "out of memory");
    fv_buf *bab = fv_check_upload(c, ab, ld * rows), *bg = fv_check_upload(c, g, n), *bs = fv_check_upload_u32(c, seed, 2);
    fv_buf *o1 = fv_check_upload(c, NULL, n), *o2 = fv_check_upload(c, NULL, n), *gt = fv_check_upload(c, NULL, n);
    fv_buf *d1 = fv_check_upload(c, NULL, ld * rows), *d2 = fv_check_upload(c, NULL, ld * rows);
    if (!bab || !bg || !bs || !o1 || !o2 || !gt || !d1 || !d2) return fv_check_fail(c, names[act], shape, fv_last_error());
    fv_t ta = fv_tensor(bab, 0), tb = gate ? fv_tensor(bab, cols) : (fv_t){0}, z = {0};
    fv_t da1 = fv_tensor(d1, 0), db1 = gate ? fv_tensor(d1, cols) : z, da2 = fv_tensor(d2, 0), db2 = gate ? fv_tensor(d2, cols) : z;
    fv_ff_drop dp = {fv_tensor(bs, 1), salt, rate};
    uint32_t l = (uint32_t)ld;
    if (fv_check_begin(c) || fv_ff_act_fwd_drop(c->g, act, ta, l, tb, l, fv_tensor(o1, 0), 0, rows, cols, dp) ||
        fv_ff_act_fwd(c->g, act, ta, l, tb, l, fv_tensor(o2, 0), 0, rows, cols) ||
        fv_dropout(c->g, fv_tensor(o2, 0), dp.seed, fv_tensor(o2, 0), (uint32_t)n, salt, rate) ||
        fv_ff_act_back_drop(c->g, act, ta, l, tb, l, fv_tensor(bg, 0), 0, da1, l, db1, l, rows, cols, dp) ||
        fv_dropout(c->g, fv_tensor(bg, 0), dp.seed, fv_tensor(gt, 0), (uint32_t)n, salt, rate) ||
        fv_ff_act_back(c->g, act, ta, l, tb, l, fv_tensor(gt, 0), 0, da2, l, db2, l, rows, cols) || fv_check_run(c))
        return fv_check_fail(c, names[act], shape, fv_last_error());
    int bad = 0;
    for (int rep = 0; rep < 2; rep++) {
        if (rep) { /* a replay with another seed draws another mask, the same in both */
            seed[1] = 4242;
            if (fv_buf_write(c->d, bs, 0, seed, 8) || fv_graph_run(c->g)) return fv_check_fail(c, names[act], shape, fv_last_error());
        }
        float *out = fv_check_alloc(c, n), *gd = fv_check_alloc(c, n), *da = fv_check_alloc(c, n), *db = fv_check_alloc(c, n);
        if (!out || !gd || !da || !db) return fv_check_fail(c, names[act], shape, "out of memory");
        fv_ref_act_drop(act, a, b, out, n, seed[1], salt, rate);
        fv_ref_act_back_drop(act, a, b, g, gd, da, db, n, seed[1], salt, rate);
        float *f1 = fv_check_download(c, o1, n), *f2 = fv_check_download(c, o2, n);
        float *g1 = fv_check_download(c, d1, ld * rows), *g2 = fv_check_download(c, d2, ld * rows);
        if (!f1 || !f2 || !g1 || !g2) return fv_check_fail(c, names[act], shape, fv_last_error());
        const char *tag = rep ? " (replayed, new seed)" : "";
        struct { const char *what; const float *got, *ref; double tol; } cmp[] = {
            {"fwd = act then fv_dropout", f1, f2, 0},
            {"fwd vs ref", f1, out, 1e-5},
            {"bwd da = fv_dropout then act back", slice(c, g1, rows, cols, ld, 0), slice(c, g2, rows, cols, ld, 0), 0},
            {"bwd da vs ref", slice(c, g1, rows, cols, ld, 0), da, 1e-5},
            {"bwd db = fv_dropout then act back", gate ? slice(c, g1, rows, cols, ld, cols) : NULL,
             gate ? slice(c, g2, rows, cols, ld, cols) : NULL, 0},
            {"bwd db vs ref", gate ? slice(c, g1, rows, cols, ld, cols) : NULL, db, 1e-5},
        };
        for (size_t k = 0; k < sizeof cmp / sizeof *cmp; k++) {
            if (!gate && k >= 4) break;
            snprintf(what, sizeof what, "%s%s drop %s%s", names[act], gate ? " gated" : "", cmp[k].what, tag);
            bad |= fv_check_compare(c, what, shape, cmp[k].got, cmp[k].ref, n, cmp[k].tol);
        }
        /* the dropped positions are exactly fv_dropout's: zero there, nonzero where kept (a kept value
         * may round to 0 only when it is tiny: the GPU's tanh saturates earlier than double's) */
        size_t wrong = 0;
        for (size_t i = 0; i < n; i++) {
            int keep = fv_ref_dropout_keep(seed[1], salt, (uint32_t)i, rate);
            wrong += keep ? (f1[i] == 0.0f && fabsf(out[i]) > 1e-6f) : (f1[i] != 0.0f || gd[i] != 0.0f);
        }
        snprintf(what, sizeof what, "%s drop mask%s", names[act], tag);
        if (wrong) bad |= fv_check_fail(c, what, shape, "dropped positions differ from fv_dropout's mask");
        else fv_check_pass(c, what, shape, "dropped positions are fv_dropout's");
    }
    return bad;
}

typedef struct {
    const float *a, *b, *r;
    size_t n;
    uint32_t seed;
    float rate;
} fd_drop_ctx;

/* loss = sum r * dropout(gelu_tanh(a) * b) through the reference, mask fixed by the seed. */
static double fd_drop_loss(void *vctx, const float *a) {
    const fd_drop_ctx *f = vctx;
    double s = 0, scale = 1.0 / (1.0 - f->rate);
    for (size_t i = 0; i < f->n; i++)
        if (fv_ref_dropout_keep(f->seed, 5, (uint32_t)i, f->rate)) s += f->r[i] * fv_ref_gelu_tanh(a[i]) * f->b[i] * scale;
    return s;
}

static int fd_drop(fv_check *c) {
    const size_t n = 301;
    float *a = fv_check_rand(c, n, -5, 5), *b = fv_check_rand(c, n, -2, 2), *r = fv_check_rand(c, n, -1, 1);
    float *gd = fv_check_alloc(c, n), *da = fv_check_alloc(c, n), *db = fv_check_alloc(c, n);
    if (!a || !b || !r || !gd || !da || !db) return fv_check_fail(c, "gelu drop", "fd", "out of memory");
    fv_ref_act_back_drop(FV_FF_GELU_TANH, a, b, r, gd, da, db, n, 99, 5, 0.3f);
    fd_drop_ctx f = {a, b, r, n, 99, 0.3f};
    return fv_check_fd(c, "gelu_tanh gated drop ref da vs finite diff (fixed mask)", "301 rate 0.30", fd_drop_loss, &f, a,
                       n, da, 32, 1e-3, 1e-3);
}

typedef struct {
    int act, wrt_b;
    const float *a, *b, *r;
    size_t n;
} fd_ctx;

static double fd_loss(void *vctx, const float *v) {
    fd_ctx *f = vctx;
    const float *a = f->wrt_b ? f->a : v, *b = f->wrt_b ? v : f->b;
    double s = 0;
    for (size_t i = 0; i < f->n; i++) {
        double y = fv_ref_act1(f->act, a[i]);
        s += f->r[i] * y * (b ? b[i] : 1.0);
    }
    return s;
}

static int finite_differences(fv_check *c) {
    const size_t n = 301;
    int bad = 0;
    char what[64];
    for (int act = 0; act <= FV_FF_SILU; act++) {
        float *a = fv_check_rand(c, n, -5, 5), *b = fv_check_rand(c, n, -2, 2), *r = fv_check_rand(c, n, -1, 1);
        float *da = fv_check_alloc(c, n), *db = fv_check_alloc(c, n);
        if (!a || !b || !r || !da || !db) return fv_check_fail(c, "gelu", "fd", "out of memory");
        for (size_t i = 0; act == FV_FF_RELU && i < n; i++)
            if (fabsf(a[i]) < 0.01f) a[i] = 0.5f; /* keep away from the kink */
        fv_ref_act_back(act, a, b, r, da, db, n);
        fd_ctx f = {act, 0, a, b, r, n};
        snprintf(what, sizeof what, "%s gated ref da vs finite diff", names[act]);
        bad |= fv_check_fd(c, what, "301", fd_loss, &f, a, n, da, 32, 1e-3, 1e-3);
        f.wrt_b = 1;
        snprintf(what, sizeof what, "%s gated ref db vs finite diff", names[act]);
        bad |= fv_check_fd(c, what, "301", fd_loss, &f, b, n, db, 32, 1e-3, 1e-3);
    }
    return bad;
}

static int bad_input(fv_check *c) {
    fv_buf *small = fv_check_upload(c, NULL, 10);
    if (!small || fv_check_begin(c)) return fv_check_fail(c, "gelu", "bad input", fv_last_error());
    fv_t s = fv_tensor(small, 0), z = {0};
    int ok = 1;
    ok &= fv_gelu_gated(c->g, s, s, 0, s, 4, 4) != 0;                        /* too small */
    ok &= fv_gelu_gated(c->g, s, z, 0, s, 1, 4) != 0;                        /* null b */
    ok &= fv_ff_act_fwd(c->g, FV_FF_GELU_TANH, s, 2, s, 4, s, 4, 1, 4) != 0;   /* stride < cols */
    ok &= fv_relu_back(c->g, z, s, s, 1, 4) != 0;                            /* null a */
    ok &= fv_ff_act_back(c->g, FV_FF_RELU, s, 0, s, 0, s, 0, s, 0, z, 0, 1, 4) != 0; /* b without db */
    ok &= fv_relu(c->g, s, s, 0, 4) != 0;                                    /* empty */
    ok &= fv_gelu_gated_drop(c->g, s, s, 4, s, 1, 4, z, 1, 0.1f) != 0;      /* null seed */
    ok &= fv_gelu_gated_drop(c->g, s, s, 4, s, 1, 4, s, 1, 1.0f) != 0;      /* rate 1 */
    ok &= fv_gelu_gated_back_drop(c->g, s, s, 4, s, s, s, 4, 1, 4, s, 1, -0.5f) != 0; /* negative rate */
    ok &= fv_gelu_gated_back_drop(c->g, s, s, 4, s, s, z, 4, 1, 4, s, 1, 0.1f) != 0;  /* null db */
    fv_graph_end(c->g);
    if (!ok) return fv_check_fail(c, "gelu", "bad input", "a wrong shape or null buffer was accepted");
    fv_check_pass(c, "gelu", "bad input", "short buffer, null buffers and seed, bad stride, empty shape, bad rate rejected");
    return 0;
}

int fv_check_op_gelu(fv_check *c) {
    static const uint32_t shapes[][2] = {{1, 1}, {7, 33}, {33, 7}, {3, 1000}, {130, 1024}, {17, 2816}};
    int bad = 0, count = c->quick ? 4 : 6;
    for (int i = 0; i < count; i++) bad |= gated(c, FV_FF_GELU_TANH, shapes[i][0], shapes[i][1]);
    for (int i = 0; i < count; i++) bad |= ungated(c, FV_FF_RELU, shapes[i][1], shapes[i][0]);
    /* the other activations T5Config accepts, on two shapes each */
    for (int act = 0; act <= FV_FF_SILU; act++) {
        if (act != FV_FF_GELU_TANH) bad |= gated(c, (enum fv_ff_act)act, 7, 1000);
        if (act != FV_FF_RELU) bad |= ungated(c, (enum fv_ff_act)act, 33, 257);
    }
    /* the fused feed-forward dropout: vec4 and scalar paths, gated and not */
    static const uint32_t dshapes[][2] = {{1, 1}, {7, 33}, {33, 8}, {3, 1000}, {130, 1024}, {9, 1027}};
    for (int i = 0; i < (c->quick ? 4 : 6); i++) bad |= dropped(c, FV_FF_GELU_TANH, 1, dshapes[i][0], dshapes[i][1], 0.1f);
    bad |= dropped(c, FV_FF_GELU_TANH, 1, 17, 256, 0.5f);
    bad |= dropped(c, FV_FF_RELU, 0, 33, 260, 0.1f);
    bad |= dropped(c, FV_FF_RELU, 0, 5, 77, 0.3f);
    bad |= finite_differences(c);
    bad |= fd_drop(c);
    bad |= bad_input(c);
    return bad;
}
